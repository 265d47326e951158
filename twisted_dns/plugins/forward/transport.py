"""Sockets to one upstream: a UDP channel and a pool of TCP (or TLS) connections.

Theory of operation
-------------------
A query goes out as ``ID + rest``: ``rest`` is the client's message after its ID, relayed
byte for byte; the ID is chosen per socket (random, not in flight there). Each socket keeps a
table ``ID -> (waiter, question)``; a reply is taken only when its ID is in flight, its QR bit
is set and its question equals the one sent (case-insensitively; a reply without a question is
passed on so the caller can answer FORMERR, as CoreDNS). Anything else is dropped: a late,
duplicate or spoofed datagram cannot answer a query.

A *waiter* is any object with ``answered(data)`` and ``failed(reason)``; exactly one of them is
called, once. Timeouts do not cost a ``DelayedCall`` per query: :class:`Timeouts` files each
deadline in a 0.1 s slot and one timer walks the slots.

UDP uses one connected socket per upstream (the kernel then drops datagrams from other
addresses, and an ICMP port-unreachable comes back as ``connectionRefused``, which fails every
query in flight on that socket at once). TCP and TLS connections are kept open and pipelined
(many queries in flight on one connection, matched by ID); an idle connection is closed after
``expire``. A query lost with a connection that had served earlier queries (the upstream
closed an idle connection under us) is sent again once on a fresh connection.
"""

from __future__ import annotations

import errno
import random
import socket
import struct
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import error, protocol, udp
from twisted.internet.interfaces import IHalfCloseableDescriptor
from twisted.logger import Logger
from zope.interface import implementer

log = Logger(namespace="forward")

#: a busy upstream gets a new TCP/TLS connection per query until it has this many; after
#: that, queries share (pipeline on) the least busy one
MAX_CONNECTIONS = 16
#: ... up to this many queries at once on one connection, and then again a new connection
MAX_PIPELINE = 100

_getrandbits = random.getrandbits
_LENGTH = struct.Struct("!H")


class Waiter(Protocol):
    """Who hears the outcome of one query sent upstream: exactly one call, once."""

    def answered(self, data: bytes) -> None: ...

    def failed(self, reason: Exception) -> None: ...


class UpstreamTimeout(error.TimeoutError):
    """No reply from the upstream within the query's time."""


class Timeouts:
    """Deadlines in ``resolution``-second slots; ``expire(key)`` runs once a slot is due.

    An entry is ``(owner, key)``; ``owner.expire(key)`` must ignore keys that were answered
    meanwhile. Adding costs a dict lookup and a list append.
    """

    def __init__(self, reactor: Any, resolution: float = 0.1) -> None:
        self.reactor = reactor
        self.resolution = resolution
        self.slots: dict[int, list[tuple[Any, Any]]] = {}
        self._timer: Any = None

    def add(self, deadline: float, owner: Any, key: Any) -> None:
        slot = int(deadline / self.resolution) + 1
        bucket = self.slots.get(slot)
        if bucket is None:
            self.slots[slot] = [(owner, key)]
            if self._timer is None:
                self._timer = self.reactor.callLater(self.resolution, self._tick)
        else:
            bucket.append((owner, key))

    def _tick(self) -> None:
        self._timer = None
        now = int(self.reactor.seconds() / self.resolution)
        for slot in sorted(slot for slot in self.slots if slot <= now):
            for owner, key in self.slots.pop(slot):
                try:
                    owner.expire(key)
                except Exception:
                    log.failure("expiring an upstream query failed")
        if self.slots and self._timer is None:
            self._timer = self.reactor.callLater(self.resolution, self._tick)

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.slots.clear()


def _question_matches(data: bytes, question: bytes) -> bool:
    """The reply carries ``question`` (any case), or none at all (left to the caller)."""
    end = 12 + len(question)
    got = data[12:end]
    if got == question:
        return True
    if data[4] == 0 and data[5] == 0:
        return True
    return got.lower() == question.lower()


