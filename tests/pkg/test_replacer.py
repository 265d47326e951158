"""CoreDNS's placeholders, rendered from a real request and a recorded reply."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rrset
from twisted.trial import unittest

from twisted_dns.pkg import replacer
from twisted_dns.pkg.replacer import EMPTY_VALUE, compile_format, replace
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter, Recorder


def make_request(name="example.org.", rdtype="A", proto="udp", client=("10.240.0.1", 40212),
                 server=("127.0.0.1", 53), msg_id=4242, **kwargs) -> Request:
    query = dns.message.make_query(name, rdtype, **kwargs)
    query.id = msg_id
    request = Request.from_wire(query.to_wire(), client, server, proto)
    request.start = 100.0
    return request


def answered(request: Request, rcode=dns.rcode.NOERROR, flags=0) -> Recorder:
    recorder = Recorder(CaptureWriter(request))
    reply = dns.message.make_response(request.message())
    reply.flags |= flags
    reply.set_rcode(rcode)
    if rcode == dns.rcode.NOERROR:
        reply.answer.append(dns.rrset.from_text(request.qname, 300, "IN", "A", "192.0.2.1"))
    recorder.write(reply)
    return recorder


class RequestPlaceholderTests(unittest.TestCase):
    def test_request_labels(self):
        request = make_request("Example.ORG.", "AAAA", msg_id=29008)
        self.assertEqual(
            replace("{type} {class} {name} {proto} {size} {remote} {port} {local}", request),
            "AAAA IN example.org. udp 29 10.240.0.1 40212 127.0.0.1")
        self.assertEqual(replace("{>id} {>opcode} {>do} {>bufsize}", request),
                         "29008 0 false 512")

    def test_edns(self):
        request = make_request(use_edns=0, payload=4096, want_dnssec=True)
        self.assertEqual(replace("{>do} {>bufsize} {size}", request),
                         f"true 4096 {len(request.wire)}")

    def test_small_edns_buffer_reads_512(self):
        request = make_request(use_edns=0, payload=100)
        self.assertEqual(replace("{>bufsize}", request), "512")

    def test_tcp(self):
        request = make_request(proto="tcp", use_edns=0, payload=1232)
        self.assertEqual(replace("{proto} {>bufsize}", request), "tcp 65535")

    def test_ipv6_in_brackets(self):
        request = make_request(client=("::1", 50759), server=("::1", 53))
        self.assertEqual(replace("{remote}:{port} {local}", request), "[::1]:50759 [::1]")

    def test_ipv4_mapped_reads_as_ipv4(self):
        request = make_request(client=("::ffff:192.0.2.7", 1000))
        self.assertEqual(replace("{remote}", request), "192.0.2.7")

    def test_unknown_type_and_class(self):
        request = make_request("example.org.", 65280, rdclass=5)
        self.assertEqual(replace("{type} {class}", request), "TYPE65280 CLASS5")

    def test_opcode(self):
        query = dns.message.make_query("example.org.", "SOA")
        query.set_opcode(dns.opcode.NOTIFY)
        request = Request.from_wire(query.to_wire(), ("192.0.2.1", 5), ("192.0.2.2", 53), "udp")
        self.assertEqual(replace("{>opcode}", request), "4")


class ReplyPlaceholderTests(unittest.TestCase):
    def test_recorded_reply(self):
        request = make_request()
        recorder = answered(request, flags=dns.flags.AA)
        self.assertEqual(replace("{rcode} {>rflags} {rsize} {duration}", request, recorder,
                                 now=100.25),
                         "NOERROR qr,aa,rd 45 0.25s")

    def test_rcode_names(self):
        request = make_request()
        recorder = answered(request, rcode=dns.rcode.NXDOMAIN)
        self.assertEqual(replace("{rcode}", request, recorder, now=100), "NXDOMAIN")
        self.assertEqual(replacer.rcode_text(23), "BADCOOKIE")
        self.assertEqual(replacer.rcode_text(12), "12")

    def test_wire_reply_flags(self):
        request = make_request()
        recorder = Recorder(CaptureWriter(request))
        reply = dns.message.make_response(request.message())
        reply.flags |= dns.flags.RA | dns.flags.AD | dns.flags.CD | dns.flags.TC
        recorder.write(reply.to_wire())
        self.assertEqual(replace("{>rflags} {rsize}", request, recorder, now=100),
                         f"qr,tc,rd,ra,ad,cd {len(reply.to_wire())}")

    def test_nothing_written(self):
        """CoreDNS logs a reply the chain did not write (an unwritten SERVFAIL) as "- - 0"."""
        request = make_request()
        recorder = Recorder(CaptureWriter(request))
        self.assertEqual(replace("{rcode} {>rflags} {rsize} {duration}", request, recorder,
                                 now=101.5),
                         "- - 0 1.5s")

    def test_without_recorder(self):
        request = make_request()
        self.assertEqual(replace("{rcode} {>rflags} {rsize} {duration}", request),
                         " ".join([EMPTY_VALUE] * 4))

    def test_duration_like_go(self):
        self.assertEqual(replacer.seconds_text(0), "0s")
        self.assertEqual(replacer.seconds_text(2), "2s")
        self.assertEqual(replacer.seconds_text(0.037990251), "0.037990251s")
        self.assertEqual(replacer.seconds_text(0.00001), "0.00001s")
        # reactor floats are rounded to whole nanoseconds, as Go measures
        self.assertEqual(replacer.seconds_text(100.1 - 100.0), "0.1s")


class FormatParsingTests(unittest.TestCase):
    def test_unknown_labels_stay(self):
        request = make_request()
        self.assertEqual(replace("{host} {when} {type}", request), "{host} {when} A")

    def test_nested_braces(self):
        request = make_request()
        self.assertEqual(replace("{ {type} }", request), "{ A }")
        self.assertEqual(replace("A } {type}", request), "A } A")
        self.assertEqual(replace("{type", request), "{type")
        self.assertEqual(replace("}{name}{", request), "}example.org.{")

    def test_header_labels_are_case_sensitive(self):
        request = make_request(msg_id=7)
        self.assertEqual(replace("{>ID} {>id}", request), "{>ID} 7")

    def test_literal_only(self):
        request = make_request()
        self.assertEqual(replace("no placeholders", request), "no placeholders")
        self.assertEqual(replace("", request), "")

    def test_metadata(self):
        request = make_request()
        request.set_metadata("geoip/city", lambda: "Berlin")
        request.set_metadata("test/lazy", lambda: "computed")
        self.assertEqual(replace("{/geoip/city} {/test/lazy} {/missing}", request),
                         "Berlin computed -")
        self.assertEqual(replace("{/geoip/city}", make_request()), "-")

    def test_formats_are_cached(self):
        self.assertIs(compile_format("{type} {name}"), compile_format("{type} {name}"))
        self.assertEqual(repr(compile_format("{type}")), "Format('{type}')")

    def test_labels(self):
        self.assertIn("{>rflags}", replacer.LABELS)
        self.assertEqual(len(replacer.LABELS), 16)
