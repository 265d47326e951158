"""Writers: scrubbing (ID, question, OPT), truncation to the client's size, the bytes path."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from twisted.internet.error import MessageLengthError
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from twisted_dns import wire
from twisted_dns.interfaces import IResponseWriter
from twisted_dns.request import Request
from twisted_dns.response import (
    SUPPORTED_OPTIONS,
    CaptureWriter,
    NonWriter,
    Recorder,
    TCPWriter,
    UDPWriter,
    register_option,
)

CLIENT = ("192.0.2.7", 4000)


def request_for(name: str = "example.org.", rdtype: str = "A", proto: str = "udp",
                **kwargs) -> Request:
    query = dns.message.make_query(name, rdtype, **kwargs)
    return Request.from_wire(query.to_wire(), CLIENT, ("127.0.0.1", 53), proto)


def big_response(request: Request, count: int = 100) -> dns.message.Message:
    reply = dns.message.make_response(request.message())
    for i in range(count):
        reply.answer.append(dns.rrset.from_text(f"h{i}.example.org.", 60, "IN", "A",
                                                f"10.0.{i // 256}.{i % 256}"))
    return reply


def sent(writer: CaptureWriter) -> dns.message.Message:
    assert len(writer.sent) == 1, writer.sent
    return dns.message.from_wire(writer.sent[0])


class ScrubTests(unittest.TestCase):
    def test_provides_interface(self) -> None:
        writer = CaptureWriter(request_for())
        self.assertTrue(IResponseWriter.providedBy(writer))
        self.assertFalse(writer.written)

    def test_id_and_question_from_query(self) -> None:
        request = request_for("Example.ORG.")
        reply = dns.message.make_response(request.message())
        reply.id = 1
        reply.question = []
        writer = CaptureWriter(request)
        writer.write(reply)
        got = sent(writer)
        self.assertEqual(got.id, request.id)
        self.assertEqual(got.question, request.message().question)
        self.assertTrue(request.message().is_response(got))
        self.assertTrue(writer.written)
        self.assertEqual((writer.rcode, writer.size), (0, len(writer.sent[0])))

    def test_opt_added_when_query_had_one(self) -> None:
        request = request_for(use_edns=0, payload=4096, want_dnssec=True)
        reply = dns.message.Message(id=request.id)
        reply.flags = dns.flags.QR
        writer = CaptureWriter(request)
        writer.write(reply)
        got = sent(writer)
        self.assertEqual((got.edns, got.payload), (0, 4096))  # the client's size
        self.assertTrue(got.ednsflags & dns.flags.DO)

    def test_opt_removed_when_query_had_none(self) -> None:
        request = request_for()
        reply = dns.message.make_response(request.message())
        reply.use_edns(0, payload=4096)
        writer = CaptureWriter(request)
        writer.write(reply)
        self.assertIsNone(sent(writer).opt)

    def test_do_mirrored_not_invented(self) -> None:
        request = request_for(use_edns=0)
        reply = dns.message.make_response(request.message())
        reply.use_edns(0, ednsflags=dns.flags.DO, payload=4096)
        writer = CaptureWriter(request)
        writer.write(reply)
        got = sent(writer)
        self.assertFalse(got.ednsflags & dns.flags.DO)
        self.assertEqual(got.payload, 1232)

    def test_unknown_client_options_dropped(self) -> None:
        private = dns.edns.GenericOption(65002, b"12345678")
        request = request_for(use_edns=0, options=[private])
        writer = CaptureWriter(request)
        writer.write(dns.message.make_response(request.message()))
        self.assertEqual(sent(writer).options, ())

    def test_coredns_options_echoed(self) -> None:
        """NSID and COOKIE come back as the client sent them, as CoreDNS's SizeAndDo does."""
        options = [dns.edns.GenericOption(dns.edns.OptionType.NSID, b""),
                   dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"12345678")]
        request = request_for(use_edns=0, options=options)
        writer = CaptureWriter(request)
        writer.write(dns.message.Message(id=request.id))  # a reply without an OPT of its own
        self.assertEqual([o.to_wire() for o in sent(writer).options],
                         [o.to_wire() for o in options])
        # and in replies built from wire
        reply = dns.message.from_wire(wire.reply(request))
        self.assertEqual([o.to_wire() for o in reply.options], [o.to_wire() for o in options])

    def test_registered_options_echoed(self) -> None:
        self.addCleanup(SUPPORTED_OPTIONS.discard, 65001)
        register_option(65001)
        options = [dns.edns.GenericOption(65001, b"x"), dns.edns.GenericOption(65002, b"y")]
        request = request_for(use_edns=0, options=options)
        reply = dns.message.Message(id=request.id)
        writer = CaptureWriter(request)
        writer.write(reply)
        self.assertEqual(sent(writer).options, (dns.edns.GenericOption(65001, b"x"),))

    def test_reply_options_kept(self) -> None:
        request = request_for(use_edns=0)
        reply = dns.message.make_response(request.message())
        nsid = dns.edns.GenericOption(dns.edns.OptionType.NSID, b"server-1")
        reply.use_edns(0, options=[nsid])
        writer = CaptureWriter(request)
        writer.write(reply)
        self.assertEqual(sent(writer).options, (nsid,))

    def test_extended_rcode_kept(self) -> None:
        request = request_for(use_edns=0)
        reply = dns.message.make_response(request.message())
        reply.set_rcode(dns.rcode.BADCOOKIE)
        writer = CaptureWriter(request)
        writer.write(reply)
        self.assertEqual(sent(writer).rcode(), dns.rcode.BADCOOKIE)
        self.assertEqual(writer.rcode, dns.rcode.BADCOOKIE)

    def test_extended_rcode_without_client_edns(self) -> None:
        request = request_for()
        reply = dns.message.make_response(request.message())
        reply.use_edns(0)
        reply.set_rcode(dns.rcode.BADCOOKIE)
        writer = CaptureWriter(request)
        writer.write(reply)
        got = sent(writer)
        self.assertIsNone(got.opt)
        self.assertEqual(got.rcode(), dns.rcode.SERVFAIL)


