"""CoreDNS's *forward* metrics: ``coredns_forward_*`` and the ``coredns_proxy_*`` ones.

Names, labels, help texts and buckets are CoreDNS's (``plugin/forward/metrics.go`` and
``plugin/pkg/proxy/metrics.go``). The metric objects live in the process's registry
(:func:`twisted_dns.pkg.metrics.plugin_metrics`), made once and shared by every
configuration, so counts go on across reloads. Each upstream's series are reached through an
:class:`UpstreamMetrics` that keeps the children it has used, so a query costs a dict lookup
and an ``observe`` (no ``labels()`` call); a series appears on its first count, as CoreDNS's
do.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from twisted_dns.pkg.metrics import TIME_BUCKETS, plugin_metrics
from twisted_dns.pkg.replacer import rcode_text

#: the ``proxy_name`` label of *forward*'s proxies
PROXY_NAME = "forward"


class ForwardMetrics:
    """``coredns_forward_*``: counters of the whole plugin, without labels."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.healthcheck_broken = Counter(
            "coredns_forward_healthcheck_broken_total",
            "Counter of the number of complete failures of the healthchecks.",
            registry=registry)
        self.max_concurrent_rejects = Counter(
            "coredns_forward_max_concurrent_rejects_total",
            "Counter of the number of queries rejected because the concurrent queries were at "
            "maximum.", registry=registry)


class ProxyMetrics:
    """``coredns_proxy_*``: per upstream, shared by every plugin that proxies (``proxy_name``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.request_duration = Histogram(
            "coredns_proxy_request_duration_seconds", "Histogram of the time each request took.",
            ["proxy_name", "to", "rcode"], buckets=TIME_BUCKETS, registry=registry)
        self.healthcheck_failures = Counter(
            "coredns_proxy_healthcheck_failures_total",
            "Counter of the number of failed healthchecks.", ["proxy_name", "to"],
            registry=registry)
        self.conn_cache_hits = Counter(
            "coredns_proxy_conn_cache_hits_total",
            "Counter of connection cache hits per upstream and protocol.",
            ["proxy_name", "to", "proto"], registry=registry)
        self.conn_cache_misses = Counter(
            "coredns_proxy_conn_cache_misses_total",
            "Counter of connection cache misses per upstream and protocol.",
            ["proxy_name", "to", "proto"], registry=registry)


def forward_metrics() -> ForwardMetrics:
    """The process's ``coredns_forward_*`` metrics."""
    return plugin_metrics("forward", ForwardMetrics)


def proxy_metrics() -> ProxyMetrics:
    """The process's ``coredns_proxy_*`` metrics (kept under "proxy": any proxying plugin)."""
    return plugin_metrics("proxy", ProxyMetrics)


class UpstreamMetrics:
    """One upstream's ``coredns_proxy_*`` series; ``to`` is its ``host:port``."""

    __slots__ = ("_durations", "_hits", "_misses", "metrics", "proxy_name", "to")

    def __init__(self, to: str, metrics: ProxyMetrics | None = None,
                 proxy_name: str = PROXY_NAME) -> None:
        self.metrics = metrics if metrics is not None else proxy_metrics()
        self.proxy_name = proxy_name
        self.to = to
        #: rcode -> histogram child; proto -> counter child
        self._durations: dict[int, Any] = {}
        self._hits: dict[str, Any] = {}
        self._misses: dict[str, Any] = {}

    def observe(self, rcode: int, seconds: float) -> None:
        """The upstream replied with ``rcode`` ``seconds`` after the query went out."""
        child = self._durations.get(rcode)
        if child is None:
            child = self._durations[rcode] = self.metrics.request_duration.labels(
                self.proxy_name, self.to, rcode_text(rcode))
        child.observe(seconds)

    def connection(self, proto: str, reused: bool) -> None:
        """A query went out on a kept-open socket (a hit) or on one opened for it (a miss)."""
        children = self._hits if reused else self._misses
        child = children.get(proto)
        if child is None:
            counter = self.metrics.conn_cache_hits if reused else self.metrics.conn_cache_misses
            child = children[proto] = counter.labels(self.proxy_name, self.to, proto)
        child.inc()

    def healthcheck_failed(self) -> None:
        self.metrics.healthcheck_failures.labels(self.proxy_name, self.to).inc()
