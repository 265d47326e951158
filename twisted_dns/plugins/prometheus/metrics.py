"""CoreDNS's server metrics (``plugin/metrics/vars``), in the process's metrics registry.

Names, labels, help texts and buckets are CoreDNS's, so its dashboards and alerts work
unchanged. The metrics live in :mod:`twisted_dns.pkg.metrics`'s registry, as the *prometheus*
plugin's own (:func:`current`): every configuration of the process reports into them, so
counts survive a reload, and tests take fresh ones with :func:`fresh`.
"""

from __future__ import annotations

import platform

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

import twisted_dns
from twisted_dns.pkg import metrics
from twisted_dns.pkg.metrics import NO_VIEW
from twisted_dns.plugins.prometheus.queries import QueryCounts

#: the zone of queries the server answered without a block (no closing dot: never a zone)
DROPPED = "dropped"


def version_labels() -> tuple[str, str, str]:
    """``coredns_build_info``'s (version, revision, goversion): ours, no revision, Python's."""
    return twisted_dns.__version__, "", f"python{platform.python_version()}"


class ServerMetrics:
    """The ``coredns_*`` server metrics of one registry; ``report`` counts a query."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = reg = registry
        # Python's counterparts of the Go client's default collectors: process_* (same
        # names as Go's), python_info and python_gc_* (instead of go_*).
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)
        self.build_info = Gauge(
            "coredns_build_info",
            "A metric with a constant '1' value labeled by version, revision, and goversion "
            "from which CoreDNS was built.", ["version", "revision", "goversion"], registry=reg)
        self.build_info.labels(*version_labels()).set(1)
        self.panics = Counter("coredns_panics_total", "A metrics that counts the number of panics.",
                              registry=reg)
        self.plugin_enabled = Gauge(
            "coredns_plugin_enabled",
            "A metric that indicates whether a plugin is enabled on per server and zone basis.",
            ["server", "zone", "view", "name"], registry=reg)
        #: (server, zone, name) -> how many configurations mark it enabled
        self._enabled: dict[tuple[str, str, str], int] = {}
        self.queries = QueryCounts()
        reg.register(self.queries)
        #: count one answered query: ``report(server, zone, request, rcode, plugin, size,
        #: duration)`` (see :meth:`QueryCounts.report`)
        self.report = self.queries.report

    def mark_enabled(self, server: str, zone: str, name: str) -> None:
        """A configuration has plugin ``name`` on ``server`` for ``zone``: the series is 1."""
        key = (server, zone, name)
        self._enabled[key] = self._enabled.get(key, 0) + 1
        self.plugin_enabled.labels(server, zone, NO_VIEW, name).set(1)

    def unmark_enabled(self, server: str, zone: str, name: str) -> None:
        """That configuration stopped; the series goes when no configuration has the plugin
        (a reload starts the new configuration before it stops the old one)."""
        key = (server, zone, name)
        left = self._enabled.get(key, 0) - 1
        if left > 0:
            self._enabled[key] = left
            return
        self._enabled.pop(key, None)
        self.plugin_enabled.remove(server, zone, NO_VIEW, name)

    def exposition(self) -> bytes:
        """Every metric of the registry in Prometheus's text format (0.0.4)."""
        return generate_latest(self.registry)


def current() -> ServerMetrics:
    """The process's server metrics, made once per registry (so kept across reloads)."""
    return metrics.plugin_metrics("prometheus", ServerMetrics)


def fresh() -> ServerMetrics:
    """Replace the process's registry and metrics with new, empty ones (tests start from zero
    this way)."""
    metrics.fresh()
    return current()
