"""twisted_dns.wire: replies built from wire bytes must read back, with dnspython, as intended."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.trial import unittest

from twisted_dns import wire
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
        self.assertEqual(reply.payload, 4096)  # the client's size, as CoreDNS echoes it
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


def rrset(name: str, rdtype: str, *rdatas: str, ttl: int = 300) -> dns.rrset.RRset:
    return dns.rrset.from_text(name, ttl, "IN", rdtype, *rdatas)


#: one of each type with its own writer, names in RDATA sharing suffixes with owners
SECTIONS = (
    [rrset("WWW.Example.ORG.", "A", "192.0.2.1", "192.0.2.2"),
     rrset("www.example.org.", "AAAA", "2001:db8::1"),
     rrset("alias.example.org.", "CNAME", "www.example.org."),
     rrset("example.org.", "MX", "10 mail.example.org.", "20 mx.elsewhere.test."),
     rrset("_sip._tcp.example.org.", "SRV", "10 60 5060 sip.example.org."),
     rrset("d.example.org.", "DNAME", "example.net."),
     rrset("1.2.0.192.in-addr.arpa.", "PTR", "www.example.org."),
     rrset("example.org.", "TXT", '"v=spf1 -all"', '"two" "strings"'),
     rrset("example.org.", "CAA", '0 issue "ca.example.net"')],
    [rrset("example.org.", "NS", "ns1.example.org.", "NS2.example.org."),
     rrset("example.org.", "SOA", "ns1.example.org. hostmaster.example.org. 1 2 3 4 5")],
    [rrset("ns1.example.org.", "A", "192.0.2.53"), rrset(".", "NS", "a.root-servers.net.")],
)


class FromRRsetsTests(unittest.TestCase):
    """Replies rendered from RRsets read back as the same message dnspython renders."""

    def rendered(self, request: Request, rcode: int = 0, aa: bool = True) -> dns.message.Message:
        data = wire.from_rrsets(request, rcode, *SECTIONS, aa=aa)
        return dns.message.from_wire(data)

    def test_same_message_as_dnspython(self) -> None:
        # (EDNS: the question's other case compresses nothing, so it needs more than 512 bytes)
        request = request_for("www.EXAMPLE.org.", "A", use_edns=0)
        reply = self.rendered(request)
        self.assertEqual((reply.answer, reply.authority, reply.additional),
                         tuple(list(section) for section in SECTIONS))
        self.assertEqual([r.ttl for r in reply.answer], [r.ttl for r in SECTIONS[0]])
        self.assertEqual(reply.question, request.message().question)
        self.assertEqual(reply.id, request.id)
        # names point only to names written in the same case, so each keeps its own
        self.assertEqual(reply.answer[0].name.to_text(), "WWW.Example.ORG.")
        self.assertEqual(sorted(r.target.to_text() for r in reply.authority[0]),
                         ["NS2.example.org.", "ns1.example.org."])
        self.assertEqual(reply.flags, dns.flags.QR | dns.flags.AA | dns.flags.RD | dns.flags.CD)

    def test_names_are_compressed(self) -> None:
        """Owners and NS/CNAME/MX/PTR/SOA targets point to names written before: smaller
        than with owners alone compressed, and about dnspython's own size."""
        request = request_for("www.example.org.", "A")
        data = wire.from_rrsets(request, 0, *SECTIONS, aa=True)
        expected = dns.message.make_response(request.message())
        expected.answer, expected.authority, expected.additional = (list(s) for s in SECTIONS)
        self.assertLessEqual(len(data), len(expected.to_wire()) + 16)
        # the question's name, and the SRV target (RFC 2782: never compressed)
        self.assertEqual(data.count(b"\x07example\x03org\x00"), 2)

    def test_names_after_an_srv_target_point_into_it(self) -> None:
        """SRV targets are written in full, but the addresses' owners after them point into
        them (miekg/dns does the same: replies are as small as CoreDNS's)."""
        request = request_for("_http._tcp.web.example.org.", "SRV")
        targets = [f"host{i}.web.example.org." for i in range(3)]
        srv = rrset("_http._tcp.web.example.org.", "SRV", *(f"0 0 80 {t}" for t in targets))
        addresses = [rrset(t, "A", f"192.0.2.{i}") for i, t in enumerate(targets)]
        data = wire.from_rrsets(request, 0, [srv], [], addresses)
        for target in targets:  # written once: in the SRV record
            self.assertEqual(data.count(target.split(".")[0].encode()), 1)
        reply = dns.message.from_wire(data)
        self.assertEqual(reply.additional, addresses)

    def test_names_inside_wire_rdata_are_compressed(self) -> None:
        """A WireRRset's RDATA holds its names in full; they are compressed like dnspython
        RRsets' (CNAME here), or remembered for later names (SRV)."""
        request = request_for("www.example.org.", "A")
        cname = wire.WireRRset((b"www", b"example", b"org", b""), wire.TYPE_CNAME, 1, 60,
                               (b"\x03web\x07example\x03org\x00",))
        srv = wire.WireRRset((b"_x", b"_tcp", b"example", b"org", b""), wire.TYPE_SRV, 1, 60,
                             (b"\x00\x00\x00\x00\x00\x50\x04host\x07example\x03org\x00",))
        address = wire.WireRRset((b"host", b"example", b"org", b""), wire.TYPE_A, 1, 60,
                                 (bytes([192, 0, 2, 1]),))
        data = wire.from_rrsets(request, 0, [cname], [], [srv, address])
        # the question's, and the SRV target's (never compressed): not the CNAME's
        self.assertEqual(data.count(b"\x07example\x03org\x00"), 2)
        self.assertEqual(data.count(b"\x04host"), 1)
        reply = dns.message.from_wire(data)
        self.assertEqual(reply.answer[0][0].target.to_text(), "web.example.org.")
        self.assertEqual(reply.additional[0][0].target.to_text(), "host.example.org.")
        self.assertEqual(reply.additional[1].name.to_text(), "host.example.org.")

    def test_opt_and_rcode(self) -> None:
        request = request_for("nope.example.org.", "A", use_edns=0, want_dnssec=True)
        reply = self.rendered(request, rcode=3, aa=False)
        self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
        self.assertFalse(reply.flags & dns.flags.AA)
        self.assertEqual(reply.edns, 0)
        self.assertTrue(reply.ednsflags & dns.flags.DO)
        self.assertEqual(reply.payload, request.reply_payload)

    def test_too_big_for_the_client(self) -> None:
        request = request_for("www.example.org.", "TXT")  # no EDNS: 512 bytes at most
        big = rrset("www.example.org.", "TXT", *(f'"{"x" * 200} {i}"' for i in range(3)))
        self.assertRaises(wire.TooBig, wire.from_rrsets, request, 0, [big])
        tcp = Request.from_wire(request.wire, ("127.0.0.1", 1), ("127.0.0.1", 53), "tcp")
        self.assertEqual(len(dns.message.from_wire(wire.from_rrsets(tcp, 0, [big])).answer), 1)

    def test_edns_options_go_to_dnspython(self) -> None:
        """A reply may have to echo options: the caller renders it with dnspython."""
        request = request_for(use_edns=0, options=[dns.edns.GenericOption(65001, b"x")])
        self.assertRaises(wire.TooBig, wire.from_rrsets, request, 0, SECTIONS[0])

    def test_relative_names_refused(self) -> None:
        relative = dns.rrset.RRset(dns.name.from_text("www", None), 1, 1)
        relative.add(dns.rdata.from_text(1, 1, "192.0.2.1"))
        self.assertRaises(ValueError, wire.from_rrsets, request_for(), 0, [relative])


