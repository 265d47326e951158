"""Every Corefile example in docs/corefile.md parses with the installed directives, and the
ones that can run here are served, so the reference cannot rot."""

from __future__ import annotations

import os
import re

import dns.rcode
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.corefile.keys import parse_key
from twisted_dns.corefile.parser import parse
from twisted_dns.testing import check_examples, corefile_examples, start_server

DOC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "docs", "corefile.md")
ENVIRON = {"ZONE": "example.org", "PORT": "1053", "UPSTREAM": "9.9.9.9", "LOG_CLASS": "error"}
#: examples that cannot be served here, and why
NOT_SERVED = {"tls://example.com": "needs a certificate (and tls:// is not served yet)"}


class DocExampleTests(unittest.TestCase):
    def setUp(self) -> None:
        self.examples = corefile_examples(DOC)
        self.assertGreaterEqual(len(self.examples), 10)
        # the files the import examples read
        self.root = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.root, "zones"))
        with open(os.path.join(self.root, "common.conf"), "w") as common:
            common.write("errors\n")

    def test_examples_parse(self) -> None:
        """With the installed directives: a misspelt one is an error."""
        self.assertEqual(check_examples(self, None, readme=DOC, environ=ENVIRON,
                                        filename=os.path.join(self.root, "Corefile")),
                         self.examples)
        for example in self.examples:
            blocks = parse(example, os.path.join(self.root, "Corefile"), environ=ENVIRON)
            for block in blocks:
                self.assertTrue(block.keys, example)
                for key in block.keys:
                    self.assertTrue(parse_key(key), example)

    @defer.inlineCallbacks
    def test_examples_serve(self):
        """Each example (ports made free) starts, and each block's zones reach that block:
        queries are answered, not REFUSED (blocks that forward to the Internet are not
        asked)."""
        served = 0
        for example in self.examples:
            if any(key in example for key in NOT_SERVED):
                continue
            server = yield start_server(re.sub(r":1053\b", "", example),
                                        environ={**ENVIRON, "PORT": "0"},
                                        filename=os.path.join(self.root, "Corefile"))
            try:
                for block in server.configuration.blocks:
                    if block.plugin("forward") is not None:
                        continue
                    for zone in block.zones:
                        reply = yield server.query(zone, "A")
                        self.assertNotEqual(reply.rcode(), dns.rcode.REFUSED, (example, zone))
            finally:
                yield server.stop()
            served += 1
        self.assertEqual(served, len(self.examples) - len(NOT_SERVED))

    @defer.inlineCallbacks
    def test_nested_blocks_example(self):
        """The hosts block's inline entry answers; other names fall through to forward."""
        [example] = [e for e in self.examples if "    hosts {" in e]
        server = yield start_server(example)
        self.addCleanup(server.stop)
        reply = yield server.query("www.example.org", "A")
        self.assertEqual([rdata.address for rdata in reply.answer[0]], ["192.0.2.10"])

    @defer.inlineCallbacks
    def test_comments_example(self):
        """A # inside a quoted argument is not a comment."""
        [example] = [e for e in self.examples if "# the whole line is a comment" in e]
        server = yield start_server(example)
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "TXT")
        self.assertEqual(reply.answer[0][0].strings, (b"a # is fine here",))
