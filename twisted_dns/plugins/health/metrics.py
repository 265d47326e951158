"""CoreDNS's *health* metrics, fed by the self check (see :mod:`.selfcheck`).

They have no ``server`` label: a slow self check is a symptom of the whole process.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from twisted_dns.pkg.metrics import plugin_metrics

#: CoreDNS's ``plugin.SlimTimeBuckets``: ``ExponentialBuckets(0.00025, 10, 5)``
SLIM_TIME_BUCKETS = (0.00025, 0.0025, 0.025, 0.25, 2.5)


@dataclass(frozen=True)
class HealthMetrics:
    """The two metrics, in one registry."""

    duration: Histogram
    failures: Counter

    @classmethod
    def make(cls, registry: CollectorRegistry) -> HealthMetrics:
        return cls(
            Histogram("coredns_health_request_duration_seconds",
                      "Histogram of the time (in seconds) each request took.",
                      buckets=SLIM_TIME_BUCKETS, registry=registry),
            Counter("coredns_health_request_failures_total",
                    "The number of times the health check failed.", registry=registry))


def health_metrics() -> HealthMetrics:
    """The process's *health* metrics (the same objects across reloads)."""
    return plugin_metrics("health", HealthMetrics.make)
