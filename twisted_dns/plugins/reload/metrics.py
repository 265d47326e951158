"""CoreDNS's reload metrics, in the process's metrics registry.

``coredns_reload_failed_total`` counts every failed reload of the process (SIGUSR1 or this
plugin); ``coredns_reload_version_info{hash="sha512", value=...}`` is 1 for the hash of the
running configuration's files. Both are read when scraped, from
:data:`twisted_dns.config.stats` and the running watchers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted_dns.config import stats as reload_stats
from twisted_dns.pkg.metrics import plugin_collector

#: watchers started and not stopped, oldest first: the last one is the running configuration's
running: list[Any] = []


class ReloadCollector:
    """A prometheus_client collector computing both metrics at each scrape."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        failed = CounterMetricFamily("coredns_reload_failed",
                                     "Counter of the number of failed reload attempts.")
        failed.add_metric([], reload_stats.failed)
        yield failed
        info = GaugeMetricFamily(
            "coredns_reload_version_info",
            "A metric with a constant '1' value labeled by hash, and value which type of hash "
            "generated.", labels=["hash", "value"])
        if running and running[-1].version is not None:
            info.add_metric(["sha512", running[-1].version], 1)
        yield info


def register() -> None:
    """Export the metrics in the process's registry (once per registry)."""
    plugin_collector("reload", ReloadCollector)
