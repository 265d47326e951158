"""One upstream: its sockets (UDP channel, TCP or TLS pool), its failure count, its checker,
its metrics."""

from __future__ import annotations

from typing import Any

from twisted_dns.pkg.upstreams import Upstream
from twisted_dns.plugins.forward.health import HealthCheck
from twisted_dns.plugins.forward.metrics import UpstreamMetrics
from twisted_dns.plugins.forward.transport import StreamPool, Timeouts, UDPChannel, Waiter


class Proxy:
    """Sends queries to one upstream over the transport a query asks for.

    A ``tls://`` upstream always uses its TLS pool; a plain one uses UDP or TCP as asked.
    Sockets are opened on first use and closed by :meth:`stop`.
    """

    def __init__(self, upstream: Upstream, reactor: Any, timeouts: Timeouts,
                 expire: float = 10.0, tls_options: Any = None,
                 metrics: UpstreamMetrics | None = None) -> None:
        self.upstream = upstream
        self.addr = str(upstream)
        self.reactor = reactor
        self.metrics = metrics if metrics is not None else UpstreamMetrics(upstream.addr)
        #: the ``proto`` label of queries over the stream pool (CoreDNS's names)
        self.stream_proto = "tcp-tls" if upstream.scheme == "tls" else "tcp"
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
        """Send a client's query (its wire after the ID) over ``proto`` ("udp" or "tcp"),
        counting whether it reused an open socket (CoreDNS's connection cache)."""
        label, reused = self._send(proto, rest, question, waiter, deadline)
        if reused is not None:
            self.metrics.connection(label, reused)

    def send_check(self, proto: str, rest: bytes, question: bytes, waiter: Waiter,
                   deadline: float) -> None:
        """Send a health check: as :meth:`send`, but not counted (CoreDNS's checks use a
        client of their own)."""
        self._send(proto, rest, question, waiter, deadline)

    def _send(self, proto: str, rest: bytes, question: bytes, waiter: Waiter,
              deadline: float) -> tuple[str, bool | None]:
        """The ``proto`` label used, and whether an open socket took the query (None: none
        did, the proxy is stopped)."""
        udp = self.udp
        if proto == "udp" and udp is not None:
            return "udp", udp.send(rest, question, waiter, deadline)
        return self.stream_proto, self.stream.send(rest, question, waiter, deadline)

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