class TruncationTests(unittest.TestCase):
    def check_truncated(self, request: Request, limit: int) -> dns.message.Message:
        writer = CaptureWriter(request)
        writer.write(big_response(request))
        data = writer.sent[0]
        self.assertLessEqual(len(data), limit)
        got = dns.message.from_wire(data)
        self.assertTrue(got.flags & dns.flags.TC)
        self.assertEqual(got.question, request.message().question)
        self.assertGreater(len(got.answer), 0)
        for rrset in got.answer:  # every record whole: they decode and are what was sent
            self.assertIn(rrset, big_response(request).answer)
        return got

    def test_udp_without_edns_is_512(self) -> None:
        got = self.check_truncated(request_for(), 512)
        self.assertIsNone(got.opt)

    def test_udp_with_edns_keeps_opt(self) -> None:
        request = request_for(use_edns=0, payload=800, want_dnssec=True)
        got = self.check_truncated(request, 800)
        self.assertEqual(got.edns, 0)
        self.assertTrue(got.ednsflags & dns.flags.DO)

    def test_tcp_sends_everything(self) -> None:
        request = request_for(proto="tcp")
        writer = CaptureWriter(request)
        writer.write(big_response(request))
        got = sent(writer)
        self.assertFalse(got.flags & dns.flags.TC)
        self.assertEqual(len(got.answer), 100)

    def test_fits_untouched(self) -> None:
        request = request_for(use_edns=0)
        writer = CaptureWriter(request)
        writer.write(big_response(request, 3))
        got = sent(writer)
        self.assertFalse(got.flags & dns.flags.TC)
        self.assertEqual(len(got.answer), 3)


def one_rrset_response(request: Request, count: int = 100) -> dns.message.Message:
    """``count`` A records in one answer RRset, each 16 octets once its owner is compressed."""
    reply = dns.message.make_response(request.message())
    reply.answer.append(dns.rrset.from_text(
        "example.org.", 60, "IN", "A", *(f"10.0.{i // 256}.{i % 256}" for i in range(count))))
    return reply


def with_optional_records(reply: dns.message.Message, count: int) -> dns.message.Message:
    """``reply`` with the zone's NS in authority and ``count`` glue RRsets in additional."""
    reply.authority.append(dns.rrset.from_text("example.org.", 60, "IN", "NS",
                                               "ns1.example.org.", "ns2.example.org."))
    for i in range(count):
        reply.additional.append(dns.rrset.from_text(f"ns{i}.example.org.", 60, "IN", "AAAA",
                                                    f"2001:db8::{i + 1}"))
    return reply


