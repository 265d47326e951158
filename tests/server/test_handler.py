"""QueryHandler: the rcode contract, the checks before the chain, errors and deadlines."""

from __future__ import annotations

import struct
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rrset
from twisted.internet import defer, task
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial import unittest

from tests.server import Plugin, block
from tests.test_request import MALFORMED_OPTIONS, opt_query
from twisted_dns import wire
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.response import CaptureWriter
from twisted_dns.server.handler import QueryHandler
from twisted_dns.server.routing import ZoneRouter

CLIENT = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 53)


def answer_a(request: Any, writer: Any) -> int:
    reply = dns.message.make_response(request.message())
    reply.answer.append(dns.rrset.from_text(request.qname, 60, "IN", "A", "192.0.2.1"))
    writer.write(reply)
    return dns.rcode.NOERROR


def returns(rcode: int):
    return lambda request, writer: rcode


class Harness:
    """A handler over one zone served by ``plugin``, recording every writer it makes."""

    def __init__(self, plugin: Any, zones: tuple[str, ...] = (".",),
                 directives: list[str] | None = None, deadline: float = 5.0) -> None:
        self.clock = task.Clock()
        config = block(plugin, directives)
        self.handler = QueryHandler(ZoneRouter([(z, config) for z in zones]), self.clock,
                                    deadline=deadline)
        self.writers: list[CaptureWriter] = []

    def make_writer(self, request: Any) -> CaptureWriter:
        writer = CaptureWriter(request)
        self.writers.append(writer)
        return writer

    def send(self, data: bytes | dns.message.Message, proto: str = "udp") -> Any:
        if isinstance(data, dns.message.Message):
            data = data.to_wire()
        return self.handler.handle(data, CLIENT, SERVER, proto, self.make_writer)

    @property
    def sent(self) -> list[bytes]:
        return [data for writer in self.writers for data in writer.sent]

    def reply(self) -> dns.message.Message:
        sent = self.sent
        assert len(sent) == 1, sent
        return dns.message.from_wire(sent[0])


def query(name: str = "example.org.", rdtype: str = "A", **kwargs: Any) -> dns.message.Message:
    return dns.message.make_query(name, rdtype, **kwargs)


class RcodeContractTests(unittest.TestCase):
    def test_noerror_written_by_plugin(self) -> None:
        harness = Harness(Plugin(answer_a))
        q = query()
        self.assertIsNone(harness.send(q))
        reply = harness.reply()
        self.assertTrue(q.is_response(reply))
        self.assertEqual(reply.answer[0][0].to_text(), "192.0.2.1")

    def test_no_client_write_rcodes_written_by_server(self) -> None:
        for rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR,
                      dns.rcode.NOTIMP):
            harness = Harness(Plugin(returns(rcode)))
            q = query(use_edns=0, want_dnssec=True)
            harness.send(q)
            reply = harness.reply()
            self.assertTrue(q.is_response(reply))
            self.assertEqual(reply.rcode(), rcode)
            self.assertEqual(reply.question, q.question)
            self.assertTrue(reply.ednsflags & dns.flags.DO)
            self.assertEqual(harness.writers[0].rcode, rcode)

    def test_enum_rcode(self) -> None:
        harness = Harness(Plugin(returns(dns.rcode.Rcode.REFUSED)))
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.REFUSED)

    def test_not_rewritten_when_plugin_wrote(self) -> None:
        def refuse(request: Any, writer: Any) -> int:
            writer.write(wire.reply(request, rcode=dns.rcode.REFUSED, aa=True))
            return dns.rcode.REFUSED

        harness = Harness(Plugin(refuse))
        harness.send(query())
        self.assertTrue(harness.reply().flags & dns.flags.AA)

    def test_noerror_without_write_sends_nothing(self) -> None:
        # CoreDNS: a plugin claiming to have written is believed
        harness = Harness(Plugin(returns(dns.rcode.NOERROR)))
        harness.send(query())
        self.assertEqual(harness.sent, [])

    def test_request_fields_set(self) -> None:
        plugin = Plugin(returns(dns.rcode.SERVFAIL), name="first")
        harness = Harness(plugin, zones=("example.org.",))
        harness.clock.advance(42)
        harness.send(query("www.Example.org."))
        request = plugin.requests[0]
        self.assertEqual((request.zone, request.plugin, request.start, request.proto),
                         ("example.org.", "first", 42, "udp"))


