"""DNS over TCP: length-prefixed messages, pipelined, answered as each completes.

A connection has at most one timer running:

- *read*: from connect, and from the start of a partial message, the rest must arrive within
  ``read_timeout`` (3 s, CoreDNS's default); trickling bytes does not extend it;
- *idle*: with nothing buffered and nothing in flight, the next query must start within
  ``idle_timeout`` (10 s);
- none while queries are in flight: each has its own deadline in the handler.

A slow or hostile client cannot hold much: connections are capped per listener, reading
pauses while ``max_inflight`` queries of a connection are unanswered or while the client does
not read its replies (Twisted's producer flow control), and a stalled connection is aborted,
not politely closed (a polite close would wait for the client to read).

Stopping (see :mod:`twisted_dns.server.listener`): ``stop_reading`` pauses every connection
for good (queries in flight still get their replies), then ``close_all`` closes them,
flushing what was written, and aborts those a client does not let close within a grace time.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns.response import TCPWriter
from twisted_dns.server.handler import QueryHandler

log = Logger(namespace="server")

READ_TIMEOUT = 3.0
IDLE_TIMEOUT = 10.0
MAX_CONNECTIONS = 1000
MAX_INFLIGHT = 128
_HEADER_SIZE = 12


@implementer(IPushProducer)
class DNSStreamProtocol(Protocol):
    """One client connection. It is also the producer of its replies, so a client that stops
    reading them makes it stop reading queries."""

    def __init__(self, factory: DNSStreamFactory) -> None:
        self.factory = factory
        self.handler = factory.handler
        self.client: tuple = ("", 0)
        self.server: tuple = ("", 0)
        self._buf: bytearray | None = None
        self._inflight = 0
        self._timer: Any = None
        self._timer_kind = ""
        self._reading = True
        self._write_blocked = False
        self._lost = False
        #: stopping: never read again, whatever flow control says
        self._draining = False
        self._make_writer: Any = None

    # Connection lifetime

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.factory.connections.add(self)
        transport = self.transport
        peer, host = transport.getPeer(), transport.getHost()
        self.client = (peer.host, peer.port)
        self.server = (host.host, host.port)
        self._make_writer = partial(TCPWriter, transport)
        with contextlib.suppress(AttributeError, OSError):
            transport.setTcpNoDelay(True)  # a reply is one write; do not wait for an ACK
        transport.registerProducer(self, True)
        self._arm("read", self.factory.read_timeout)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        self._lost = True
        self._disarm()
        self.factory.connection_lost(self)

    # IPushProducer: the transport tells us when its write buffer fills and drains

    def pauseProducing(self) -> None:  # noqa: N802
        self._write_blocked = True
        self._update_reading()

    def resumeProducing(self) -> None:  # noqa: N802
        self._write_blocked = False
        self._update_reading()

    def stopProducing(self) -> None:  # noqa: N802
        pass  # the connection is going away; connectionLost cleans up

    # Reading queries

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        buf: Any
        if self._buf:
            self._buf += data
            buf = self._buf
        else:
            buf = data
        n = len(buf)
        off = 0
        handled = False
        while n - off >= 2:
            end = off + 2 + ((buf[off] << 8) | buf[off + 1])
            if end > n:
                break
            if end - off - 2 < _HEADER_SIZE:
                # no header: nothing to answer, and the stream cannot be trusted (miekg/dns)
                self.transport.loseConnection()
                self._buf = None
                return
            message = bytes(buf[off + 2:end]) if buf is self._buf else buf[off + 2:end]
            off = end
            handled = True
            self._query(message)
            if self._lost:
                return
        if off == n:
            self._buf = None
        elif buf is data:
            self._buf = bytearray(data[off:])
        elif off:
            del buf[:off]
        self._schedule(restart_read=handled)

    def _query(self, message: bytes) -> None:
        try:
            done = self.handler.handle(message, self.client, self.server, "tcp",
                                       self._make_writer)
        except Exception:
            log.failure("TCP query from {client} not handled", client=self.client)
            return
        if done is not None:
            self._inflight += 1
            done.addBoth(self._answered)
            if self._inflight >= self.factory.max_inflight:
                self._update_reading()

    def _answered(self, _: Any) -> None:
        self._inflight -= 1
        if not self._lost:
            self._update_reading()
            self._schedule(restart_read=False)

    # Flow control and timers

    def stop_reading(self) -> None:
        """Read no more queries; the ones in flight are still answered."""
        self._draining = True
        self._update_reading()

    def close(self) -> None:
        """Close once the replies already written are sent (no producer may hold it open)."""
        if self._lost:
            return
        self._draining = True
        transport = self.transport
        if transport.producer is not None:
            transport.unregisterProducer()
        transport.loseConnection()

    def _update_reading(self) -> None:
        want = (not self._write_blocked and self._inflight < self.factory.max_inflight
                and not self._draining)
        if want != self._reading and not self._lost:
            self._reading = want
            if want:
                self.transport.resumeProducing()
            else:
                self.transport.pauseProducing()

    def _schedule(self, restart_read: bool) -> None:
        """Pick the timer for the connection's state (see the module docstring)."""
        if self._buf:
            if restart_read or self._timer_kind != "read":
                self._arm("read", self.factory.read_timeout)
        elif self._inflight:
            self._disarm()
        elif restart_read or self._timer_kind != "idle":
            self._arm("idle", self.factory.idle_timeout)

    def _arm(self, kind: str, seconds: float) -> None:
        timer = self._timer
        if timer is not None and timer.active():
            if self._timer_kind == kind:
                timer.reset(seconds)
                return
            timer.cancel()
        self._timer_kind = kind
        self._timer = self.factory.reactor.callLater(seconds, self._timed_out)

    def _disarm(self) -> None:
        timer = self._timer
        if timer is not None and timer.active():
            timer.cancel()
        self._timer = None
        self._timer_kind = ""

    def _timed_out(self) -> None:
        self._timer = None
        kind, self._timer_kind = self._timer_kind, ""
        if self._write_blocked or kind == "read":
            self.transport.abortConnection()  # a stalled client: do not wait for it
        else:
            self.transport.loseConnection()


