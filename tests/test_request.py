"""Request: the wire-level view of a query, checked against dnspython's reading of it."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.trial import unittest

from twisted_dns.request import FormError, Request, ShortPacket

CLIENT = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 53)


def parse(wire: bytes, proto: str = "udp", client: tuple = CLIENT, **kwargs) -> Request:
    return Request.from_wire(wire, client, SERVER, proto, **kwargs)


def query(name: str = "example.org.", rdtype: str = "A", **kwargs) -> bytes:
    return dns.message.make_query(name, rdtype, **kwargs).to_wire()


def option(code: int, data: bytes, length: int | None = None) -> bytes:
    """One EDNS option in wire form; ``length`` overrides the length field."""
    return struct.pack("!HH", code, len(data) if length is None else length) + data


def opt_query(options: bytes, msg_id: int = 0x1234, qname: str = "example.org.") -> bytes:
    """A ``QNAME A`` query whose lone OPT record holds ``options`` as they are."""
    return (struct.pack("!HHHHHH", msg_id, 0x0100, 1, 0, 0, 1)
            + dns.name.from_text(qname).to_wire() + b"\x00\x01\x00\x01"
            + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(options)) + options)


#: OPT records whose options are malformed, each answered FORMERR (by BIND too)
MALFORMED_OPTIONS = {
    "cookie of 1 octet": option(10, b"c"),
    "cookie of 9 octets": option(10, b"c" * 9),
    "cookie of 41 octets": option(10, b"c" * 41),
    "cookie of 50 octets": option(10, b"c" * 50),
    "good cookie, then a bad one": option(10, b"c" * 8) + option(10, b"c"),
    "client subnet of 2 octets": option(8, b"\x00\x01"),
    "client subnet of an unknown family": option(8, b"\x00\x07\x18\x00\x01\x02\x03"),
    "client subnet prefix longer than the address": option(8, b"\x00\x01\x21\x00" + bytes(5)),
    "client subnet address longer than its prefix": option(8, b"\x00\x01\x08\x00\x0a\x00"),
    "extended error of 1 octet": option(15, b"\x00"),
    "option running past the OPT record": option(12, bytes(4), length=20),
    "option header cut by the OPT record": b"\x00\x0c",
}

#: OPT records whose options are well formed (unknown codes included): read as they are
WELL_FORMED_OPTIONS = {
    "client cookie": option(10, b"c" * 8),
    "client and server cookies": option(10, b"c" * 16) + option(10, b"c" * 40),
    "client subnet": option(8, b"\x00\x01\x18\x00\x0a\x01\x02"),
    "client subnet of no address": option(8, b"\x00\x01\x00\x00"),
    "empty NSID": option(3, b""),
    "padding": option(12, bytes(30)),
    "unknown option": option(65001, b"anything"),
}


class HeaderAndQuestionTests(unittest.TestCase):
    def test_plain_query(self) -> None:
        message = dns.message.make_query("Www.Example.ORG", "AAAA")
        message.flags |= dns.flags.CD
        request = parse(message.to_wire())
        self.assertEqual(request.id, message.id)
        self.assertEqual(request.flags, message.flags)
        self.assertEqual(request.opcode, 0)
        self.assertTrue(request.rd)
        self.assertTrue(request.cd)
        self.assertEqual(request.qname, "Www.Example.ORG.")
        self.assertEqual(request.qname_lower, "www.example.org.")
        self.assertEqual(request.qtype, dns.rdatatype.AAAA)
        self.assertEqual(request.qclass, dns.rdataclass.IN)
        self.assertEqual((request.qdcount, request.ancount, request.nscount, request.arcount),
                         (1, 0, 0, 0))
        self.assertFalse(request.edns)
        self.assertEqual(request.question_wire,
                         b"\x03Www\x07Example\x03ORG\x00\x00\x1c\x00\x01")
        self.assertIsNone(request.zone)
        self.assertIsNone(request.plugin)

    def test_root_name(self) -> None:
        request = parse(query(".", "NS"))
        self.assertEqual(request.qname, ".")
        self.assertEqual(request.qname_lower, ".")
        self.assertEqual(request.question_wire, b"\x00\x00\x02\x00\x01")

    def test_escapes_like_dnspython(self) -> None:
        name = dns.name.Name([b"a.b", b'q"()\\;@$', b"\x00\x7f sp", b"Caf\xc3\xa9", b""])
        message = dns.message.make_query(name, "TXT")
        request = parse(message.to_wire())
        self.assertEqual(request.qname, name.to_text())
        self.assertEqual(request.qname_lower, name.to_text().lower())
        self.assertEqual(request.qname_lower, name.canonicalize().to_text())

    def test_longest_name(self) -> None:
        name = dns.name.Name([b"a" * 63] * 3 + [b"b" * 61, b""])  # 255 bytes on the wire
        request = parse(dns.message.make_query(name, "A").to_wire())
        self.assertEqual(request.qname, name.to_text())

    def test_name_too_long(self) -> None:
        labels = b"\x3f" + b"a" * 63
        header = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
        wire = header + labels * 4 + b"\x00" + b"\x00\x01" * 2
        with self.assertRaises(FormError) as caught:
            parse(wire)
        self.assertEqual(caught.exception.id, 7)

    def test_compression_pointer_in_question_is_formerr(self) -> None:
        wire = struct.pack("!HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"
        with self.assertRaises(FormError) as caught:
            parse(wire)
        self.assertEqual((caught.exception.id, caught.exception.flags), (9, 0x0100))

    def test_reserved_label_type_is_formerr(self) -> None:
        wire = struct.pack("!HHHHHH", 9, 0, 1, 0, 0, 0) + b"\x41a\x00\x00\x01\x00\x01"
        self.assertRaises(FormError, parse, wire)

    def test_short_packet(self) -> None:
        for size in range(12):
            self.assertRaises(ShortPacket, parse, bytes(size))

    def test_header_only(self) -> None:
        request = parse(struct.pack("!HHHHHH", 5, 0x0100, 0, 0, 0, 0))
        self.assertEqual((request.id, request.qdcount, request.qname, request.qtype),
                         (5, 0, "", 0))
        self.assertEqual(request.question_wire, b"")

    def test_truncated_body(self) -> None:
        wire = query(use_edns=0)
        for cut in range(12, len(wire)):
            with self.assertRaises(FormError, msg=f"cut at {cut}"):
                parse(wire[:cut])

    def test_garbage_body(self) -> None:
        wire = struct.pack("!HHHHHH", 77, 0, 1, 0, 0, 3) + b"\xff" * 20
        with self.assertRaises(FormError) as caught:
            parse(wire)
        self.assertEqual(caught.exception.id, 77)

    def test_trailing_bytes_tolerated(self) -> None:
        request = parse(query() + b"junk")
        self.assertEqual(request.qname, "example.org.")
        self.assertEqual(request.message().question[0].name, dns.name.from_text("example.org"))

    def test_second_question_skipped(self) -> None:
        first = query("a.example.")
        second = b"\x01b\x07example\x00\x00\x01\x00\x01"
        wire = first[:4] + b"\x00\x02" + first[6:] + second
        request = parse(wire)
        self.assertEqual((request.qdcount, request.qname), (2, "a.example."))
        self.assertEqual(request.question_wire, first[12:])


class EDNSTests(unittest.TestCase):
    def test_opt(self) -> None:
        wire = query(use_edns=0, payload=4096, want_dnssec=True)
        request = parse(wire)
        self.assertTrue(request.edns)
        self.assertEqual((request.edns_version, request.edns_payload), (0, 4096))
        self.assertTrue(request.do)
        self.assertEqual(request.edns_options, [])

    def test_opt_without_do(self) -> None:
        request = parse(query(use_edns=0, payload=1400))
        self.assertTrue(request.edns)
        self.assertFalse(request.do)

    def test_version(self) -> None:
        request = parse(query(use_edns=1))
        self.assertEqual(request.edns_version, 1)

    def test_options(self) -> None:
        cookie = dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"12345678")
        nsid = dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")
        request = parse(query(use_edns=0, options=[cookie, nsid]))
        self.assertEqual(request.edns_options, [(10, b"12345678"), (3, b"")])

    def test_opt_after_other_additional_records(self) -> None:
        message = dns.message.make_query("example.org", "A", use_edns=0, payload=2000)
        message.additional.append(dns.rrset.from_text("x.example.", 60, "IN", "A", "1.2.3.4"))
        request = parse(message.to_wire())
        self.assertTrue(request.edns)
        self.assertEqual(request.edns_payload, 2000)

    def test_two_opt_records_is_formerr(self) -> None:
        wire = query(use_edns=0)
        opt = wire[-11:]
        doubled = wire[:10] + b"\x00\x02" + wire[12:] + opt
        self.assertRaises(FormError, parse, doubled)

    def test_opt_in_answer_is_formerr(self) -> None:
        wire = query(use_edns=0)
        moved = wire[:6] + b"\x00\x01" + wire[8:10] + b"\x00\x00" + wire[12:]
        self.assertRaises(FormError, parse, moved)

    def test_compressed_names_in_records(self) -> None:
        message = dns.message.make_query("example.org", "SOA", use_edns=0)
        message.additional.append(dns.rrset.from_text("example.org.", 60, "IN", "A", "1.2.3.4"))
        wire = message.to_wire()
        self.assertIn(b"\xc0\x0c", wire)
        self.assertTrue(parse(wire).edns)


class OptionTests(unittest.TestCase):
    def test_malformed_options_are_formerr_after_the_question(self) -> None:
        for case, options in MALFORMED_OPTIONS.items():
            with self.assertRaises(FormError, msg=case) as caught:
                parse(opt_query(options))
            # read as far as the OPT record, so the FORMERR can echo the question and OPT
            request = caught.exception.request
            self.assertEqual((caught.exception.id, request.id), (0x1234, 0x1234), case)
            self.assertEqual((request.qname, request.edns, request.edns_payload),
                             ("example.org.", True, 1232), case)

    def test_well_formed_options_read_as_dnspython_reads_them(self) -> None:
        for case, options in WELL_FORMED_OPTIONS.items():
            request = parse(opt_query(options))
            self.assertEqual([(o.otype, o.to_wire()) for o in request.message().options],
                             request.edns_options, case)

    def test_options_after_other_additional_records_are_checked(self) -> None:
        message = dns.message.make_query("example.org", "A", use_edns=0,
                                         options=[dns.edns.GenericOption(10, b"c")])
        message.additional.append(dns.rrset.from_text("x.example.", 60, "IN", "A", "1.2.3.4"))
        with self.assertRaises(FormError) as caught:
            parse(message.to_wire())
        self.assertTrue(caught.exception.request.edns)

    def test_opt_record_running_past_the_message(self) -> None:
        wire = opt_query(option(10, b"c" * 8))
        with self.assertRaises(FormError) as caught:
            parse(wire[:-2])
        self.assertEqual(caught.exception.request.qname, "example.org.")

    def test_unreadable_question_has_no_request(self) -> None:
        wire = struct.pack("!HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\x05abc"
        with self.assertRaises(FormError) as caught:
            parse(wire)
        self.assertIsNone(caught.exception.request)


class SizeTests(unittest.TestCase):
    def test_udp_without_edns(self) -> None:
        self.assertEqual(parse(query()).max_size, 512)

    def test_udp_with_edns(self) -> None:
        self.assertEqual(parse(query(use_edns=0, payload=1000)).max_size, 1000)

    def test_small_advertised_size_is_512(self) -> None:
        self.assertEqual(parse(query(use_edns=0, payload=100)).max_size, 512)

    def test_capped_by_server_maximum(self) -> None:
        wire = query(use_edns=0, payload=4096)
        self.assertEqual(parse(wire).max_size, 4096)  # no cap of ours by default (CoreDNS)
        self.assertEqual(parse(wire, udp_size=4000).max_size, 4000)
        self.assertEqual(parse(wire, udp_size=4000).reply_payload, 4000)
        self.assertEqual(parse(wire).reply_payload, 4096)
        self.assertEqual(parse(wire, udp_size=1232).udp_size, 1232)

    def test_tcp(self) -> None:
        self.assertEqual(parse(query(), proto="tcp").max_size, 65535)
        self.assertEqual(parse(query(use_edns=0, payload=600), proto="tcp").max_size, 65535)


class AddressTests(unittest.TestCase):
    def test_ipv4(self) -> None:
        request = parse(query(), client=("10.1.2.3", 5353))
        self.assertEqual((request.client_host, request.client_port, request.family),
                         ("10.1.2.3", 5353, 1))
        self.assertEqual((request.server_host, request.server_port), SERVER)

    def test_mapped_ipv4(self) -> None:
        request = parse(query(), client=("::ffff:10.1.2.3", 5353))
        self.assertEqual((request.client_host, request.family), ("10.1.2.3", 1))
        self.assertEqual(request.client, ("::ffff:10.1.2.3", 5353))

    def test_ipv6(self) -> None:
        request = parse(query(), client=("2001:db8::1", 5353))
        self.assertEqual((request.client_host, request.family), ("2001:db8::1", 2))


class MessageTests(unittest.TestCase):
    def test_decoded_once(self) -> None:
        wire = query(use_edns=0, want_dnssec=True)
        request = parse(wire)
        message = request.message()
        self.assertIs(request.message(), message)
        self.assertEqual(message, dns.message.from_wire(wire))

    def test_tsig_signed_query_decodes(self) -> None:
        message = dns.message.make_query("example.org", "SOA")
        message.use_tsig({dns.name.from_text("key."): b"secretsecret"}, "key.")
        request = parse(message.to_wire())
        self.assertEqual(request.arcount, 1)
        self.assertEqual(request.message().keyname, dns.name.from_text("key."))

    def test_undecodable_record_is_formerr(self) -> None:
        # an A record of 3 octets: the server's reading skips it, dnspython refuses it
        wire = query(use_edns=0)
        record = b"\x01x\x00" + struct.pack("!HHIH", 1, 1, 0, 3) + b"\x01\x02\x03"
        wire = wire[:10] + b"\x00\x02" + wire[12:-11] + record + wire[-11:]
        request = parse(wire)
        with self.assertRaises(FormError) as caught:
            request.message()
        self.assertIs(caught.exception.request, request)

    def test_repr(self) -> None:
        self.assertIn("example.org.", repr(parse(query())))
