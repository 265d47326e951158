"""CoreDNS's *autopath* metric: ``coredns_autopath_success_total{server}``."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from twisted_dns.pkg.metrics import plugin_metrics


@dataclass(frozen=True)
class AutoPathMetrics:
    """The one counter: queries answered from a search path element."""

    success: Counter

    @classmethod
    def make(cls, registry: CollectorRegistry) -> AutoPathMetrics:
        return cls(Counter("coredns_autopath_success_total",
                           "Counter of requests that did autopath.", ["server"],
                           registry=registry))


def autopath_metrics() -> AutoPathMetrics:
    """The process's *autopath* metrics (the same objects across reloads)."""
    return plugin_metrics("autopath", AutoPathMetrics.make)