class ChecksBeforeTheChainTests(unittest.TestCase):
    def setUp(self) -> None:
        self.plugin = Plugin(answer_a)
        self.harness = Harness(self.plugin, zones=("example.org.",))

    def test_short_packet_dropped(self) -> None:
        self.harness.send(b"\x00" * 11)
        self.assertEqual(self.harness.sent, [])

    def test_garbled_body_is_formerr_with_same_id(self) -> None:
        data = struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\x05abc"
        self.harness.send(data)
        reply = self.harness.reply()
        self.assertEqual((reply.id, reply.rcode()), (0xBEEF, dns.rcode.FORMERR))
        self.assertTrue(reply.flags & dns.flags.QR)
        self.assertTrue(reply.flags & dns.flags.RD)
        self.assertEqual(self.plugin.requests, [])

    def test_malformed_edns_option_is_formerr_with_question_and_opt(self) -> None:
        for case, options in MALFORMED_OPTIONS.items():
            self.harness.writers.clear()
            self.harness.send(opt_query(options, msg_id=0xBEEF))
            reply = self.harness.reply()
            self.assertEqual((reply.id, reply.rcode()), (0xBEEF, dns.rcode.FORMERR), case)
            self.assertEqual([q.to_text() for q in reply.question], ["example.org. IN A"], case)
            self.assertEqual((reply.edns, reply.payload, reply.options), (0, 1232, ()), case)
        self.assertEqual(self.plugin.requests, [])

    def test_record_past_the_message_is_formerr_with_question(self) -> None:
        data = query("a.example.org.").to_wire()
        data = data[:10] + b"\x00\x01" + data[12:] + b"\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x09"
        self.harness.send(data)
        reply = self.harness.reply()
        self.assertEqual(reply.rcode(), dns.rcode.FORMERR)
        self.assertEqual([q.to_text() for q in reply.question], ["a.example.org. IN A"])
        self.assertIsNone(reply.opt)

    def test_responses_ignored(self) -> None:
        response = dns.message.make_response(query())
        self.harness.send(response)
        garbled = response.to_wire()[:14]
        self.harness.send(garbled)
        self.assertEqual(self.harness.sent, [])

    def test_no_question_is_formerr(self) -> None:
        # miekg/dns rejects qdcount != 1 before CoreDNS's own "no question: SERVFAIL" runs
        self.harness.send(struct.pack("!HHHHHH", 12, 0x0100, 0, 0, 0, 0))
        reply = self.harness.reply()
        self.assertEqual((reply.id, reply.rcode()), (12, dns.rcode.FORMERR))

    def test_two_questions_is_formerr(self) -> None:
        first = query("a.example.org.").to_wire()
        data = first[:4] + b"\x00\x02" + first[6:] + first[12:]
        self.harness.send(data)
        reply = self.harness.reply()
        self.assertEqual(reply.rcode(), dns.rcode.FORMERR)
        self.assertEqual(reply.question, [])

    def test_too_many_records_is_formerr(self) -> None:
        q = query("a.example.org.")
        for i in range(3):
            q.additional.append(dns.rrset.from_text(f"x{i}.", 0, "IN", "A", "1.2.3.4"))
        self.harness.send(q)
        self.assertEqual(self.harness.reply().rcode(), dns.rcode.FORMERR)

    def test_unknown_opcode_is_notimp(self) -> None:
        q = query("a.example.org.")
        q.set_opcode(dns.opcode.UPDATE)
        self.harness.send(q)
        reply = self.harness.reply()
        self.assertEqual(reply.rcode(), dns.rcode.NOTIMP)
        self.assertEqual(reply.opcode(), dns.opcode.UPDATE)
        self.assertEqual(reply.id, q.id)
        self.assertEqual(self.plugin.requests, [])

    def test_unknown_opcode_with_garbled_body_is_notimp(self) -> None:
        data = struct.pack("!HHHHHH", 3, dns.opcode.UPDATE << 11, 1, 0, 0, 0) + b"\x09"
        self.harness.send(data)
        self.assertEqual(self.harness.reply().rcode(), dns.rcode.NOTIMP)

    def test_notify_reaches_the_chain(self) -> None:
        q = query("example.org.", "SOA")
        q.set_opcode(dns.opcode.NOTIFY)
        self.harness.send(q)
        self.assertEqual(len(self.plugin.requests), 1)

    def test_badvers(self) -> None:
        q = query("a.example.org.", use_edns=1)
        self.harness.send(q)
        reply = self.harness.reply()
        self.assertEqual(reply.rcode(), dns.rcode.BADVERS)
        self.assertEqual(reply.edns, 0)
        self.assertEqual(reply.payload, q.payload)  # the client's (CoreDNS says 0)
        self.assertEqual(reply.id, q.id)
        self.assertEqual(self.harness.writers[0].rcode, dns.rcode.BADVERS)
        self.assertEqual(self.plugin.requests, [])

    def test_non_in_class_refused(self) -> None:
        for rdclass in (dns.rdataclass.CH, dns.rdataclass.ANY):
            self.harness.writers.clear()
            q = query("a.example.org.", "TXT", rdclass=rdclass)
            self.harness.send(q)
            reply = self.harness.reply()
            self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
            self.assertTrue(q.is_response(reply))
        self.assertEqual(self.plugin.requests, [])

    def test_non_in_class_allowed_with_chaos(self) -> None:
        plugin = Plugin(returns(dns.rcode.REFUSED), name="chaos")
        harness = Harness(plugin, directives=["chaos"])
        harness.send(query("version.bind.", "TXT", rdclass=dns.rdataclass.CH))
        self.assertEqual(len(plugin.requests), 1)

    def test_no_zone_refused(self) -> None:
        q = query("example.com.")
        self.harness.send(q)
        reply = self.harness.reply()
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        self.assertTrue(q.is_response(reply))
        self.assertEqual(self.plugin.requests, [])

    def test_block_without_chain_refused(self) -> None:
        harness = Harness(None)
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.REFUSED)


