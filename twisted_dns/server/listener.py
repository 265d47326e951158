"""A listener: one (scheme, address, port) serving every block configured on it.

For ``dns://`` that is a UDP port and a TCP port with the same number, sharing one
:class:`QueryHandler` (and so one :class:`ZoneRouter`). Sockets are created by
:mod:`twisted_dns.server.sockets` and adopted by the reactor.

Stopping drains, so that no query already taken is left without an answer:

1. stop taking queries: the UDP port stops reading (its socket stays open, replies still go
   out), the TCP port stops accepting, open connections stop reading but still write;
2. wait until no query waits on its chain: each is answered by its chain or, at its
   deadline, SERVFAIL by the handler's sweep (a safety net closes anyway a little later);
3. close the ports and the connections (flushing replies already written).
"""

from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from twisted_dns.addresses import join_host_port
from twisted_dns.corefile.keys import SERVED_SCHEMES
from twisted_dns.errors import ConfigError
from twisted_dns.request import DEFAULT_UDP_SIZE
from twisted_dns.server import sockets
from twisted_dns.server.handler import QueryHandler
from twisted_dns.server.routing import ZoneRouter
from twisted_dns.server.tcp import (
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_INFLIGHT,
    READ_TIMEOUT,
    DNSStreamFactory,
)
from twisted_dns.server.udp import MAX_DATAGRAM, DNSDatagramProtocol

log = Logger(namespace="server")

#: seconds a drain may last beyond the handler's deadline (one sweep slot late and then some)
DRAIN_MARGIN = 1.0
#: seconds an open TCP connection has to take its last replies once the drain is over
CLOSE_GRACE = 1.0


class Listener(service.Service):
    """Serves ``scheme://host:port``; ``host`` "" is every address, ``port`` 0 any free one.

    After :meth:`startService`, ``port`` is the port actually bound.
    """

    def __init__(self, scheme: str, host: str, port: int, router: ZoneRouter,
                 reactor: Any = None, *, deadline: float = 5.0,
                 udp_size: int = DEFAULT_UDP_SIZE, read_timeout: float = READ_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 max_inflight: int = MAX_INFLIGHT, rcvbuf: int = sockets.DEFAULT_RCVBUF,
                 reuseport: bool = True, backlog: int = 1024) -> None:
        if scheme not in SERVED_SCHEMES:
            raise ConfigError(f"scheme {scheme}:// is not supported yet")
        if reactor is None:
            from twisted.internet import reactor
        self.scheme = scheme
        self.host = host
        self.port = port
        self.reactor = reactor
        self.handler = QueryHandler(router, reactor, deadline=deadline, udp_size=udp_size)
        self.factory = DNSStreamFactory(self.handler, reactor, read_timeout=read_timeout,
                                        idle_timeout=idle_timeout,
                                        max_connections=max_connections,
                                        max_inflight=max_inflight)
        self.rcvbuf = rcvbuf
        self.reuseport = reuseport
        self.backlog = backlog
        self.name = f"{scheme}://{join_host_port(host, port)}"
        self._udp_port: Any = None
        self._tcp_port: Any = None
        self._closing: defer.Deferred | None = None

    @property
    def router(self) -> ZoneRouter:
        return self.handler.router

    @router.setter
    def router(self, router: ZoneRouter) -> None:
        """Swap the zones served (a reload); queries in flight finish with the old chain."""
        self.handler.router = router

    def startService(self) -> None:  # noqa: N802 - Twisted's name
        self._closing = None
        pair = sockets.bind_pair(self.host, self.port, reuseport=self.reuseport,
                                 rcvbuf=self.rcvbuf, backlog=self.backlog)
        try:
            server = (pair.host, pair.port)
            self._udp_port = self.reactor.adoptDatagramPort(
                pair.udp.fileno(), pair.family, DNSDatagramProtocol(self.handler, server),
                maxPacketSize=MAX_DATAGRAM)
            self._tcp_port = self.reactor.adoptStreamPort(pair.tcp.fileno(), pair.family,
                                                          self.factory)
        except BaseException:
            if self._udp_port is not None:
                self._udp_port.stopListening()
                self._udp_port = None
            raise
        finally:
            pair.close()  # the reactor holds its own duplicates of the descriptors
        self.port = pair.port
        self.name = f"{self.scheme}://{join_host_port(self.host, self.port)}"
        super().startService()
        log.info("listening on {name} (udp and tcp, port {port})", name=self.name,
                 port=self.port)

    def stopService(self) -> defer.Deferred:  # noqa: N802
        """Drain, then close (see the module docstring); fires once closed. Calling it again
        while draining waits for the same close."""
        if self._closing is None:
            super().stopService()
            self._closing = defer.ensureDeferred(self._drain_and_close())
            self._closing.addErrback(
                lambda failure: log.failure("closing {name} failed", failure, name=self.name))
        waiter: defer.Deferred = defer.Deferred()
        self._closing.addBoth(lambda result: (waiter.callback(None), result)[1])
        return waiter

    async def _drain_and_close(self) -> None:
        udp, tcp = self._udp_port, self._tcp_port
        self._udp_port = self._tcp_port = None
        closed = []
        if udp is not None:
            udp.stopReading()  # not stopListening: the replies of the drain use the socket
        if tcp is not None:
            closed.append(defer.maybeDeferred(tcp.stopListening))
        self.factory.stop_reading()
        try:
            await self._drain()
        finally:
            self.handler.stop()  # gives up on any query left; no deadline sweep outlives us
            if udp is not None:
                closed.append(defer.maybeDeferred(udp.stopListening))
            closed.append(self.factory.close_all(grace=CLOSE_GRACE))
            await defer.gatherResults(closed, consumeErrors=True)

    async def _drain(self) -> None:
        """Wait until no query waits on its chain, at most the deadline and a margin."""
        handler = self.handler
        waiting = handler.waiting
        if not waiting:
            return
        log.info("draining {n} in-flight queries on {name}", n=waiting, name=self.name)
        bound = handler.deadline + handler.deadline_slot + DRAIN_MARGIN
        try:
            await handler.drained().addTimeout(bound, self.reactor)
        except defer.TimeoutError:
            log.warn("{n} queries on {name} still unanswered after {bound}s: closing",
                     n=handler.waiting, name=self.name, bound=bound)
