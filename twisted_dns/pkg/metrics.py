"""The process's metrics registry, and CoreDNS's conventions for the metrics in it.

Every plugin keeps its metrics in one prometheus_client ``CollectorRegistry`` (a dedicated
one, not the client's global default), which the *prometheus* plugin serves on ``/metrics``.
:func:`plugin_metrics` makes a plugin's metric objects once per registry, so every
configuration of the process counts into the same ones and counts go on across reloads, as
CoreDNS's do; tests start from an empty registry with :func:`fresh`.

CoreDNS's conventions (``plugin/metrics``): the ``server`` label names the listener as CoreDNS
prints it (:func:`server_label`, :func:`block_server_label`), ``view`` is empty until views
exist (:data:`NO_VIEW`), durations and sizes use CoreDNS's buckets.

    from prometheus_client import Counter
    from twisted_dns.pkg.metrics import plugin_metrics

    echoes = plugin_metrics("echoname", lambda registry: Counter(
        "coredns_echoname_requests_total", "Queries echoed.", registry=registry))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, disable_created_metrics

from twisted_dns.addresses import join_host_port

# CoreDNS (Go's client) exports no ``*_created`` series; prometheus_client does by default.
disable_created_metrics()

#: CoreDNS's ``plugin.TimeBuckets``: 0.25 ms to 8 s, doubling
TIME_BUCKETS = tuple(0.00025 * 2 ** i for i in range(16))
#: CoreDNS's request and response size buckets
SIZE_BUCKETS = (0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3)
#: the ``view`` label; empty until views exist
NO_VIEW = ""
#: hosts that mean "every address"
WILDCARD_HOSTS = frozenset({"", "::", "0.0.0.0"})

T = TypeVar("T")

_registry: CollectorRegistry | None = None
#: plugin name -> that plugin's metric objects in ``_registry`` (see plugin_metrics)
_plugins: dict[str, Any] = {}


def registry() -> CollectorRegistry:
    """The process's registry, made on first use and kept across reloads."""
    global _registry
    if _registry is None:
        _registry = CollectorRegistry()
    return _registry


def plugin_metrics(name: str, make: Callable[[CollectorRegistry], T]) -> T:
    """Plugin ``name``'s own metrics (``make(registry)`` builds them), once per registry.

    A plugin calls this at setup and keeps what it gets: the same objects for every
    configuration of the process, so counts go on across reloads, as CoreDNS's do.
    """
    found = _plugins.get(name)
    if found is None:
        found = _plugins[name] = make(registry())
    return found


def plugin_collector(name: str, make: Callable[[], T]) -> T:
    """Plugin ``name``'s collector (``make()`` builds it; it computes the plugin's metrics when
    scraped), registered once per registry, as :func:`plugin_metrics`."""
    def registered(reg: CollectorRegistry) -> T:
        collector = make()
        reg.register(collector)
        return collector
    return plugin_metrics(name, registered)


def fresh() -> CollectorRegistry:
    """Replace the process's registry with a new, empty one (tests start from zero this way);
    every plugin's metrics are made again, in it, on their next use."""
    global _registry
    _registry = CollectorRegistry()
    _plugins.clear()
    return _registry


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