class RFC2181TruncationTests(unittest.TestCase):
    """TC only when the records the client needs do not fit (RFC 2181 9)."""

    def write(self, request: Request,
              reply: dns.message.Message) -> tuple[bytes, dns.message.Message]:
        writer = CaptureWriter(request)
        writer.write(reply)
        return writer.sent[0], sent(writer)

    def test_additional_left_out_without_tc(self) -> None:
        request = request_for()
        data, got = self.write(request, with_optional_records(one_rrset_response(request, 5), 30))
        self.assertLessEqual(len(data), 512)
        self.assertFalse(got.flags & dns.flags.TC)
        self.assertEqual(got.answer, one_rrset_response(request, 5).answer)
        self.assertEqual(len(got.authority), 1)
        # whole RRsets, in order, as many as fit
        self.assertEqual(got.additional, with_optional_records(
            one_rrset_response(request, 5), 30).additional[:len(got.additional)])
        self.assertGreater(len(data) + 40, 512)

    def test_authority_beside_an_answer_left_out_without_tc(self) -> None:
        request = request_for(use_edns=0, payload=600)
        reply = with_optional_records(one_rrset_response(request, 33), 3)
        data, got = self.write(request, reply)
        self.assertLessEqual(len(data), 600)
        self.assertFalse(got.flags & dns.flags.TC)
        self.assertEqual((len(got.answer[0]), got.authority, got.additional), (33, [], []))
        self.assertEqual(got.edns, 0)

    def test_referral_that_does_not_fit_is_tc(self) -> None:
        request = request_for("www.example.org.")
        reply = dns.message.make_response(request.message())
        reply.authority.append(dns.rrset.from_text(
            "example.org.", 60, "IN", "NS", *(f"ns.{'x' * 40}{i}.example." for i in range(12))))
        data, got = self.write(request, reply)
        self.assertLessEqual(len(data), 512)
        self.assertTrue(got.flags & dns.flags.TC)
        self.assertGreater(len(got.authority[0]), 0)

    def test_answer_cut_record_by_record_with_tc(self) -> None:
        for request in (request_for(), request_for(use_edns=0, payload=1000, want_dnssec=True)):
            data, got = self.write(request, with_optional_records(
                one_rrset_response(request), 3))
            limit = request.max_size
            self.assertLessEqual(len(data), limit)
            self.assertTrue(got.flags & dns.flags.TC)
            self.assertEqual((got.authority, got.additional), ([], []))
            # as many whole records as fit: one more (16 octets) would not
            self.assertGreater(len(data) + 16, limit)
            self.assertEqual(len(got.answer), 1)
            self.assertTrue(got.answer[0].issubset(one_rrset_response(request).answer[0]))
            self.assertEqual(got.edns, 0 if request.edns else -1)

    def test_wire_bytes_cut_the_same_way(self) -> None:
        request = request_for()
        tcp_request = request_for(proto="tcp")
        full = with_optional_records(one_rrset_response(tcp_request, 5), 30)
        data = request.id.to_bytes(2, "big") + full.to_wire()[2:]
        self.assertGreater(len(data), 512)
        writer = CaptureWriter(request)
        writer.write(data)
        got = sent(writer)
        self.assertFalse(got.flags & dns.flags.TC)
        self.assertEqual(got.answer, full.answer)

        data = request.id.to_bytes(2, "big") + one_rrset_response(tcp_request).to_wire()[2:]
        writer = CaptureWriter(request)
        writer.write(data)
        got = sent(writer)
        self.assertTrue(got.flags & dns.flags.TC)
        self.assertGreater(len(writer.sent[0]) + 16, 512)


class BytesTests(unittest.TestCase):
    def test_sent_as_is(self) -> None:
        request = request_for()
        data = wire.reply(request, rcode=3)
        writer = CaptureWriter(request)
        writer.write(data)
        self.assertIs(writer.sent[0], data)
        self.assertEqual((writer.rcode, writer.size, writer.written), (3, len(data), True))

    def test_too_big_is_truncated(self) -> None:
        request = request_for(use_edns=0, payload=700)
        tcp_request = request_for(proto="tcp")
        data = big_response(tcp_request).to_wire()
        data = request.id.to_bytes(2, "big") + data[2:]
        self.assertGreater(len(data), 700)
        writer = CaptureWriter(request)
        writer.write(data)
        self.assertLessEqual(len(writer.sent[0]), 700)
        got = dns.message.from_wire(writer.sent[0])
        self.assertTrue(got.flags & dns.flags.TC)
        self.assertEqual(got.edns, 0)
        self.assertEqual(got.question, request.message().question)

    def test_too_big_garbage_becomes_tc(self) -> None:
        request = request_for()
        junk = request.wire[:2] + b"\x81\x80" + b"\xff" * 600
        writer = CaptureWriter(request)
        writer.write(junk)
        got = dns.message.from_wire(writer.sent[0])
        self.assertTrue(got.flags & dns.flags.TC)
        self.assertEqual(got.question, request.message().question)
        self.assertEqual(len(self.flushLoggedErrors()), 1)

    def test_bytearray(self) -> None:
        request = request_for()
        writer = CaptureWriter(request)
        writer.write(bytearray(wire.reply(request)))
        self.assertEqual(writer.sent, [wire.reply(request)])

    def test_closed_writer_drops(self) -> None:
        writer = CaptureWriter(request_for())
        writer.close()
        writer.write(wire.reply(writer.request))
        self.assertEqual((writer.sent, writer.written), ([], False))