class FailureTests(unittest.TestCase):
    def setUp(self) -> None:
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def test_exception_is_servfail_and_logged(self) -> None:
        def boom(request: Any, writer: Any) -> int:
            raise ZeroDivisionError("boom")

        harness = Harness(Plugin(boom, name="broken"))
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        errors = [e for e in self.events if e.get("log_level") == LogLevel.critical]
        self.assertEqual([e["plugin"] for e in errors], ["broken"])
        self.assertEqual(errors[0]["log_namespace"], "broken")

    def test_query_dnspython_cannot_decode_is_formerr_not_logged(self) -> None:
        # an additional A record of 3 octets: the server's reading skips it, dnspython refuses
        data = query(use_edns=0).to_wire()
        record = b"\x01x\x00" + struct.pack("!HHIH", 1, 1, 0, 3) + b"\x01\x02\x03"
        data = data[:10] + b"\x00\x02" + data[12:-11] + record + data[-11:]
        harness = Harness(Plugin(answer_a, name="decodes"))
        harness.send(data)
        reply = harness.reply()
        self.assertEqual(reply.rcode(), dns.rcode.FORMERR)
        self.assertEqual(reply.question[0].to_text(), "example.org. IN A")
        self.assertEqual(reply.edns, 0)
        self.assertEqual([e for e in self.events if e.get("log_level") == LogLevel.critical],
                         [])

    def test_exception_deep_in_chain_names_that_plugin(self) -> None:
        def boom(request: Any, writer: Any) -> int:
            raise ValueError("deep")

        inner = Plugin(boom, name="inner")
        outer = Plugin(lambda r, w: next_or_failure("outer", inner, r, w), name="outer")
        harness = Harness(outer)
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.flushLoggedErrors(ValueError)
        self.assertIn("inner", [e.get("plugin") for e in self.events])

    def test_exception_after_write_sends_nothing_more(self) -> None:
        def write_then_boom(request: Any, writer: Any) -> int:
            answer_a(request, writer)
            raise ValueError("late")

        harness = Harness(Plugin(write_then_boom))
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.NOERROR)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_failed_deferred_is_servfail(self) -> None:
        d: defer.Deferred = defer.Deferred()
        harness = Harness(Plugin(lambda r, w: d, name="slow"))
        done = harness.send(query())
        self.assertNoResult(done)
        d.errback(RuntimeError("upstream gone"))
        self.successResultOf(done)
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_bad_return_value_is_servfail(self) -> None:
        harness = Harness(Plugin(lambda r, w: None))
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)

    def test_deferred_firing_with_junk_is_servfail(self) -> None:
        harness = Harness(Plugin(lambda r, w: defer.succeed("ok")))
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)

    def test_failing_writer_does_not_escape(self) -> None:
        class BrokenWriter(CaptureWriter):
            def _send(self, data: bytes) -> None:
                raise OSError("gone")

        harness = Harness(Plugin(returns(dns.rcode.SERVFAIL)))
        self.assertIsNone(harness.handler.handle(query().to_wire(), CLIENT, SERVER, "udp",
                                                 BrokenWriter))
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)


