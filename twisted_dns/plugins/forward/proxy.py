"""One upstream: its sockets (UDP channel, TCP or TLS pool), its failure count, its checker."""

from __future__ import annotations

from typing import Any

from twisted_dns.pkg.upstreams import Upstream
from twisted_dns.plugins.forward.health import HealthCheck
from twisted_dns.plugins.forward.transport import StreamPool, Timeouts, UDPChannel, Waiter


class Proxy:
    """Sends queries to one upstream over the transport a query asks for.

    A ``tls://`` upstream always uses its TLS pool; a plain one uses UDP or TCP as asked.
    Sockets are opened on first use and closed by :meth:`stop`.
    """

    def __init__(self, upstream: Upstream, reactor: Any, timeouts: Timeouts,
                 expire: float = 10.0, tls_options: Any = None) -> None:
        self.upstream = upstream
        self.addr = str(upstream)
        self.reactor = reactor
        #: failed health checks in a row; the proxy is down while this exceeds max_fails
        self.fails = 0
        self.udp: UDPChannel | None = None
        self.stream: StreamPool | None = None
        if upstream.scheme == "tls":
            self.stream = StreamPool(reactor, upstream.host, upstream.port, timeouts, expire,
                                     tls=tls_options)
        else:
            self.udp = UDPChannel(reactor, upstream.host, upstream.port, timeouts)
            self.stream = StreamPool(reactor, upstream.host, upstream.port, timeouts, expire)
        self.health: HealthCheck | None = None

    def send(self, proto: str, rest: bytes, question: bytes, waiter: Waiter,
             deadline: float) -> None:
        """Send a query (its wire after the ID) over ``proto`` ("udp" or "tcp")."""
        udp = self.udp
        if proto == "udp" and udp is not None:
            udp.send(rest, question, waiter, deadline)
        else:
            self.stream.send(rest, question, waiter, deadline)

    def down(self, max_fails: int) -> bool:
        return max_fails != 0 and self.fails > max_fails

    def start_health_check(self, interval: float, proto: str, domain: str,
                           recursion_desired: bool) -> None:
        self.health = HealthCheck(self, self.reactor, interval, proto, domain,
                                  recursion_desired)

    def healthcheck(self) -> None:
        """A query failed: probe until the upstream answers again."""
        if self.health is not None:
            self.health.kick()

    def stop(self) -> None:
        if self.health is not None:
            self.health.stop()
        if self.udp is not None:
            self.udp.close()
        self.stream.close()

    def __repr__(self) -> str:
        return f"<Proxy {self.addr} fails={self.fails}>"