class _InFlight:
    """The ID table shared by UDP sockets and TCP connections."""

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        #: ID -> (waiter, question, rest, deadline, resent): what is needed to send it again
        self.inflight: dict[int, tuple[Waiter, bytes, bytes, float, bool]] = {}

    def _new_id(self) -> int:
        inflight = self.inflight
        msg_id = _getrandbits(16)
        while msg_id in inflight:
            msg_id = _getrandbits(16)
        return msg_id

    def _take(self, data: bytes) -> Waiter | None:
        """The waiter ``data`` answers, removed from the table; None when it answers none."""
        if len(data) < 12 or not data[2] & 0x80:
            return None
        msg_id = (data[0] << 8) | data[1]
        entry = self.inflight.get(msg_id)
        if entry is None or not _question_matches(data, entry[1]):
            return None
        del self.inflight[msg_id]
        return entry[0]

    def expire(self, key: tuple[int, float]) -> None:
        """Time out the query sent with this ID and deadline, if it still waits. The key holds
        no reference to the waiter, so an answered query is freed without the collector."""
        msg_id, deadline = key
        entry = self.inflight.get(msg_id)
        if entry is not None and entry[3] == deadline:
            waiter = entry[0]
            del self.inflight[msg_id]
            waiter.failed(UpstreamTimeout())

    def fail_all(self, reason: Exception) -> None:
        entries = list(self.inflight.values())
        self.inflight.clear()
        for entry in entries:
            entry[0].failed(reason)


@implementer(IHalfCloseableDescriptor)
class _ConnectedUDPPort(udp.Port):
    """A UDP port that survives the ICMP errors of a connected socket.

    epoll (and poll) report a pending ICMP error as POLLERR without POLLIN, which Twisted takes
    for a closed descriptor and tears the port down. Declared half-closeable, the port gets
    ``readConnectionLost`` instead: it reads the error, reports a refusal to the protocol and
    goes back to reading.
    """

    def readConnectionLost(self, reason: Any) -> None:  # noqa: N802 - Twisted's API
        if self.socket is None:
            return
        code = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == errno.ECONNREFUSED:
            self.protocol.connectionRefused()
        if self.socket is not None:
            self.startReading()

    def writeConnectionLost(self, reason: Any) -> None:  # noqa: N802 - Twisted's API
        pass


class UDPChannel(_InFlight, protocol.DatagramProtocol):
    """One connected UDP socket to ``(host, port)``, opened on first use."""

    def __init__(self, reactor: Any, host: str, port: int, timeouts: Timeouts) -> None:
        _InFlight.__init__(self, timeouts)
        self.reactor = reactor
        self.host = host
        self.port = port
        self._listening: Any = None
        self._send: Callable[[bytes], Any] | None = None
        self.closed = False

    def _open(self) -> None:
        interface = "::" if ":" in self.host else ""
        port = _ConnectedUDPPort(0, self, interface, 65535, self.reactor)
        port.startListening()
        self._listening = port
        self.transport.connect(self.host, self.port)
        self._send = self.transport.socket.send

    def send(self, rest: bytes, question: bytes, waiter: Waiter, deadline: float) -> bool | None:
        """Send ``rest`` with a fresh ID; ``waiter`` hears the reply, a failure or a timeout.

        True when the socket was open already, False when opened for this query, None when
        closed (nothing sent).
        """
        reused = True
        if self._send is None:
            if self.closed:
                waiter.failed(error.ConnectionDone("forward stopped"))
                return None
            self._open()
            reused = False
        msg_id = self._new_id()
        self.inflight[msg_id] = (waiter, question, rest, deadline, False)
        try:
            self._send(_LENGTH.pack(msg_id) + rest)
        except OSError as e:
            del self.inflight[msg_id]
            if isinstance(e, ConnectionRefusedError):
                self.connectionRefused()
            waiter.failed(e)
            return reused
        self.timeouts.add(deadline, self, (msg_id, deadline))
        return reused

    def datagramReceived(self, data: bytes, addr: Any) -> None:  # noqa: N802 - Twisted's API
        waiter = self._take(data)
        if waiter is not None:
            waiter.answered(data)

    def connectionRefused(self) -> None:  # noqa: N802 - Twisted's API
        self.fail_all(ConnectionRefusedError(f"{self.host}:{self.port} refused (ICMP)"))

    def close(self) -> None:
        self.closed = True
        if self._listening is not None:
            self._listening.stopListening()
            self._listening = None
            self._send = None
        self.fail_all(error.ConnectionDone("forward stopped"))