class ReaderTests(unittest.TestCase):
    def message(self) -> bytes:
        """A reply with a compressed answer and an authority record: offsets to walk."""
        reply = dns.message.make_response(request_for("www.example.org.").message())
        reply.set_rcode(dns.rcode.NXDOMAIN)
        reply.answer.append(rrset("www.example.org.", "CNAME", "example.org."))
        reply.authority.append(rrset("example.org.", "NS", "ns.example.org."))
        return reply.to_wire()

    def test_numbers_are_dnspython_s(self) -> None:
        for name in ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                     "BADVERS"):
            self.assertEqual(getattr(wire, name), dns.rcode.from_text(name), name)
        for name in ("A", "NS", "CNAME", "SOA", "MX", "AAAA", "SRV", "SIG", "OPT", "RRSIG",
                     "TKEY", "TSIG", "IXFR", "AXFR"):
            self.assertEqual(getattr(wire, f"TYPE_{name}"), dns.rdatatype.from_text(name), name)
        self.assertEqual((wire.OPCODE_QUERY, wire.OPCODE_NOTIFY, wire.OPCODE_UPDATE),
                         (dns.opcode.QUERY, dns.opcode.NOTIFY, dns.opcode.UPDATE))
        self.assertEqual(wire.CLASS_IN, dns.rdataclass.IN)

    def test_header_and_rcode(self) -> None:
        data = self.message()
        self.assertEqual(wire.HEADER.unpack_from(data)[2:], (1, 1, 1, 0))
        self.assertEqual(wire.rcode(data), dns.rcode.NXDOMAIN)

    def test_skip_name(self) -> None:
        data = self.message()
        question_end = wire.skip_name(data, 12)
        self.assertEqual(data[12:question_end], b"\x03www\x07example\x03org\x00")
        # the answer's owner is a pointer to the question name: two bytes
        self.assertEqual(wire.skip_name(data, question_end + 4), question_end + 6)

    def test_skip_records(self) -> None:
        data = self.message()
        self.assertEqual(wire.skip_records(data, wire.skip_name(data, 12) + 4, 2), len(data))

    def test_bad_names(self) -> None:
        self.assertRaises(wire.Malformed, wire.skip_name, b"\x40" + b"x" * 64 + b"\x00", 0)
        self.assertRaises(wire.Malformed, wire.skip_name, b"\x03www\xc0", 0)
        self.assertRaises(IndexError, wire.skip_name, b"\x03www\x07exa", 0)