class AsyncTests(unittest.TestCase):
    def test_deferred_answer(self) -> None:
        d: defer.Deferred = defer.Deferred()
        plugin = Plugin(lambda r, w: d)
        harness = Harness(plugin)
        done = harness.send(query())
        self.assertEqual(harness.sent, [])
        answer_a(plugin.requests[0], harness.writers[0])
        d.callback(dns.rcode.NOERROR)
        self.assertIsNone(self.successResultOf(done))
        self.assertEqual(harness.reply().rcode(), dns.rcode.NOERROR)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_deferred_no_client_write(self) -> None:
        d: defer.Deferred = defer.Deferred()
        harness = Harness(Plugin(lambda r, w: d))
        harness.send(query())
        d.callback(dns.rcode.REFUSED)
        self.assertEqual(harness.reply().rcode(), dns.rcode.REFUSED)

    def test_already_fired_deferred_needs_no_timer(self) -> None:
        harness = Harness(Plugin(lambda r, w: defer.succeed(dns.rcode.SERVFAIL)))
        self.assertIsNone(harness.send(query()))
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_coroutine_plugin(self) -> None:
        waiting: defer.Deferred = defer.Deferred()

        async def serve(request: Any, writer: Any) -> int:
            await waiting
            return answer_a(request, writer)

        harness = Harness(Plugin(serve))
        done = harness.send(query())
        self.assertNoResult(done)
        waiting.callback(None)
        self.successResultOf(done)
        self.assertEqual(harness.reply().answer[0][0].to_text(), "192.0.2.1")

    def test_coroutine_raising(self) -> None:
        async def serve(request: Any, writer: Any) -> int:
            raise KeyError("x")

        harness = Harness(Plugin(serve))
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_deadline(self) -> None:
        cancelled = []
        d: defer.Deferred = defer.Deferred(cancelled.append)
        plugin = Plugin(lambda r, w: d)
        harness = Harness(plugin, deadline=2.0)
        done = harness.send(query())
        harness.clock.advance(1.9)
        self.assertEqual(harness.sent, [])
        self.assertNoResult(done)
        harness.clock.advance(0.2)
        self.successResultOf(done)
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(cancelled, [d])
        # a late answer through the same writer is dropped
        answer_a(plugin.requests[0], harness.writers[0])
        self.assertEqual(len(harness.sent), 1)

    def test_deadline_with_uncancellable_deferred(self) -> None:
        d: defer.Deferred = defer.Deferred()
        plugin = Plugin(lambda r, w: d)
        harness = Harness(plugin, deadline=1.0)
        harness.send(query())
        harness.clock.advance(1.0)
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_deadline_after_plugin_wrote(self) -> None:
        d: defer.Deferred = defer.Deferred()
        plugin = Plugin(lambda r, w: (answer_a(r, w), d)[1])
        harness = Harness(plugin, deadline=1.0)
        harness.send(query())
        harness.clock.advance(1.0)
        self.assertEqual(harness.reply().rcode(), dns.rcode.NOERROR)

    def test_hung_coroutine(self) -> None:
        async def serve(request: Any, writer: Any) -> int:
            await defer.Deferred()
            return 0

        harness = Harness(Plugin(serve), deadline=3.0)
        done = harness.send(query())
        harness.clock.advance(3.0)
        self.successResultOf(done)
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)


