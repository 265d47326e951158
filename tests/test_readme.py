"""The README's example Corefile is set up and served, so the front page cannot rot."""

from __future__ import annotations

import os
import re

import dns.rcode
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.testing import corefile_examples, start_server

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


class ReadmeExampleTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_example_serves(self):
        (example,) = corefile_examples(README)
        # the example names port 1053; serve it on a free port instead
        server = yield start_server(re.sub(r":1053\b", "", example))
        self.addCleanup(server.stop)
        reply = yield server.query("www.example.org", "A", proto="tcp")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertTrue(reply.additional)  # whoami's answer
        version = yield server.query("version.bind", "TXT", "CH")
        self.assertEqual(version.answer[0][0].strings, (b"twisted-dns",))