class FakeUDPTransport:
    def __init__(self, error: Exception | None = None) -> None:
        self.datagrams: list[tuple[bytes, tuple]] = []
        self.error = error

    def write(self, data: bytes, addr: tuple) -> None:
        if self.error is not None:
            raise self.error
        self.datagrams.append((data, addr))


class TransportWriterTests(unittest.TestCase):
    def test_udp(self) -> None:
        transport = FakeUDPTransport()
        request = request_for()
        UDPWriter(transport.write, request).write(wire.reply(request))
        self.assertEqual(transport.datagrams, [(wire.reply(request), CLIENT)])

    def test_udp_send_errors_are_dropped(self) -> None:
        request = request_for()
        for error in (OSError(11, "EAGAIN"), MessageLengthError()):
            writer = UDPWriter(FakeUDPTransport(error).write, request)
            writer.write(wire.reply(request))
            self.assertTrue(writer.written)

    def test_tcp_frames(self) -> None:
        transport = StringTransport()
        request = request_for(proto="tcp")
        writer = TCPWriter(transport, request)
        data = wire.reply(request)
        writer.write(data)
        writer.write(data)
        frame = len(data).to_bytes(2, "big") + data
        self.assertEqual(transport.value(), frame * 2)


class WrapperTests(unittest.TestCase):
    def test_recorder(self) -> None:
        request = request_for()
        request.start = 12.5
        inner = CaptureWriter(request)
        recorder = Recorder(inner)
        self.assertTrue(IResponseWriter.providedBy(recorder))
        request.plugin = "file"
        data = wire.reply(request, rcode=3)
        recorder.write(data)
        self.assertEqual(inner.sent, [data])
        self.assertEqual((recorder.rcode, recorder.size, recorder.plugin, recorder.start),
                         (3, len(data), "file", 12.5))
        self.assertIs(recorder.reply, data)
        self.assertTrue(recorder.written)

    def test_recorder_message(self) -> None:
        request = request_for()
        inner = CaptureWriter(request)
        recorder = Recorder(inner)
        reply = big_response(request, 2)
        reply.set_rcode(dns.rcode.NXDOMAIN)
        recorder.write(reply)
        self.assertEqual((recorder.rcode, recorder.size), (3, len(inner.sent[0])))
        self.assertIs(recorder.reply, reply)

    def test_recorder_close_reaches_writer(self) -> None:
        inner = CaptureWriter(request_for())
        Recorder(inner).close()
        self.assertTrue(inner.closed)

    def test_nonwriter(self) -> None:
        request = request_for()
        inner = CaptureWriter(request)
        nonwriter = NonWriter(inner)
        data = wire.reply(request, rcode=2)
        nonwriter.write(data)
        self.assertEqual(inner.sent, [])
        self.assertFalse(inner.written)
        self.assertIs(nonwriter.reply, data)
        self.assertEqual((nonwriter.rcode, nonwriter.size, nonwriter.written),
                         (2, len(data), True))
        reply = big_response(request, 1)
        nonwriter.write(reply)
        self.assertIs(nonwriter.reply, reply)
        self.assertEqual(nonwriter.rcode, 0)


class WriterInterfaceTests(unittest.TestCase):
    """Every writer in the tree has what IResponseWriter declares (and plugins use)."""

    def test_every_writer_provides_the_interface(self) -> None:
        from zope.interface.verify import verifyObject

        from twisted_dns.plugins.cache.cache import CacheWriter
        from twisted_dns.plugins.loadbalance.loadbalance import BalancingWriter
        from twisted_dns.response import NonWriter, Recorder, TCPWriter, UDPWriter

        request = request_for()
        capture = CaptureWriter(request)
        writers = [capture, UDPWriter(lambda data, client: None, request),
                   TCPWriter(StringTransport(), request), Recorder(capture), NonWriter(capture),
                   BalancingWriter(capture, lambda qtype, reply: reply),
                   CacheWriter(None, request, capture, ("key",))]
        for writer in writers:
            self.assertTrue(verifyObject(IResponseWriter, writer), type(writer).__name__)
            self.assertIs(writer.request, request)
            self.assertFalse(writer.written)
