"""pkg.wire: replies built from wire bytes must read back, with dnspython, as intended."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.trial import unittest

from twisted_dns.pkg import wire
from twisted_dns.request import Request


def request_for(name: str = "example.org.", rdtype: str = "A", **kwargs) -> Request:
    query = dns.message.make_query(name, rdtype, **kwargs)
    query.flags |= dns.flags.CD
    return Request.from_wire(query.to_wire(), ("127.0.0.1", 4000), ("127.0.0.1", 53), "udp")


class ReplyTests(unittest.TestCase):
    def test_empty_reply_matches_query(self) -> None:
        request = request_for()
        reply = dns.message.from_wire(wire.reply(request))
        query = request.message()
        self.assertTrue(query.is_response(reply))
        self.assertEqual(reply.question, query.question)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertTrue(reply.flags & dns.flags.QR)
        self.assertTrue(reply.flags & dns.flags.RD)
        self.assertTrue(reply.flags & dns.flags.CD)
        self.assertFalse(reply.flags & (dns.flags.AA | dns.flags.TC | dns.flags.RA))
        self.assertIsNone(reply.opt)

    def test_flags_and_rcode(self) -> None:
        reply = dns.message.from_wire(wire.reply(request_for(), rcode=3, aa=True, tc=True))
        self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertTrue(reply.flags & dns.flags.TC)

    def test_opt_mirrors_query(self) -> None:
        request = request_for(use_edns=0, payload=4096, want_dnssec=True)
        reply = dns.message.from_wire(wire.reply(request))
        self.assertEqual(reply.edns, 0)
        self.assertEqual(reply.payload, 1232)
        self.assertTrue(reply.ednsflags & dns.flags.DO)
        self.assertEqual(reply.options, ())

    def test_opt_without_do(self) -> None:
        reply = dns.message.from_wire(wire.reply(request_for(use_edns=0)))
        self.assertFalse(reply.ednsflags & dns.flags.DO)

    def test_extended_rcode(self) -> None:
        request = request_for(use_edns=1)
        reply = dns.message.from_wire(wire.reply(request, rcode=dns.rcode.BADVERS))
        self.assertEqual(reply.rcode(), dns.rcode.BADVERS)
        self.assertEqual(reply.edns, 0)

    def test_records(self) -> None:
        request = request_for("host.example.", "A", use_edns=0)
        answer = wire.rr(wire.QNAME_POINTER, dns.rdatatype.A, dns.rdataclass.IN, 300,
                         wire.a_rdata("192.0.2.1"))
        ns = wire.rr(wire.name("example."), dns.rdatatype.AAAA, dns.rdataclass.IN, 60,
                     wire.aaaa_rdata("2001:db8::1"))
        srv = wire.rr(b"\x04_udp" + wire.QNAME_POINTER, dns.rdatatype.SRV, dns.rdataclass.IN, 0,
                      wire.srv_rdata(1, 2, 53, wire.name("ns.example.")))
        reply = dns.message.from_wire(wire.reply(request, answer=[answer], authority=[ns],
                                                 additional=[srv]))
        self.assertEqual(reply.answer, [dns.rrset.from_text("host.example.", 300, "IN", "A",
                                                            "192.0.2.1")])
        self.assertEqual(reply.authority, [dns.rrset.from_text("example.", 60, "IN", "AAAA",
                                                               "2001:db8::1")])
        self.assertEqual(reply.additional, [dns.rrset.from_text(
            "_udp.host.example.", 0, "IN", "SRV", "1 2 53 ns.example.")])
        self.assertEqual(reply.edns, 0)

    def test_without_question(self) -> None:
        reply = dns.message.from_wire(wire.reply(request_for(), rcode=4, question=False))
        self.assertEqual(reply.question, [])
        self.assertEqual(reply.rcode(), dns.rcode.NOTIMP)

    def test_header_reply(self) -> None:
        data = wire.header_reply(0x1234, 0x0110, dns.rcode.FORMERR)
        self.assertEqual(len(data), 12)
        reply = dns.message.from_wire(data)
        self.assertEqual(reply.id, 0x1234)
        self.assertEqual(reply.rcode(), dns.rcode.FORMERR)
        self.assertEqual(reply.flags & 0xFFF0, dns.flags.QR | dns.flags.RD | dns.flags.CD)
        self.assertEqual(wire.rcode(data), dns.rcode.FORMERR)


class EncoderTests(unittest.TestCase):
    def test_name(self) -> None:
        self.assertEqual(wire.name("."), b"\x00")
        self.assertEqual(wire.name("Example.org"), b"\x07Example\x03org\x00")
        self.assertEqual(wire.name("example.org."), dns.name.from_text("example.org").to_wire())
        self.assertRaises(ValueError, wire.name, "a..b.")
        self.assertRaises(ValueError, wire.name, "a" * 64 + ".")
        self.assertRaises(ValueError, wire.name, ("a" * 63 + ".") * 4 + "b")

    def test_opt(self) -> None:
        self.assertEqual(wire.opt(1232, do=True), b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00")
