"""A small Twisted DNS-over-TCP client for a secondary: the primary's SOA serial and AXFR.

Each exchange is one TCP connection: the query goes out length-prefixed, replies are read
until the exchange has what it needs (one reply for SOA; the closing SOA for AXFR), then the
connection is closed. dnspython decodes the messages; nothing blocks the reactor. The whole
exchange has one deadline (``timeout``) on the reactor's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet import defer, endpoints
from twisted.internet.protocol import Protocol

from twisted_dns.plugins.file import Zone

TIMEOUT = 30.0  # seconds for one whole exchange


class TransferError(Exception):
    """A primary that did not give us what we asked for (rcode, bad data, no answer)."""


class _Exchange(Protocol):
    """Sends ``query``; feeds each reply to ``more(reply)`` until it returns False."""

    def __init__(self, query: dns.message.Message,
                 more: Callable[[dns.message.Message], bool]) -> None:
        self.query = query
        self.more = more
        self.replies: list[dns.message.Message] = []
        #: cancelling it (the server stopping) aborts the connection
        self.done: defer.Deferred = defer.Deferred(self._abort)
        self._buffer = b""

    def _abort(self, _done: defer.Deferred) -> None:
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's API
        wire = self.query.to_wire()
        self.transport.write(len(wire).to_bytes(2, "big") + wire)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's API
        self._buffer += data
        while len(self._buffer) >= 2 and not self.done.called:
            size = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + size:
                return
            frame, self._buffer = self._buffer[2:2 + size], self._buffer[2 + size:]
            try:
                reply = dns.message.from_wire(frame, one_rr_per_rrset=True)
                if reply.id != self.query.id:
                    raise TransferError(f"reply ID {reply.id} is not the query's")
                if reply.rcode() != dns.rcode.NOERROR:
                    raise TransferError(f"rcode {dns.rcode.to_text(reply.rcode())}")
                self.replies.append(reply)
                if not self.more(reply):
                    self._end(None)
            except (dns.exception.DNSException, TransferError) as e:
                self._end(e)

    def _end(self, error: Exception | None) -> None:
        if self.done.called:
            return
        self.transport.loseConnection()
        if error is None:
            self.done.callback(self.replies)
        else:
            self.done.errback(error)

    def connectionLost(self, reason: Any) -> None:  # noqa: N802 - Twisted's API
        if not self.done.called:
            self.done.errback(TransferError(f"connection closed early: {reason.value}"))


class XfrClient:
    """Asks primaries over TCP; ``reactor`` gives connections and the deadline timer."""

    def __init__(self, reactor: Any = None, timeout: float = TIMEOUT) -> None:
        self.reactor = reactor
        self.timeout = timeout

    def _reactor(self) -> Any:
        if self.reactor is None:
            from twisted.internet import reactor

            self.reactor = reactor
        return self.reactor

    async def exchange(self, host: str, port: int, query: dns.message.Message,
                       more: Callable[[dns.message.Message], bool]) -> list[dns.message.Message]:
        """Every reply to ``query`` until ``more`` says stop (TransferError otherwise)."""
        reactor = self._reactor()
        kind = endpoints.TCP6ClientEndpoint if ":" in host else endpoints.TCP4ClientEndpoint
        exchange = _Exchange(query, more)
        connecting = endpoints.connectProtocol(kind(reactor, host, port, self.timeout),
                                               exchange)
        timer = reactor.callLater(self.timeout, self._expire, connecting, exchange)
        try:
            await connecting
            return await exchange.done
        finally:
            if timer.active():
                timer.cancel()

    @staticmethod
    def _expire(connecting: defer.Deferred, exchange: _Exchange) -> None:
        if not connecting.called:
            connecting.cancel()
        elif not exchange.done.called:
            exchange.transport.abortConnection()

    async def serial(self, host: str, port: int, origin: str) -> int:
        """The primary's SOA serial for ``origin``."""
        query = dns.message.make_query(origin, dns.rdatatype.SOA)
        query.flags = 0
        replies = await self.exchange(host, port, query, lambda _: False)
        for rrset in replies[0].answer:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == query.question[0].name:
                return rrset[0].serial
        raise TransferError(f"no SOA for {origin} in the reply")

    async def zone(self, host: str, port: int, origin: str) -> Zone:
        """The whole zone by AXFR (SOA first, records, SOA last)."""
        query = dns.message.make_query(origin, dns.rdatatype.AXFR)
        query.flags = 0
        rrsets: list[dns.rrset.RRset] = []

        def more(reply: dns.message.Message) -> bool:
            for rrset in reply.answer:
                if not rrsets and rrset.rdtype != dns.rdatatype.SOA:
                    raise TransferError("the transfer does not start with a SOA")
                rrsets.append(rrset)
            soas = sum(1 for r in rrsets if r.rdtype == dns.rdatatype.SOA)
            return soas < 2

        await self.exchange(host, port, query, more)
        return Zone.from_rrsets(origin, rrsets[:-1], source=f"AXFR from {host}:{port}")