class _StreamConnection(_InFlight, protocol.Protocol):
    """One TCP (or TLS) connection: length-prefixed messages, many queries in flight."""

    def __init__(self, pool: StreamPool) -> None:
        _InFlight.__init__(self, pool.timeouts)
        self.pool = pool
        self.buffer = b""
        self.queued: list[bytes] | None = []
        self.answered_any = False
        self.idle_since = pool.reactor.seconds()

    def send(self, rest: bytes, question: bytes, waiter: Waiter, deadline: float,
             resent: bool = False) -> None:
        msg_id = self._new_id()
        self.inflight[msg_id] = (waiter, question, rest, deadline, resent)
        frame = _LENGTH.pack(len(rest) + 2) + _LENGTH.pack(msg_id) + rest
        if self.queued is not None:
            self.queued.append(frame)
        else:
            self.transport.write(frame)
        self.timeouts.add(deadline, self, (msg_id, deadline))

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's API
        if self.pool.tls is not None:
            self.transport.startTLS(self.pool.tls)
        queued, self.queued = self.queued, None
        if queued:
            self.transport.write(b"".join(queued))

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's API
        buffer = self.buffer + data if self.buffer else data
        off = 0
        n = len(buffer)
        while n - off >= 2:
            length = (buffer[off] << 8) | buffer[off + 1]
            end = off + 2 + length
            if end > n:
                break
            message = buffer[off + 2:end]
            off = end
            waiter = self._take(message)
            if waiter is not None:
                self.answered_any = True
                if not self.inflight:
                    self.idle_since = self.pool.reactor.seconds()
                    self.pool.idle(self)
                waiter.answered(message)
        self.buffer = buffer[off:]

    def connectionLost(self, reason: Any) -> None:  # noqa: N802 - Twisted's API
        self.pool.forget(self)
        entries = list(self.inflight.values())
        self.inflight.clear()
        for waiter, question, rest, deadline, resent in entries:
            if self.answered_any and not resent:
                # a kept-open connection the upstream closed: once more, on a new one
                self.pool.send(rest, question, waiter, deadline, resent=True)
            else:
                waiter.failed(reason.value)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()


class _ConnectionFactory(protocol.ClientFactory):
    def __init__(self, connection: _StreamConnection) -> None:
        self.connection = connection

    def buildProtocol(self, addr: Any) -> _StreamConnection:  # noqa: N802 - Twisted's API
        return self.connection

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:  # noqa: N802
        self.connection.connectionLost(reason)


class StreamPool:
    """Kept-open TCP or TLS connections to ``(host, port)``; ``tls`` is a client TLS options
    object (``optionsForClientTLS``) or None for plain TCP."""

    def __init__(self, reactor: Any, host: str, port: int, timeouts: Timeouts,
                 expire: float = 10.0, tls: Any = None, connect_timeout: float = 5.0) -> None:
        self.reactor = reactor
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.expire_after = expire
        self.tls = tls
        self.connect_timeout = connect_timeout
        self.connections: list[_StreamConnection] = []
        self._idle_timer: Any = None
        self.closed = False

    def send(self, rest: bytes, question: bytes, waiter: Waiter, deadline: float,
             resent: bool = False) -> bool | None:
        """Send on the least busy connection, or a new one while all have queries in flight.

        True when a kept connection took the query, False when one was opened for it, None
        when the pool is closed (nothing sent).
        """
        if self.closed:
            waiter.failed(error.ConnectionDone("forward stopped"))
            return None
        best = None
        for connection in self.connections:
            if len(connection.inflight) < MAX_PIPELINE and (
                    best is None or len(connection.inflight) < len(best.inflight)):
                best = connection
        reused = True
        if best is None or (best.inflight and len(self.connections) < MAX_CONNECTIONS):
            best = self._connect()
            reused = False
        best.send(rest, question, waiter, deadline, resent)
        return reused

    def _connect(self) -> _StreamConnection:
        connection = _StreamConnection(self)
        self.connections.append(connection)
        self.reactor.connectTCP(self.host, self.port, _ConnectionFactory(connection),
                                timeout=self.connect_timeout)
        return connection

    def forget(self, connection: _StreamConnection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)

    def idle(self, connection: _StreamConnection) -> None:
        """A connection has nothing in flight: make sure an expiry check is scheduled."""
        if self._idle_timer is None and self.expire_after > 0:
            self._idle_timer = self.reactor.callLater(self.expire_after, self._close_idle)

    def _close_idle(self) -> None:
        self._idle_timer = None
        now = self.reactor.seconds()
        next_check = None
        for connection in list(self.connections):
            if connection.inflight or connection.queued is not None:
                continue
            due = connection.idle_since + self.expire_after
            if due <= now:
                self.forget(connection)
                connection.close()
            elif next_check is None or due < next_check:
                next_check = due
        if next_check is not None:
            self._idle_timer = self.reactor.callLater(next_check - now, self._close_idle)

    def close(self) -> None:
        self.closed = True
        if self._idle_timer is not None and self._idle_timer.active():
            self._idle_timer.cancel()
        self._idle_timer = None
        for connection in list(self.connections):
            connection.fail_all(error.ConnectionDone("forward stopped"))
            connection.close()
        self.connections.clear()
