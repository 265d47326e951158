"""CoreDNS's server metrics (``plugin/metrics/vars``) in one process-wide registry.

Names, labels, help texts and buckets are CoreDNS's, so its dashboards and alerts work
unchanged. The registry is a dedicated ``CollectorRegistry`` (not prometheus_client's global
default) held by a module-level :class:`ServerMetrics` singleton: every configuration of the
process reports into it, so counts survive a reload (a new configuration takes the same
singleton), and tests take a fresh one with :func:`fresh`. Other plugins keep their own
metrics in the same registry through :func:`plugin_metrics`.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

import twisted_dns
from twisted_dns.addresses import join_host_port
from twisted_dns.plugins.prometheus.queries import NO_VIEW, QueryCounts
from twisted_dns.server.handler import ObserverFactory, observe_all

# CoreDNS (Go's client) exports no ``*_created`` series; prometheus_client does by default.
disable_created_metrics()

#: the zone of queries the server answered without a block (no closing dot: never a zone)
DROPPED = "dropped"
#: hosts that mean "every address"
WILDCARD_HOSTS = frozenset({"", "::", "0.0.0.0"})

T = TypeVar("T")


def server_label(scheme: str, host: str, port: int) -> str:
    """The ``server`` label: the listener as CoreDNS prints it (``dns://:53``, with *bind*
    ``dns://127.0.0.1:53``); wildcard hosts print as nothing."""
    return f"{scheme}://{join_host_port('' if host in WILDCARD_HOSTS else host, port)}"


def block_server_label(block: Any, address: tuple) -> str:
    """The ``server`` label of a query a block's plugin got on listener ``address`` (the
    request's ``server``): the block's scheme for that port, the host only under *bind*."""
    host = address[0] if block.listen_hosts else ""
    port = address[1]
    scheme = next((key.scheme for key in block.keys if key.port == port), "dns")
    return server_label(scheme, host, port)


def version_labels() -> tuple[str, str, str]:
    """``coredns_build_info``'s (version, revision, goversion): ours, no revision, Python's."""
    return twisted_dns.__version__, "", f"python{platform.python_version()}"


class ServerMetrics:
    """The ``coredns_*`` server metrics of one registry; ``report`` counts a query."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
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
        #: plugin name -> that plugin's metric objects in this registry (see plugin_metrics)
        self.plugins: dict[str, Any] = {}
        #: configurations currently serving with these metrics (see acquire)
        self.users = 0
        self._stop_observing: Callable[[], None] | None = None

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

    def acquire(self, observer: ObserverFactory) -> None:
        """A configuration starts serving: observe every listener with ``observer`` (made
        once per QueryHandler) until the last configuration releases these metrics."""
        self.users += 1
        if self._stop_observing is None:
            self._stop_observing = observe_all(observer)

    def release(self) -> None:
        """A configuration stopped serving; the last one stops the observation."""
        self.users = max(0, self.users - 1)
        if self.users == 0 and self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None

    def exposition(self) -> bytes:
        """Every metric of the registry in Prometheus's text format (0.0.4)."""
        return generate_latest(self.registry)


_current: ServerMetrics | None = None


def plugin_metrics(name: str, make: Callable[[CollectorRegistry], T]) -> T:
    """Plugin ``name``'s own metrics (``make(registry)`` builds them), once per registry.

    A plugin calls this at setup and keeps what it gets: the same objects for every
    configuration of the process, so counts go on across reloads, as CoreDNS's do.
    """
    metrics = current()
    found = metrics.plugins.get(name)
    if found is None:
        found = metrics.plugins[name] = make(metrics.registry)
    return found


def current() -> ServerMetrics:
    """The process's metrics, made on first use and kept across reloads."""
    global _current
    if _current is None:
        _current = ServerMetrics()
    return _current


def fresh() -> ServerMetrics:
    """Replace the process's metrics with new, empty ones (tests start from zero this way)."""
    global _current
    if _current is not None:
        _current.users = 1
        _current.release()
    _current = ServerMetrics()
    return _current
