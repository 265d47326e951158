"""The *chaos* plugin: setup, the CH TXT answers, and what it passes on."""

from __future__ import annotations

import socket

import dns.flags
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet import defer
from twisted.trial import unittest

import twisted_dns
from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.chaos.chaos import Chaos
from twisted_dns.plugins.chaos.setup import setup
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


def chaos(corefile: str) -> Chaos:
    handler = configure(setup, "chaos", corefile).chain
    assert isinstance(handler, Chaos)
    return handler


def texts(reply) -> list[bytes]:
    """Every TXT string of the answer, in order."""
    return [string for rrset in reply.answer for rdata in rrset for string in rdata.strings]


class SetupTests(unittest.TestCase):
    def test_defaults(self) -> None:
        handler = chaos(". {\n    chaos\n}\n")
        self.assertEqual(handler.version, f"twisted-dns-{twisted_dns.__version__}".encode())
        self.assertEqual(handler.authors, [b"twisted-dns developers"])

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("chaos"), setup)

    def test_version_only(self) -> None:
        handler = chaos(". {\n    chaos v1.2\n}\n")
        self.assertEqual(handler.version, b"v1.2")
        self.assertEqual(handler.authors, [b"twisted-dns developers"])

    def test_version_and_authors(self) -> None:
        handler = chaos('. {\n    chaos v1 "Zoe Z" alice "Zoe Z" bob\n}\n')
        self.assertEqual(handler.version, b"v1")
        # each author once, sorted
        self.assertEqual(handler.authors, [b"Zoe Z", b"alice", b"bob"])

    def test_first_line_counts(self) -> None:
        handler = chaos(". {\n    chaos first\n    chaos second\n}\n")
        self.assertEqual(handler.version, b"first")

    def test_long_version_trimmed(self) -> None:
        handler = chaos(". {\n    chaos " + "v" * 300 + " author\n}\n")
        self.assertEqual(handler.version, b"v" * 255)

    def test_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "chaos",
                                ". {\n    chaos v1 {\n        authors a\n    }\n}\n")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'authors'")


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.next = NextPlugin(rcode=dns.rcode.NXDOMAIN)
        self.handler = Chaos(self.next, "v9", ["alice", "bob", "carol"])

    def serve(self, name: str, rdtype: str = "TXT", rdclass: str = "CH"):
        request = make_request(name, rdtype, rdclass)
        writer = CaptureWriter(request)
        rcode = self.handler.ServeDNS(request, writer)
        return rcode, writer, request

    def answered(self, name: str):
        rcode, writer, request = self.serve(name)
        self.assertEqual(rcode, 0)
        self.assertEqual(self.next.requests, [])
        reply = reply_of(writer)
        self.assertEqual(reply.id, request.id)
        self.assertFalse(reply.flags & dns.flags.AA)
        for rrset in reply.answer:
            self.assertEqual((rrset.name.to_text(), rrset.rdclass, rrset.rdtype, rrset.ttl),
                             (name, dns.rdataclass.CH, dns.rdatatype.TXT, 0))
        return reply

    def test_version(self) -> None:
        for name in ("version.bind.", "version.server."):
            self.assertEqual(texts(self.answered(name)), [b"v9"])

    def test_name_case_kept(self) -> None:
        self.assertEqual(texts(self.answered("VERSION.Bind.")), [b"v9"])

    def test_authors(self) -> None:
        reply = self.answered("authors.bind.")
        self.assertEqual(sorted(texts(reply)), [b"alice", b"bob", b"carol"])
        self.assertEqual(len(reply.answer[0]), 3)

    def test_authors_shuffled(self) -> None:
        orders = {tuple(texts(self.answered("authors.bind."))) for _ in range(60)}
        # 6 possible orders; all 60 alike would mean no shuffling (chance 6 * 6**-60)
        self.assertGreater(len(orders), 1)

    def test_hostname(self) -> None:
        expected = socket.gethostname().encode()[:255]
        for name in ("hostname.bind.", "id.server."):
            self.assertEqual(texts(self.answered(name)), [expected])

    def test_hostname_fallback(self) -> None:
        def fail():
            raise OSError("no name")
        self.patch(socket, "gethostname", fail)
        self.assertEqual(texts(self.answered("id.server.")), [b"localhost"])

    def assertPassed(self, name: str, rdtype: str = "TXT", rdclass: str = "CH") -> None:
        rcode, writer, request = self.serve(name, rdtype, rdclass)
        self.assertEqual(rcode, dns.rcode.NXDOMAIN)
        self.assertEqual(self.next.requests, [request])
        self.assertEqual(writer.sent, [])

    def test_other_ch_name(self) -> None:
        self.assertPassed("example.bind.")

    def test_other_class(self) -> None:
        self.assertPassed("version.bind.", rdclass="IN")

    def test_other_type(self) -> None:
        self.assertPassed("version.bind.", rdtype="A")

    def test_no_next(self) -> None:
        handler = Chaos(None, "v9", ["alice"])
        request = make_request("example.org.", "TXT", "CH")
        writer = CaptureWriter(request)
        self.assertEqual(handler.ServeDNS(request, writer), dns.rcode.SERVFAIL)
        self.assertEqual(writer.sent, [])


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_readme_examples(self):
        examples = corefile_examples(plugin_readme("chaos"))
        self.assertEqual(len(examples), 2)
        for example in examples:
            parser.parse(example, "README.md", directives=default_registry().names())
            server = yield start_server(example)
            try:
                for proto in ("udp", "tcp"):
                    reply = yield server.query("version.bind", "TXT", "CH", proto=proto)
                    self.assertEqual(texts(reply), [b"twisted-dns-001"])
                reply = yield server.query("authors.bind", "TXT", "CH")
                self.assertEqual(texts(reply), [b"info@example.org"])
            finally:
                yield server.stop()

    @defer.inlineCallbacks
    def test_falls_through(self):
        server = yield start_server(". {\n    chaos\n    whoami\n}\n")
        self.addCleanup(server.stop)
        reply = yield server.query("version.bind", "TXT", "IN")
        self.assertEqual(reply.answer, [])
        self.assertTrue(reply.flags & dns.flags.AA)  # whoami answered
        self.assertEqual(len(reply.additional), 2)