class ObserverTests(unittest.TestCase):
    def test_every_query_observed_once(self) -> None:
        seen: list[tuple] = []
        d: defer.Deferred = defer.Deferred()
        results = iter([dns.rcode.SERVFAIL, d])
        harness = Harness(Plugin(lambda r, w: next(results)), zones=("example.org.",))
        harness.handler.observers.append(lambda request, writer: seen.append(
            (request.qname, request.zone, writer.rcode)))
        harness.send(query("a.example.org."))
        harness.send(query("b.example.org."))
        harness.send(query("example.com."))
        harness.send(query("c.example.org.", use_edns=1))
        self.assertEqual(len(seen), 3)
        d.callback(dns.rcode.REFUSED)
        self.assertEqual(seen, [("a.example.org.", "example.org.", 2),
                                ("example.com.", None, 5),
                                ("c.example.org.", None, 16),
                                ("b.example.org.", "example.org.", 5)])

    def test_broken_observer_is_logged(self) -> None:
        harness = Harness(Plugin(returns(dns.rcode.SERVFAIL)))
        harness.handler.observers.append(lambda request, writer: 1 / 0)
        harness.send(query())
        self.assertEqual(harness.reply().rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)


class DeadlineSweepTests(unittest.TestCase):
    """One periodic sweep, not a timer per query, gives waiting queries their deadline."""

    def hanging(self, deadline: float = 2.0, slot: float = 0.5) -> tuple[Harness, list]:
        """A harness whose plugin returns a fresh, never-fired Deferred per query; the
        cancelled ones are listed in ``self.cancelled``."""
        chains: list[defer.Deferred] = []
        self.cancelled: list[defer.Deferred] = []

        def serve(request: Any, writer: Any) -> defer.Deferred:
            d: defer.Deferred = defer.Deferred(self.cancelled.append)
            chains.append(d)
            return d

        harness = Harness(Plugin(serve), deadline=deadline)
        harness.handler.deadline_slot = slot
        return harness, chains

    def rcodes(self, harness: Harness) -> list[int]:
        return [dns.message.from_wire(data).rcode() for data in harness.sent]

    def test_servfail_after_the_deadline_within_one_slot(self) -> None:
        harness, chains = self.hanging(deadline=2.0, slot=0.5)
        harness.clock.advance(0.3)  # off the slot grid: the deadline is 2.3
        done = harness.send(query())
        for _ in range(39):  # up to 2.25, in small steps: never early
            harness.clock.advance(0.05)
            self.assertEqual(harness.sent, [])
        self.assertNoResult(done)
        harness.clock.advance(0.5)  # 2.75: at most one slot past the deadline
        self.assertEqual(self.rcodes(harness), [dns.rcode.SERVFAIL])
        self.assertIsNone(self.successResultOf(done))
        self.assertEqual(self.cancelled, chains)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_each_query_gets_its_own_deadline(self) -> None:
        harness, _ = self.hanging(deadline=1.0, slot=0.1)
        first = harness.send(query("a.example."))
        harness.clock.advance(0.55)
        second = harness.send(query("b.example."))
        harness.clock.pump([0.1] * 5)  # 1.05
        self.assertEqual(self.rcodes(harness), [dns.rcode.SERVFAIL])
        self.successResultOf(first)
        self.assertNoResult(second)
        harness.clock.pump([0.1] * 4)  # 1.45
        self.assertEqual(len(self.rcodes(harness)), 1)
        harness.clock.advance(0.2)  # 1.65
        self.assertEqual(self.rcodes(harness), [dns.rcode.SERVFAIL] * 2)
        self.successResultOf(second)

    def test_answered_in_time_gets_one_reply(self) -> None:
        harness, chains = self.hanging(deadline=1.0, slot=0.25)
        done = harness.send(query())
        harness.clock.advance(0.5)
        chains[0].callback(dns.rcode.REFUSED)
        self.successResultOf(done)
        harness.clock.pump([0.25] * 12)  # 3.5 s: well past the deadline
        self.assertEqual(self.rcodes(harness), [dns.rcode.REFUSED])
        self.assertFalse(harness.writers[0].closed)
        self.assertEqual(self.cancelled, [])

    def test_answered_in_time_among_hanging_ones(self) -> None:
        harness, chains = self.hanging(deadline=1.0, slot=0.25)
        harness.send(query("hangs.example."))
        harness.send(query("answered.example."))
        harness.send(query("hangs-too.example."))
        chains[1].callback(dns.rcode.REFUSED)
        harness.clock.pump([0.25] * 8)
        replies = [dns.message.from_wire(data) for data in harness.sent]
        self.assertEqual({str(r.question[0].name): r.rcode() for r in replies}, {
            "hangs.example.": dns.rcode.SERVFAIL,
            "answered.example.": dns.rcode.REFUSED,
            "hangs-too.example.": dns.rcode.SERVFAIL,
        })
        self.assertEqual(len(replies), 3)
        self.assertEqual(self.cancelled, [chains[0], chains[2]])
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_one_timer_for_all_waiting_queries(self) -> None:
        harness, chains = self.hanging()
        for i in range(50):
            harness.send(query(f"q{i}.example."))
        self.assertEqual(len(chains), 50)
        self.assertEqual(len(harness.clock.getDelayedCalls()), 1)

    def test_sweep_stops_when_nothing_waits(self) -> None:
        harness, chains = self.hanging(deadline=5.0, slot=0.5)
        harness.send(query("a.example."))
        harness.send(query("b.example."))
        harness.clock.advance(1.0)
        chains[0].callback(dns.rcode.REFUSED)
        self.assertEqual(len(harness.clock.getDelayedCalls()), 1)
        chains[1].callback(dns.rcode.REFUSED)
        self.assertEqual(harness.clock.getDelayedCalls(), [])
        # and starts again for the next one
        harness.send(query("c.example."))
        self.assertEqual(len(harness.clock.getDelayedCalls()), 1)
        harness.clock.pump([0.5] * 11)
        self.assertEqual(self.rcodes(harness)[-1], dns.rcode.SERVFAIL)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_stop_gives_up_on_waiting_queries(self) -> None:
        harness, chains = self.hanging()
        done = harness.send(query())
        harness.handler.stop()
        self.assertEqual(harness.clock.getDelayedCalls(), [])
        self.assertEqual(harness.sent, [])  # the listener is gone: nothing to send through
        self.assertTrue(harness.writers[0].closed)
        self.assertEqual(self.cancelled, chains)
        self.successResultOf(done)
        harness.clock.advance(10)
        self.assertEqual(harness.sent, [])


