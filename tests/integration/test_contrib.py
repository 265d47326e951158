"""The contrib plugin, installed with pip like any third-party plugin, serves queries."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import dns.rcode
import dns.rdatatype
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.testing import start_server

if importlib.util.find_spec("twisted_dns_example") is None:
    skip = "twisted-dns-example is not installed (tox installs it)"


class EchoNameTests(unittest.TestCase):
    @defer.inlineCallbacks
    def serve(self, corefile: str):
        server = yield start_server(corefile)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_answers_txt_and_passes_the_rest_on(self):
        server = yield self.serve(". {\n    whoami\n    echoname 30\n}\n")
        for proto in ("udp", "tcp"):
            reply = yield server.query("Example.ORG", "TXT", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
            (rrset,) = reply.answer
            self.assertEqual((str(rrset.name), rrset.ttl), ("Example.ORG.", 30))
            self.assertEqual(rrset[0].strings, (b"Example.ORG.",))
            # anything else reaches whoami, after echoname in the chain whatever the
            # Corefile order: whoami's answer is an A record in the additional section
            other = yield server.query("example.org", "A", proto=proto)
            self.assertEqual(other.answer, [])
            self.assertEqual(other.additional[0].rdtype, dns.rdatatype.A)

    @defer.inlineCallbacks
    def test_end_of_chain_servfail(self):
        server = yield self.serve(". {\n    echoname\n}\n")
        reply = yield server.query("example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)

    def test_listed_by_twistd(self):
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        result = subprocess.run([twistd, "pydns", "--plugins"], capture_output=True, text=True,
                                timeout=60)
        names = [line.split()[1] for line in result.stdout.splitlines() if line.strip()]
        self.assertLess(names.index("echoname"), names.index("whoami"))
        (line,) = [line for line in result.stdout.splitlines() if " echoname " in line]
        self.assertIn("twisted-dns-example==0.1.0", line)
