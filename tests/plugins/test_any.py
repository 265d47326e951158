"""The *any* plugin: setup and the RFC 8482 HINFO reply."""

from __future__ import annotations

import dns.flags
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.any.any import Any
from twisted_dns.plugins.any.setup import setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    NextPlugin,
    configure,
    corefile_examples,
    default_registry,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)


class SetupTests(unittest.TestCase):
    def test_plain(self) -> None:
        config = configure(setup, "any", "example.org {\n    any\n}\n")
        self.assertIsInstance(config.chain, Any)
        self.assertIsNone(config.chain.next)
        self.assertEqual(config.chain.Name(), "any")

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("any"), setup)

    def test_argument(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "any",
                                ". {\n    any HINFO\n}\n")
        self.assertEqual(str(exc), "Corefile:2: wrong argument count or unexpected line "
                                   "ending after 'HINFO'")

    def test_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "any",
                                ". {\n    any {\n        ttl 5\n    }\n}\n")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'ttl'")


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.next = NextPlugin(rcode=dns.rcode.NOERROR)
        self.handler = Any(self.next)

    def test_any(self) -> None:
        request = make_request("WWW.example.org", "ANY", use_edns=0)
        writer = CaptureWriter(request)
        self.assertEqual(self.handler.ServeDNS(request, writer), 0)
        self.assertEqual(self.next.requests, [])
        self.assertIsNone(request._message)  # answered from wire bytes
        reply = reply_of(writer)
        self.assertEqual(reply.id, request.id)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertFalse(reply.flags & dns.flags.AA)
        self.assertEqual(reply.edns, 0)
        self.assertEqual([rrset.to_text() for rrset in reply.answer],
                         ['WWW.example.org. 8482 IN HINFO "ANY obsoleted" "See RFC 8482"'])
        self.assertEqual((reply.authority, reply.additional), ([], []))

    def test_any_other_class(self) -> None:
        """As CoreDNS: the HINFO is class IN whatever the query's class."""
        request = make_request("example.org", "ANY", "CH")
        writer = CaptureWriter(request)
        self.handler.ServeDNS(request, writer)
        reply = reply_of(writer)
        self.assertEqual(reply.question[0].rdclass, dns.rdataclass.CH)
        self.assertEqual(reply.answer[0].rdclass, dns.rdataclass.IN)

    def test_other_types_pass(self) -> None:
        for rdtype in ("A", "TXT", "HINFO", "AXFR"):
            request = make_request("example.org", rdtype)
            writer = CaptureWriter(request)
            self.assertEqual(self.handler.ServeDNS(request, writer), dns.rcode.NOERROR)
            self.assertIs(self.next.requests[-1], request)
            self.assertEqual(writer.sent, [])
        self.assertEqual(len(self.next.requests), 4)

    def test_no_next(self) -> None:
        request = make_request("example.org", "A")
        self.assertEqual(Any(None).ServeDNS(request, CaptureWriter(request)),
                         dns.rcode.SERVFAIL)


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_readme_example(self):
        examples = corefile_examples(plugin_readme("any"))
        self.assertEqual(len(examples), 1)
        parser.parse(examples[0], "README.md", directives=default_registry().names())
        server = yield start_server(examples[0])
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("example.org", "ANY", proto=proto)
            self.assertEqual(
                [rrset.to_text() for rrset in reply.answer],
                ['example.org. 8482 IN HINFO "ANY obsoleted" "See RFC 8482"'])
        # not ANY: whoami answers (any comes first in the chain whatever the Corefile order)
        reply = yield server.query("example.org", "A")
        self.assertEqual(reply.answer, [])
        self.assertEqual(len(reply.additional), 2)
