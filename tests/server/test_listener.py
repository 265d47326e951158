"""Listeners on real sockets (127.0.0.1, OS-chosen ports), queried with dnspython from threads.

The server runs in the test's reactor, so every blocking client call goes through
``deferToThread``; closes are observed by a blocking ``recv`` returning, never by sleeping.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset
from twisted.internet import defer, reactor, task
from twisted.internet.threads import deferToThread
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial import unittest

from tests.server import Plugin, block
from twisted_dns.errors import ConfigError
from twisted_dns.response import CaptureWriter
from twisted_dns.server.listener import DRAIN_MARGIN, Listener
from twisted_dns.server.routing import ZoneRouter
from twisted_dns.server.sockets import ListenError

TIMEOUT = 5.0


def serve(request: Any, writer: Any) -> int:
    """TXT "<client host> <proto>"; under big.: 100 A records; under slow.: never answers."""
    if request.qname_lower.startswith("slow."):
        return defer.Deferred()
    reply = dns.message.make_response(request.message())
    if request.qname_lower.startswith("big."):
        for i in range(100):
            reply.answer.append(dns.rrset.from_text(f"h{i}.big.example.", 60, "IN", "A",
                                                    f"10.0.0.{i}"))
    else:
        reply.answer.append(dns.rrset.from_text(request.qname, 0, "IN", "TXT",
                                                f'"{request.client_host} {request.proto}"'))
    writer.write(reply)
    return dns.rcode.NOERROR


def txt(reply: dns.message.Message) -> str:
    return b" ".join(reply.answer[0][0].strings).decode()


def frame(message: dns.message.Message) -> bytes:
    data = message.to_wire()
    return struct.pack("!H", len(data)) + data


def read_frame(sock: socket.socket) -> dns.message.Message | None:
    """One length-prefixed reply, or None when the server closed the connection."""
    header = _read_exactly(sock, 2)
    if header is None:
        return None
    body = _read_exactly(sock, struct.unpack("!H", header)[0])
    return None if body is None else dns.message.from_wire(body)


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def tcp_connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    sock.settimeout(TIMEOUT)
    return sock


class ListenerTestCase(unittest.TestCase):
    def start(self, host: str = "127.0.0.1", **options: Any) -> Listener:
        self.plugin = Plugin(serve, name="test")
        router = ZoneRouter([(".", block(self.plugin))])
        listener = Listener("dns", host, 0, router, reactor=reactor, **options)
        listener.startService()
        self.addCleanup(listener.stopService)
        self.assertNotEqual(listener.port, 0)
        return listener

    def udp(self, message: dns.message.Message, port: int, host: str = "127.0.0.1",
            **kwargs: Any) -> defer.Deferred:
        return deferToThread(dns.query.udp, message, host, port=port, timeout=TIMEOUT, **kwargs)

    def tcp(self, message: dns.message.Message, port: int,
            host: str = "127.0.0.1") -> defer.Deferred:
        return deferToThread(dns.query.tcp, message, host, port=port, timeout=TIMEOUT)


class QueryTests(ListenerTestCase):
    @defer.inlineCallbacks
    def test_udp_and_tcp_on_one_port(self):
        listener = self.start()
        q = dns.message.make_query("who.example.", "TXT")
        reply = yield self.udp(q, listener.port)
        self.assertEqual(txt(reply), "127.0.0.1 udp")
        reply = yield self.tcp(q, listener.port)
        self.assertEqual(txt(reply), "127.0.0.1 tcp")
        request = self.plugin.requests[0]
        self.assertEqual(request.server, ("127.0.0.1", listener.port))

    @defer.inlineCallbacks
    def test_all_addresses_dual_stack(self):
        listener = self.start(host="")
        q = dns.message.make_query("who.example.", "TXT")
        reply = yield self.udp(q, listener.port)
        self.assertEqual(txt(reply), "127.0.0.1 udp")  # ::ffff:127.0.0.1 normalised
        reply = yield self.tcp(q, listener.port)
        self.assertEqual(txt(reply), "127.0.0.1 tcp")
        if socket.has_ipv6 and self.plugin.requests[0].client[0].startswith("::ffff:"):
            try:
                reply = yield self.udp(q, listener.port, host="::1")
            except OSError as e:  # no IPv6 loopback on this machine
                raise unittest.SkipTest(f"no ::1: {e}") from None
            self.assertEqual(txt(reply), "::1 udp")

    @defer.inlineCallbacks
    def test_junk_datagrams_then_a_query(self):
        listener = self.start()

        def junk_then_query() -> dns.message.Message:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(TIMEOUT)
                address = ("127.0.0.1", listener.port)
                sock.sendto(b"", address)
                sock.sendto(b"\x01\x02\x03", address)
                sock.sendto(b"\xff" * 700, address)  # QR set: a "response", ignored
                sock.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x05\x07abc",
                            address)  # garbled body: FORMERR
                formerr = dns.message.from_wire(sock.recv(65535))
                assert (formerr.id, formerr.rcode()) == (0x1234, dns.rcode.FORMERR), formerr
                q = dns.message.make_query("after.example.", "TXT")
                sock.sendto(q.to_wire(), address)
                return dns.message.from_wire(sock.recv(65535))

        reply = yield deferToThread(junk_then_query)
        self.assertEqual(txt(reply), "127.0.0.1 udp")

    @defer.inlineCallbacks
    def test_large_reply_truncated_then_full_over_tcp(self):
        listener = self.start()
        q = dns.message.make_query("big.example.", "A")
        reply = yield self.udp(q, listener.port)
        self.assertTrue(reply.flags & dns.flags.TC)
        self.assertLessEqual(len(reply.to_wire()), 512)
        self.assertEqual(reply.question, q.question)
        rrs = [rr for rrset in reply.answer for rr in rrset]
        self.assertLess(len(rrs), 100)
        reply, used_tcp = yield deferToThread(dns.query.udp_with_fallback, q, "127.0.0.1",
                                              port=listener.port, timeout=TIMEOUT)
        self.assertTrue(used_tcp)
        self.assertFalse(reply.flags & dns.flags.TC)
        self.assertEqual(sum(len(rrset) for rrset in reply.answer), 100)

    @defer.inlineCallbacks
    def test_edns_size_honoured(self):
        listener = self.start()
        q = dns.message.make_query("big.example.", "A", use_edns=0, payload=1232)
        reply = yield self.udp(q, listener.port)
        self.assertEqual(reply.payload, 1232)  # the client's, echoed (CoreDNS's SizeAndDo)
        self.assertLessEqual(len(reply.to_wire()), 1232)
        self.assertGreater(len(reply.to_wire()), 512)
        q = dns.message.make_query("big.example.", "A", use_edns=0, payload=4096)
        reply = yield self.udp(q, listener.port)
        self.assertEqual(reply.payload, 4096)
        self.assertGreater(len(reply.to_wire()), 1232)

    @defer.inlineCallbacks
    def test_deadline_servfail(self):
        listener = self.start(deadline=0.2)
        q = dns.message.make_query("slow.example.", "A")
        reply = yield self.udp(q, listener.port)
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)


class TCPTests(ListenerTestCase):
    @defer.inlineCallbacks
    def test_pipelined(self):
        listener = self.start()

        def pipelined() -> list[dns.message.Message | None]:
            queries = [dns.message.make_query(f"q{i}.example.", "TXT") for i in range(8)]
            with tcp_connect(listener.port) as sock:
                sock.sendall(b"".join(frame(q) for q in queries))
                return [read_frame(sock) for _ in queries], queries

        replies, queries = yield deferToThread(pipelined)
        self.assertEqual(sorted(r.id for r in replies), sorted(q.id for q in queries))
        for reply in replies:
            self.assertEqual(txt(reply), "127.0.0.1 tcp")

    @defer.inlineCallbacks
    def test_truncated_frames_do_not_hurt(self):
        listener = self.start()

        def truncated() -> None:
            data = frame(dns.message.make_query("cut.example.", "A"))
            for cut in (1, 2, 5, len(data) - 1):
                with tcp_connect(listener.port) as sock:
                    sock.sendall(data[:cut])
            with tcp_connect(listener.port) as sock:  # a frame announcing more than it sends
                sock.sendall(b"\xff\xff" + data[2:])

        yield deferToThread(truncated)
        reply = yield self.tcp(dns.message.make_query("ok.example.", "TXT"), listener.port)
        self.assertEqual(txt(reply), "127.0.0.1 tcp")

    @defer.inlineCallbacks
    def test_partial_frame_read_timeout(self):
        listener = self.start(read_timeout=0.2)

        def stall() -> dns.message.Message | None:
            with tcp_connect(listener.port) as sock:
                sock.sendall(frame(dns.message.make_query("a.example.", "A"))[:7])
                return read_frame(sock)  # returns when the server gives up on us

        self.assertIsNone((yield deferToThread(stall)))

    @defer.inlineCallbacks
    def test_idle_connection_closed(self):
        listener = self.start(idle_timeout=0.2)

        def idle() -> tuple[Any, Any]:
            with tcp_connect(listener.port) as sock:
                sock.sendall(frame(dns.message.make_query("a.example.", "TXT")))
                first = read_frame(sock)
                return first, read_frame(sock)

        first, closed = yield deferToThread(idle)
        self.assertEqual(txt(first), "127.0.0.1 tcp")
        self.assertIsNone(closed)
        self.assertEqual(len(listener.factory.connections), 0)

    @defer.inlineCallbacks
    def test_connection_cap(self):
        listener = self.start(max_connections=2)

        def over_the_cap() -> tuple[Any, Any]:
            held = [tcp_connect(listener.port) for _ in range(2)]
            try:
                q = dns.message.make_query("held.example.", "TXT")
                for sock in held:  # both accepted and served
                    sock.sendall(frame(q))
                    assert read_frame(sock) is not None
                with tcp_connect(listener.port) as third:
                    with contextlib.suppress(OSError):  # may already be closed
                        third.sendall(frame(q))
                    refused = read_frame(third)
                held[0].sendall(frame(q))
                still = read_frame(held[0])
                return refused, still
            finally:
                for sock in held:
                    sock.close()

        refused, still = yield deferToThread(over_the_cap)
        self.assertIsNone(refused)
        self.assertIsNotNone(still)


class LifecycleTests(unittest.TestCase):
    def test_unsupported_scheme(self) -> None:
        with self.assertRaises(ConfigError) as caught:
            Listener("tls", "", 853, ZoneRouter([]))
        self.assertEqual(str(caught.exception), "scheme tls:// is not supported yet")

    def test_port_in_use(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen(1)
            port = blocker.getsockname()[1]
            listener = Listener("dns", "127.0.0.1", port, ZoneRouter([]), reactor=reactor)
            with self.assertRaises(ListenError) as caught:
                listener.startService()
        message = str(caught.exception)
        self.assertIn(f"127.0.0.1:{port}", message)
        self.assertIn("in use", message)
        self.assertNotIn("\n", message)
        self.assertIsInstance(caught.exception, ConfigError)

    def test_not_an_address(self) -> None:
        listener = Listener("dns", "localhost.example", 0, ZoneRouter([]), reactor=reactor)
        self.assertRaises(ListenError, listener.startService)

    @defer.inlineCallbacks
    def test_stop_frees_the_port(self):
        listener = Listener("dns", "127.0.0.1", 0, ZoneRouter([]), reactor=reactor)
        listener.startService()
        port = listener.port
        held = yield deferToThread(tcp_connect, port)
        self.addCleanup(held.close)
        self.assertTrue(listener.running)
        yield listener.stopService()
        self.assertFalse(listener.running)
        self.assertEqual(len(listener.factory.connections), 0)
        again = Listener("dns", "127.0.0.1", port, ZoneRouter([]), reactor=reactor,
                         reuseport=False)
        again.startService()
        self.assertEqual(again.port, port)
        yield again.stopService()

    @defer.inlineCallbacks
    def test_router_swap(self):
        listener = Listener("dns", "127.0.0.1", 0, ZoneRouter([]), reactor=reactor)
        listener.startService()
        self.addCleanup(listener.stopService)
        q = dns.message.make_query("who.example.", "TXT")
        reply = yield deferToThread(dns.query.udp, q, "127.0.0.1", port=listener.port,
                                    timeout=TIMEOUT)
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        listener.router = ZoneRouter([(".", block(Plugin(serve)))])
        reply = yield deferToThread(dns.query.udp, q, "127.0.0.1", port=listener.port,
                                    timeout=TIMEOUT)
        self.assertEqual(txt(reply), "127.0.0.1 udp")


class DrainTests(ListenerTestCase):
    """stopService stops reading, answers the queries it holds, then closes."""

    def start_holding(self, **options: Any) -> Listener:
        """A listener whose plugin holds ``hold.`` queries in ``self.held`` until the test
        answers them; ``self.arrived`` fires at the first."""
        self.held: list[tuple[Any, Any, defer.Deferred]] = []
        self.arrived: defer.Deferred = defer.Deferred()

        def hold(request: Any, writer: Any) -> Any:
            if not request.qname_lower.startswith("hold."):
                return serve(request, writer)
            d: defer.Deferred = defer.Deferred()
            self.held.append((request, writer, d))
            if len(self.held) == 1:  # once the handler has queued it, not from inside
                reactor.callLater(0, self.arrived.callback, None)
            return d

        listener = self.start(**options)
        self.plugin.serve = hold
        self.logged: list[str] = []

        def observe(event: dict) -> None:
            if event.get("log_namespace") == "server":
                self.logged.append(formatEvent(event))

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        return listener

    def release(self) -> None:
        """Answer every held query: TXT "released"."""
        for request, writer, d in self.held:
            reply = dns.message.make_response(request.message())
            reply.answer.append(dns.rrset.from_text(request.qname, 0, "IN", "TXT", "released"))
            writer.write(reply)
            d.callback(dns.rcode.NOERROR)

    @defer.inlineCallbacks
    def test_udp_query_in_flight_is_answered(self):
        listener = self.start_holding()
        asked = self.udp(dns.message.make_query("hold.example.", "TXT"), listener.port)
        yield self.arrived
        stopping = listener.stopService()
        self.assertEqual(self.logged[-1],
                         f"draining 1 in-flight queries on dns://127.0.0.1:{listener.port}")
        # taken after the drain started: never read, so never answered
        late = dns.message.make_query("late.example.", "TXT")
        with self.assertRaises(dns.exception.Timeout):
            yield deferToThread(dns.query.udp, late, "127.0.0.1", port=listener.port,
                                timeout=0.3)
        self.assertNoResult(stopping)
        self.release()
        reply = yield asked
        self.assertEqual(txt(reply), "released")
        yield stopping
        self.assertEqual(len(self.plugin.requests), 1)
        self.assertFalse(listener.running)

    @defer.inlineCallbacks
    def test_tcp_query_in_flight_is_answered(self):
        listener = self.start_holding()
        sock = yield deferToThread(tcp_connect, listener.port)
        self.addCleanup(sock.close)
        sock.sendall(frame(dns.message.make_query("hold.example.", "TXT")))
        yield self.arrived
        stopping = listener.stopService()

        def new_connection() -> Any:
            """Refused, or accepted by the kernel and then closed: never answered."""
            try:
                with tcp_connect(listener.port) as other:
                    other.sendall(frame(dns.message.make_query("late.example.", "TXT")))
                    return read_frame(other)
            except OSError as exc:
                return exc

        late = yield deferToThread(new_connection)
        self.assertTrue(late is None or isinstance(late, ConnectionError), late)
        # a new query on the open connection is not read either
        sock.sendall(frame(dns.message.make_query("later.example.", "TXT")))
        self.assertNoResult(stopping)
        self.release()
        reply = yield deferToThread(read_frame, sock)
        self.assertEqual(txt(reply), "released")
        self.assertIsNone((yield deferToThread(read_frame, sock)))  # then closed
        yield stopping
        self.assertEqual(len(self.plugin.requests), 1)
        self.assertEqual(len(listener.factory.connections), 0)

    @defer.inlineCallbacks
    def test_unanswered_query_gets_servfail_at_its_deadline_then_closes(self):
        listener = self.start_holding(deadline=0.5)
        asked = self.udp(dns.message.make_query("hold.example.", "TXT"), listener.port)
        yield self.arrived
        stopping = listener.stopService()
        reply = yield asked
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        yield stopping
        self.assertEqual(listener.handler.waiting, 0)
        self.assertEqual([call for call in reactor.getDelayedCalls()
                          if call.func == listener.handler._sweep], [])

    @defer.inlineCallbacks
    def test_nothing_in_flight_closes_at_once(self):
        listener = self.start_holding()
        reply = yield self.udp(dns.message.make_query("who.example.", "TXT"), listener.port)
        self.assertEqual(txt(reply), "127.0.0.1 udp")
        yield listener.stopService()
        self.assertFalse([line for line in self.logged if line.startswith("draining")])


class ClockDrainTests(unittest.TestCase):
    """The drain's timing, driven by task.Clock: no sockets, queries fed to the handler."""

    def listener(self, deadline: float) -> tuple[Listener, task.Clock, list]:
        clock = task.Clock()
        listener = Listener("dns", "127.0.0.1", 0, ZoneRouter([(".", block(Plugin(
            lambda request, writer: defer.Deferred())))]), reactor=clock, deadline=deadline)
        writers: list[CaptureWriter] = []

        def make_writer(request: Any) -> CaptureWriter:
            writers.append(CaptureWriter(request))
            return writers[-1]

        q = dns.message.make_query("hang.example.", "A").to_wire()
        listener.handler.handle(q, ("127.0.0.1", 1), ("127.0.0.1", 53), "udp", make_writer)
        return listener, clock, writers

    def test_bounded_by_the_deadline(self) -> None:
        listener, clock, writers = self.listener(deadline=3.0)
        stopping = listener.stopService()
        clock.advance(2.9)
        self.assertNoResult(stopping)
        clock.pump([0.1] * 2)
        self.successResultOf(stopping)
        [reply] = writers[0].sent
        self.assertEqual(dns.message.from_wire(reply).rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_safety_net(self) -> None:
        """Should the sweep not answer in time, the listener closes anyway, a margin later."""
        listener, clock, writers = self.listener(deadline=60.0)
        listener.handler.deadline = 1.0  # the waiting query keeps its 60 s deadline
        stopping = listener.stopService()
        clock.advance(1.0 + listener.handler.deadline_slot + DRAIN_MARGIN)
        self.successResultOf(stopping)
        self.assertEqual(writers[0].sent, [])  # given up, as a closed listener must
        self.assertTrue(writers[0].closed)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stop_twice_waits_for_the_same_close(self) -> None:
        listener, clock, _ = self.listener(deadline=1.0)
        first, second = listener.stopService(), listener.stopService()
        self.assertNoResult(second)
        clock.advance(1.0)
        self.successResultOf(first)
        self.successResultOf(second)