class OwnDeadlineTests(unittest.TestCase):
    """A plugin that sets ``request.deadline`` (a long zone transfer) gets that deadline."""

    def long_wait(self, seconds: float) -> tuple[Harness, list]:
        chains: list[defer.Deferred] = []

        def serve(request: Any, writer: Any) -> defer.Deferred:
            request.deadline = seconds
            d: defer.Deferred = defer.Deferred()
            chains.append(d)
            return d

        harness = Harness(Plugin(serve), deadline=2.0)
        harness.handler.deadline_slot = 0.5
        return harness, chains

    def test_outlives_the_server_deadline(self) -> None:
        harness, chains = self.long_wait(30.0)
        done = harness.send(query(), proto="tcp")
        harness.clock.pump([0.5] * 20)  # 10 s: five times the server's deadline
        self.assertEqual(harness.sent, [])
        self.assertFalse(harness.writers[0].closed)
        harness.writers[0].write(dns.message.make_response(query()).to_wire())
        chains[0].callback(dns.rcode.NOERROR)
        self.successResultOf(done)
        self.assertEqual(len(harness.sent), 1)
        self.assertEqual(harness.clock.getDelayedCalls(), [])
        self.assertEqual(harness.handler.waiting, 0)

    def test_servfail_at_its_own_deadline(self) -> None:
        harness, _ = self.long_wait(30.0)
        done = harness.send(query(), proto="tcp")
        harness.clock.advance(29.9)
        self.assertNoResult(done)
        harness.clock.advance(0.1)
        self.assertEqual([dns.message.from_wire(d).rcode() for d in harness.sent],
                         [dns.rcode.SERVFAIL])
        self.successResultOf(done)
        self.assertTrue(harness.writers[0].closed)
        harness.clock.pump([0.5] * 4)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_among_ordinary_queries(self) -> None:
        """An ordinary query behind a long one still gets its SERVFAIL on time."""
        chains: list[defer.Deferred] = []

        def serve(request: Any, writer: Any) -> defer.Deferred:
            if request.qtype == dns.rdatatype.AXFR:
                request.deadline = 60.0
            d: defer.Deferred = defer.Deferred()
            chains.append(d)
            return d

        harness = Harness(Plugin(serve), deadline=2.0)
        harness.handler.deadline_slot = 0.5
        long = harness.send(query(rdtype="AXFR"), proto="tcp")
        short = harness.send(query())
        harness.clock.pump([0.5] * 5)
        self.successResultOf(short)
        self.assertNoResult(long)
        self.assertEqual(harness.handler.waiting, 1)
        harness.handler.stop()
        self.successResultOf(long)
        self.assertEqual(harness.clock.getDelayedCalls(), [])


