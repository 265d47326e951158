"""The *minimal* plugin: setup, which replies are minimized (Message and wire), the server."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
from twisted.internet import defer, task
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.plugins.minimal.minimal import Minimal
from twisted_dns.plugins.minimal.setup import setup
from twisted_dns.registry import GROUP, Registry
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    NextPlugin,
    check_examples,
    configure,
    corefile_examples,
    default_registry,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)

#: 2026-11-28, inside the validity period of VALID_SIG below
NOW = 1795824000.0
VALID_SIG = "A 8 2 300 20270101000000 20260101000000 12345 example.org. AAAA"
EXPIRED_SIG = "A 8 2 300 20200201000000 20200101000000 12345 example.org. AAAA"


def rrset(text: str) -> dns.rrset.RRset:
    name, ttl, rdclass, rdtype, *rdatas = text.split(" ", 4)
    return dns.rrset.from_text(name, int(ttl), rdclass, rdtype, *rdatas)


def reply_for(request: Request, rcode: int = dns.rcode.NOERROR, answer: tuple = (),
              authority: tuple = (), additional: tuple = ()) -> dns.message.Message:
    reply = dns.message.make_response(request.message())
    if request.do:  # an upstream mirrors the DO bit (dnspython's make_response does not)
        reply.use_edns(0, dns.flags.DO, 1232)
    reply.set_rcode(rcode)
    reply.answer = [rrset(text) for text in answer]
    reply.authority = [rrset(text) for text in authority]
    reply.additional = [rrset(text) for text in additional]
    return reply


POSITIVE = {
    "answer": ("example.org. 300 IN A 192.0.2.1",),
    "authority": ("example.org. 300 IN NS ns.example.org.",),
    "additional": ("ns.example.org. 300 IN A 192.0.2.53",),
}


@implementer(IPlugin)
class Writing:
    """The rest of the chain: writes ``build(request)`` (as bytes when ``wire``)."""

    def __init__(self, build: Callable[[Request], dns.message.Message], wire: bool = False,
                 deferred: bool = False) -> None:
        self.build = build
        self.wire = wire
        self.deferred = deferred

    def Name(self) -> str:
        return "writing"

    def ServeDNS(self, request: Request, writer: Any) -> Any:
        reply = self.build(request)
        writer.write(reply.to_wire() if self.wire else reply)
        rcode = int(reply.rcode())
        return defer.succeed(rcode) if self.deferred else rcode


class SetupTests(unittest.TestCase):
    def test_plain(self) -> None:
        config = configure(setup, "minimal", ". {\n    minimal\n}\n")
        self.assertIsInstance(config.chain, Minimal)
        self.assertEqual(config.chain.Name(), "minimal")

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("minimal"), setup)

    def test_argument(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "minimal",
                                ". {\n    minimal yes\n}\n")
        self.assertEqual(str(exc), "Corefile:2: wrong argument count or unexpected line "
                                   "ending after 'yes'")

    def test_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "minimal",
                                ". {\n    minimal {\n        answers\n    }\n}\n")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'answers'")


class HandlerTests(unittest.TestCase):
    def serve(self, build: Callable[[Request], dns.message.Message], *, wire: bool = False,
              deferred: bool = False, now: float = NOW, **query: Any) -> dns.message.Message:
        query.setdefault("use_edns", 0)
        request = make_request("example.org", query.pop("rdtype", "A"), **query)
        writer = CaptureWriter(request)
        clock = task.Clock()
        clock.advance(now)
        result = Minimal(Writing(build, wire, deferred), clock).ServeDNS(request, writer)
        if deferred:
            result = self.successResultOf(result)
        self.assertEqual(result, 0 if writer.rcode is None else writer.rcode)
        return reply_of(writer)

    def both(self, build: Callable[[Request], dns.message.Message], **query: Any
             ) -> list[dns.message.Message]:
        """The reply when the chain writes a Message, then when it writes wire bytes."""
        return [self.serve(build, wire=wire, **query) for wire in (False, True)]

    def assert_sections(self, reply: dns.message.Message, answer: int, authority: int,
                        additional: int) -> None:
        self.assertEqual((len(reply.answer), len(reply.authority), len(reply.additional)),
                         (answer, authority, additional))

    def test_positive_minimized(self) -> None:
        for reply in self.both(lambda r: reply_for(r, **POSITIVE)):
            self.assert_sections(reply, 1, 0, 0)
            self.assertEqual(reply.answer[0].to_text(), "example.org. 300 IN A 192.0.2.1")
            self.assertEqual(reply.edns, 0)  # the OPT record stays

    def test_opt_options_kept(self) -> None:
        def build(request: Request) -> dns.message.Message:
            reply = reply_for(request, **POSITIVE)
            reply.use_edns(0, 0, 4096, options=[dns.edns.GenericOption(dns.edns.NSID, b"id")])
            return reply

        for reply in self.both(build):
            self.assert_sections(reply, 1, 0, 0)
            self.assertEqual([(o.otype, o.to_wire()) for o in reply.options],
                             [(dns.edns.NSID, b"id")])

    def test_without_edns(self) -> None:
        for reply in self.both(lambda r: reply_for(r, **POSITIVE), use_edns=False):
            self.assert_sections(reply, 1, 0, 0)
            self.assertEqual(reply.edns, -1)

    def test_compressed_answers_survive(self) -> None:
        """A CNAME chain: the answer records point at each other and at the question."""
        answer = ("example.org. 300 IN CNAME www.example.org.",
                  "www.example.org. 300 IN A 192.0.2.1", "www.example.org. 300 IN A 192.0.2.2")
        for reply in self.both(lambda r: reply_for(r, answer=answer,
                                                   authority=POSITIVE["authority"],
                                                   additional=POSITIVE["additional"])):
            self.assert_sections(reply, 2, 0, 0)
            self.assertEqual([rr.to_text() for rr in reply.answer],
                             [answer[0], "www.example.org. 300 IN A 192.0.2.1\n"
                                         "www.example.org. 300 IN A 192.0.2.2"])

    def test_empty_noerror_minimized(self) -> None:
        """Neither SOA nor NS in the authority: CoreDNS calls it NOERROR (whoami's replies)."""
        for reply in self.both(lambda r: reply_for(r, additional=POSITIVE["additional"])):
            self.assert_sections(reply, 0, 0, 0)

    def test_nxdomain_unchanged(self) -> None:
        soa = "example.org. 300 IN SOA ns.example.org. host.example.org. 1 2 3 4 5"
        for reply in self.both(lambda r: reply_for(r, dns.rcode.NXDOMAIN, authority=(soa,),
                                                   additional=POSITIVE["additional"])):
            self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
            self.assert_sections(reply, 0, 1, 1)

    def test_nodata_unchanged(self) -> None:
        soa = "example.org. 300 IN SOA ns.example.org. host.example.org. 1 2 3 4 5"
        for reply in self.both(lambda r: reply_for(r, authority=(soa,),
                                                   additional=POSITIVE["additional"])):
            self.assert_sections(reply, 0, 1, 1)

    def test_cname_only_answer_minimized(self) -> None:
        """As CoreDNS: a NOERROR reply with answers is NOERROR, whatever their type."""
        answer = ("example.org. 300 IN CNAME elsewhere.example.net.",)
        for reply in self.both(lambda r: reply_for(r, answer=answer, **{
                k: v for k, v in POSITIVE.items() if k != "answer"})):
            self.assert_sections(reply, 1, 0, 0)

    def test_signed_wire_reply_unchanged(self) -> None:
        """Cutting a TSIG-signed reply would break its signature: it goes as it came."""
        request = make_request("example.org", use_edns=0)
        keyring = dns.tsig.Key("key.example.", b"secret-secret-secret")
        reply = reply_for(request, **POSITIVE)
        reply.use_tsig(keyring)
        data = reply.to_wire()

        @implementer(IPlugin)
        class Signed:
            def Name(self) -> str:
                return "signed"

            def ServeDNS(self, request: Request, writer: Any) -> int:
                writer.write(data)
                return 0

        writer = CaptureWriter(request)
        Minimal(Signed(), task.Clock()).ServeDNS(request, writer)
        self.assertEqual(writer.sent, [data])

    def test_delegation_unchanged(self) -> None:
        for reply in self.both(lambda r: reply_for(r, authority=POSITIVE["authority"],
                                                   additional=POSITIVE["additional"])):
            self.assert_sections(reply, 0, 1, 1)

    def test_server_error_unchanged(self) -> None:
        for reply in self.both(lambda r: reply_for(r, dns.rcode.SERVFAIL,
                                                   additional=POSITIVE["additional"])):
            self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
            self.assert_sections(reply, 0, 0, 1)

    def test_transfer_unchanged(self) -> None:
        for reply in self.both(lambda r: reply_for(r, **POSITIVE), rdtype="AXFR"):
            self.assert_sections(reply, 1, 1, 1)

    def test_expired_signature_with_do_unchanged(self) -> None:
        def build(sig: str) -> Callable[[Request], dns.message.Message]:
            return lambda r: reply_for(r, answer=(*POSITIVE["answer"],
                                                  f"example.org. 300 IN RRSIG {sig}"),
                                       authority=POSITIVE["authority"],
                                       additional=POSITIVE["additional"])

        for reply in self.both(build(EXPIRED_SIG), want_dnssec=True):
            self.assert_sections(reply, 2, 1, 1)
        for reply in self.both(build(VALID_SIG), want_dnssec=True):
            self.assert_sections(reply, 2, 0, 0)
        # without DO, CoreDNS does not look at signatures
        for reply in self.both(build(EXPIRED_SIG)):
            self.assert_sections(reply, 2, 0, 0)

    def test_deferred_result(self) -> None:
        reply = self.serve(lambda r: reply_for(r, **POSITIVE), wire=True, deferred=True)
        self.assert_sections(reply, 1, 0, 0)

    def test_nothing_written(self) -> None:
        request = make_request("example.org")
        writer = CaptureWriter(request)
        result = Minimal(NextPlugin(dns.rcode.SERVFAIL), task.Clock()).ServeDNS(request, writer)
        self.assertEqual(result, dns.rcode.SERVFAIL)
        self.assertEqual(writer.sent, [])

    def test_wire_reply_is_not_decoded(self) -> None:
        """The wire path cuts bytes: what reaches the writer is bytes again."""
        request = make_request("example.org", use_edns=0)
        sent: list[Any] = []

        class Spy(CaptureWriter):
            def write(self, reply: Any) -> None:
                sent.append(reply)
                super().write(reply)

        Minimal(Writing(lambda r: reply_for(r, **POSITIVE), wire=True),
                task.Clock()).ServeDNS(request, Spy(request))
        self.assertIsInstance(sent[0], bytes)


def positive_setup(c: Any) -> None:
    """A test directive writing a positive reply with authority and additional records."""
    while c.next():
        pass
    c.add_plugin(lambda _next: Writing(lambda r: reply_for(r, **POSITIVE), wire=True))


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def check(self, proto: str):
        entry_points = [*importlib.metadata.entry_points(group=GROUP),
                        importlib.metadata.EntryPoint("positive", f"{__name__}:positive_setup",
                                                      GROUP)]
        server = yield start_server(". {\n    minimal\n    positive\n}\n",
                                    registry=Registry.discover(entry_points))
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "A", proto=proto, use_edns=0)
        self.assertEqual([rr.to_text() for rr in reply.answer],
                         ["example.org. 300 IN A 192.0.2.1"])
        self.assertEqual((reply.authority, reply.additional, reply.edns), ([], [], 0))

    def test_udp(self):
        return self.check("udp")

    def test_tcp(self):
        return self.check("tcp")


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        check_examples(self, "minimal", 2)

    @defer.inlineCallbacks
    def test_whoami_example_serves_empty(self):
        server = yield start_server(corefile_examples(plugin_readme("minimal"))[1])
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("example.org", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
            self.assertTrue(reply.flags & dns.flags.AA)
            self.assertEqual((reply.answer, reply.authority, reply.additional), ([], [], []))
