"""The TCP protocol: framing, pipelining, timeouts and flow control, on a fake transport."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rcode
from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from tests.server import Plugin, block
from twisted_dns import wire
from twisted_dns.server.handler import QueryHandler
from twisted_dns.server.routing import ZoneRouter
from twisted_dns.server.tcp import DNSStreamFactory, DNSStreamProtocol


def frame(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def unframe(data: bytes) -> list[dns.message.Message]:
    out = []
    while data:
        length = int.from_bytes(data[:2], "big")
        out.append(dns.message.from_wire(data[2:2 + length]))
        data = data[2 + length:]
    return out


def query(name: str = "example.org.", msg_id: int | None = None) -> bytes:
    message = dns.message.make_query(name, "A")
    if msg_id is not None:
        message.id = msg_id
    return message.to_wire()


def refuse(request: Any, writer: Any) -> int:
    writer.write(wire.reply(request, rcode=dns.rcode.REFUSED))
    return dns.rcode.REFUSED


class Connection:
    """A factory over a handler, and one connection on a StringTransport."""

    def __init__(self, serve: Any = refuse, **options: Any) -> None:
        self.clock = task.Clock()
        self.plugin = Plugin(serve)
        handler = QueryHandler(ZoneRouter([(".", block(self.plugin))]), self.clock)
        options.setdefault("read_timeout", 3.0)
        options.setdefault("idle_timeout", 10.0)
        self.factory = DNSStreamFactory(handler, self.clock, **options)
        self.protocol, self.transport = self.connect()

    def connect(self) -> tuple[DNSStreamProtocol, StringTransport]:
        peer = IPv4Address("TCP", "192.0.2.9", 5555)
        protocol = self.factory.buildProtocol(peer)
        transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 53),
                                    peerAddress=peer)
        protocol.makeConnection(transport)
        return protocol, transport

    def replies(self) -> list[dns.message.Message]:
        return unframe(self.transport.value())

    def lose(self) -> None:
        self.protocol.connectionLost(None)


class FramingTests(unittest.TestCase):
    def test_one_query(self) -> None:
        conn = Connection()
        data = query(msg_id=7)
        conn.protocol.dataReceived(frame(data))
        [reply] = conn.replies()
        self.assertEqual((reply.id, reply.rcode()), (7, dns.rcode.REFUSED))
        request = conn.plugin.requests[0]
        self.assertEqual((request.proto, request.client, request.server, request.max_size),
                         ("tcp", ("192.0.2.9", 5555), ("127.0.0.1", 53), 65535))

    def test_split_across_reads(self) -> None:
        conn = Connection()
        data = frame(query(msg_id=8))
        for i in range(len(data)):
            conn.protocol.dataReceived(data[i:i + 1])
        self.assertEqual([r.id for r in conn.replies()], [8])

    def test_pipelined_in_one_read(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(b"".join(frame(query(msg_id=i)) for i in range(10)))
        self.assertEqual([r.id for r in conn.replies()], list(range(10)))

    def test_pipelined_across_reads(self) -> None:
        conn = Connection()
        data = b"".join(frame(query(msg_id=i)) for i in range(5))
        conn.protocol.dataReceived(data[:30])
        conn.protocol.dataReceived(data[30:61])
        conn.protocol.dataReceived(data[61:])
        self.assertEqual([r.id for r in conn.replies()], list(range(5)))

    def test_answered_as_each_completes(self) -> None:
        pending: dict[int, tuple] = {}

        def later(request: Any, writer: Any) -> defer.Deferred:
            d: defer.Deferred = defer.Deferred()
            pending[request.id] = (request, writer, d)
            return d

        conn = Connection(later)
        conn.protocol.dataReceived(frame(query(msg_id=1)) + frame(query(msg_id=2)))
        for msg_id in (2, 1):
            request, writer, d = pending[msg_id]
            refuse(request, writer)
            d.callback(dns.rcode.REFUSED)
        self.assertEqual([r.id for r in conn.replies()], [2, 1])

    def test_short_frame_closes(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(frame(b"\x00" * 5) + frame(query()))
        self.assertTrue(conn.transport.disconnecting)
        self.assertEqual(conn.transport.value(), b"")

    def test_garbled_message_answered_formerr(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(frame(query(msg_id=9)[:15]))
        [reply] = conn.replies()
        self.assertEqual((reply.id, reply.rcode()), (9, dns.rcode.FORMERR))
        self.assertFalse(conn.transport.disconnecting)

    def test_largest_message(self) -> None:
        conn = Connection()
        data = query(msg_id=10)
        padded = data + b"\x00" * (65535 - len(data))  # trailing bytes are tolerated
        conn.protocol.dataReceived(frame(padded))
        self.assertEqual([r.id for r in conn.replies()], [10])


class TimeoutTests(unittest.TestCase):
    def test_nothing_sent_read_timeout(self) -> None:
        conn = Connection()
        conn.clock.advance(2.9)
        self.assertFalse(conn.transport.disconnecting)
        conn.clock.advance(0.1)
        self.assertTrue(conn.transport.disconnecting)

    def test_partial_frame_read_timeout_not_extended_by_trickling(self) -> None:
        conn = Connection()
        data = frame(query())
        conn.protocol.dataReceived(data[:3])
        for i in range(3, 8):
            conn.clock.advance(0.5)
            conn.protocol.dataReceived(data[i:i + 1])
        conn.clock.advance(0.5)
        self.assertTrue(conn.transport.disconnecting)
        self.assertTrue(conn.transport.disconnected)

    def test_idle_timeout_between_queries(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(frame(query()))
        conn.clock.advance(9.0)
        conn.protocol.dataReceived(frame(query()))
        conn.clock.advance(9.9)
        self.assertFalse(conn.transport.disconnecting)
        conn.clock.advance(0.1)
        self.assertTrue(conn.transport.disconnecting)
        self.assertFalse(conn.transport.disconnected)
        self.assertEqual(len(conn.replies()), 2)

    def test_no_idle_timeout_while_in_flight(self) -> None:
        d: defer.Deferred = defer.Deferred()
        conn = Connection(lambda r, w: d)
        conn.factory.handler.deadline = 60.0
        conn.protocol.dataReceived(frame(query()))
        conn.clock.advance(30)
        self.assertFalse(conn.transport.disconnecting)
        d.callback(dns.rcode.SERVFAIL)
        self.assertEqual(len(conn.replies()), 1)
        conn.clock.advance(10)
        self.assertTrue(conn.transport.disconnecting)

    def test_timers_cancelled_on_close(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(frame(query()))
        conn.lose()
        self.assertEqual(conn.clock.getDelayedCalls(), [])


class FlowControlTests(unittest.TestCase):
    def test_reading_paused_at_max_inflight(self) -> None:
        waiting: list[defer.Deferred] = []

        def later(request: Any, writer: Any) -> defer.Deferred:
            d: defer.Deferred = defer.Deferred()
            waiting.append(d)
            return d

        conn = Connection(later, max_inflight=2)
        conn.protocol.dataReceived(frame(query()))
        self.assertEqual(conn.transport.producerState, "producing")
        conn.protocol.dataReceived(frame(query()))
        self.assertEqual(conn.transport.producerState, "paused")
        waiting[0].callback(dns.rcode.SERVFAIL)
        self.assertEqual(conn.transport.producerState, "producing")

    def test_client_not_reading_pauses_us(self) -> None:
        conn = Connection()
        self.assertIs(conn.transport.producer, conn.protocol)
        conn.protocol.pauseProducing()  # the transport's buffer is full
        self.assertEqual(conn.transport.producerState, "paused")
        conn.protocol.resumeProducing()
        self.assertEqual(conn.transport.producerState, "producing")

    def test_stalled_client_aborted_on_idle(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(frame(query()))
        conn.protocol.pauseProducing()
        conn.clock.advance(10)
        self.assertTrue(conn.transport.disconnected)


class FactoryTests(unittest.TestCase):
    def test_connection_cap(self) -> None:
        conn = Connection(max_connections=2)
        second, _ = conn.connect()
        self.assertEqual(len(conn.factory.connections), 2)
        self.assertIsNone(conn.factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1)))
        second.connectionLost(None)
        self.assertIsNotNone(conn.factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1)))

    def test_close_all(self) -> None:
        conn = Connection()
        done = conn.factory.close_all()
        self.assertTrue(conn.transport.disconnected)
        self.assertNoResult(done)
        conn.lose()
        self.successResultOf(done)
        self.successResultOf(conn.factory.close_all())


class DrainTests(unittest.TestCase):
    """Stopping: read nothing more, still answer what was read, then close politely."""

    def held(self, **options: Any) -> tuple[Connection, list]:
        waiting: list[tuple[Any, Any, defer.Deferred]] = []

        def later(request: Any, writer: Any) -> defer.Deferred:
            d: defer.Deferred = defer.Deferred()
            waiting.append((request, writer, d))
            return d

        return Connection(later, **options), waiting

    def test_stop_reading_keeps_writing(self) -> None:
        conn, waiting = self.held()
        conn.protocol.dataReceived(frame(query(msg_id=1)))
        conn.factory.stop_reading()
        self.assertEqual(conn.transport.producerState, "paused")
        conn.protocol.pauseProducing()  # flow control comes and goes: still not reading
        conn.protocol.resumeProducing()
        self.assertEqual(conn.transport.producerState, "paused")
        request, writer, d = waiting[0]
        refuse(request, writer)
        d.callback(dns.rcode.REFUSED)
        self.assertEqual([r.id for r in conn.replies()], [1])
        self.assertEqual(conn.transport.producerState, "paused")
        self.assertFalse(conn.transport.disconnecting)

    def test_no_new_connection_while_draining(self) -> None:
        conn = Connection()
        conn.factory.stop_reading()
        self.assertIsNone(conn.factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1)))

    def test_close_all_with_grace_flushes_then_aborts_the_stalled(self) -> None:
        conn = Connection()
        conn.protocol.dataReceived(frame(query(msg_id=3)))
        stalled, stalled_transport = conn.connect()
        stalled.pauseProducing()  # its client does not read
        conn.factory.stop_reading()
        done = conn.factory.close_all(grace=1.0)
        for transport in (conn.transport, stalled_transport):
            self.assertTrue(transport.disconnecting)  # a polite close, flushing first
            self.assertFalse(transport.disconnected)
            self.assertIsNone(transport.producer)  # or a paused producer holds it open
        self.assertEqual([r.id for r in conn.replies()], [3])
        conn.lose()
        self.assertNoResult(done)
        conn.clock.advance(1.0)
        self.assertTrue(stalled_transport.disconnected)  # aborted
        stalled.connectionLost(None)
        self.successResultOf(done)
        self.assertEqual(conn.clock.getDelayedCalls(), [])

    def test_close_all_with_grace_cancels_its_timer(self) -> None:
        conn = Connection()
        done = conn.factory.close_all(grace=1.0)
        conn.lose()
        self.successResultOf(done)
        self.assertEqual(conn.clock.getDelayedCalls(), [])