class DNSStreamFactory(Factory):
    """Makes a protocol per connection, up to ``max_connections`` at once."""

    def __init__(self, handler: QueryHandler, reactor: Any, *,
                 read_timeout: float = READ_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS,
                 max_inflight: int = MAX_INFLIGHT) -> None:
        self.handler = handler
        self.reactor = reactor
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_inflight = max_inflight
        self.connections: set[DNSStreamProtocol] = set()
        #: stopping: no new connection, none of the open ones reads
        self.draining = False
        self._waiters: list[defer.Deferred] = []

    def buildProtocol(self, addr: Any) -> DNSStreamProtocol | None:  # noqa: N802
        # Twisted calls connectionMade right after this, so ``connections`` is up to date
        if self.draining or len(self.connections) >= self.max_connections:
            log.debug("refusing TCP connection from {addr}: {n} open", addr=addr,
                      n=len(self.connections))
            return None  # Twisted closes the socket at once
        return DNSStreamProtocol(self)

    def connection_lost(self, protocol: DNSStreamProtocol) -> None:
        self.connections.discard(protocol)
        if not self.connections and self._waiters:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)

    def stop_reading(self) -> None:
        """Accept no connection and read no query any more; replies can still be written."""
        self.draining = True
        for protocol in self.connections:
            protocol.stop_reading()

    def close_all(self, grace: float = 0.0) -> defer.Deferred:
        """Close every open connection; fires once all of them are gone.

        Without ``grace`` they are aborted at once. With it, what was written is sent first,
        and the connections still open ``grace`` seconds later (a client that does not read)
        are aborted.
        """
        if not self.connections:
            return defer.succeed(None)
        d: defer.Deferred = defer.Deferred()
        self._waiters.append(d)
        if grace <= 0:
            self._abort_all()
            return d
        for protocol in list(self.connections):
            protocol.close()
        if self.connections:
            timer = self.reactor.callLater(grace, self._abort_all)

            def closed(result: Any) -> Any:
                if timer.active():
                    timer.cancel()
                return result

            d.addBoth(closed)
        return d

    def _abort_all(self) -> None:
        for protocol in list(self.connections):
            protocol.transport.abortConnection()