class DrainTests(unittest.TestCase):
    """``drained()``: what a stopping listener waits on before it closes."""

    hanging = DeadlineSweepTests.hanging
    rcodes = DeadlineSweepTests.rcodes

    def test_nothing_waits(self) -> None:
        harness = Harness(Plugin(answer_a))
        harness.send(query())
        self.assertEqual(harness.handler.waiting, 0)
        self.successResultOf(harness.handler.drained())

    def test_fires_when_the_last_chain_answers(self) -> None:
        harness, chains = self.hanging()
        harness.send(query("a.example."))
        harness.send(query("b.example."))
        self.assertEqual(harness.handler.waiting, 2)
        drained = harness.handler.drained()
        chains[1].callback(dns.rcode.REFUSED)
        self.assertNoResult(drained)
        chains[0].callback(dns.rcode.REFUSED)
        self.successResultOf(drained)
        self.assertEqual(self.rcodes(harness), [dns.rcode.REFUSED] * 2)

    def test_the_deadline_answers_the_rest(self) -> None:
        harness, _ = self.hanging(deadline=2.0, slot=0.5)
        harness.send(query())
        drained = harness.handler.drained()
        harness.clock.pump([0.5] * 3)
        self.assertNoResult(drained)
        harness.clock.advance(0.5)
        self.assertEqual(self.rcodes(harness), [dns.rcode.SERVFAIL])
        self.successResultOf(drained)

    def test_cancelled_waiter_is_forgotten(self) -> None:
        harness, chains = self.hanging()
        harness.send(query())
        drained = harness.handler.drained()
        drained.cancel()
        self.failureResultOf(drained, defer.CancelledError)
        self.assertEqual(harness.handler._drain_waiters, [])
        chains[0].callback(dns.rcode.REFUSED)  # nothing left to fire

    def test_stop_ends_the_drain(self) -> None:
        harness, _ = self.hanging()
        harness.send(query())
        drained = harness.handler.drained()
        harness.handler.stop()
        self.successResultOf(drained)
        self.assertEqual(harness.handler.waiting, 0)
