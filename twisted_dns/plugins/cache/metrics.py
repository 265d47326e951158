"""CoreDNS's ``coredns_cache_*`` metrics, read from the caches' counters when scraped.

A cache counts in plain integers per listener (:class:`~.handler.Counts`), which costs the
hot path nothing measurable; this collector turns them into CoreDNS's series at scrape time,
labelled ``server`` (the listener), ``zones`` (the cache's zones, comma-separated), ``view``
(empty) and, where CoreDNS has it, ``type`` (``success`` or ``denial``). The counts of a cache
a reload replaced are kept, so the series go on counting across reloads as CoreDNS's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted_dns.pkg.metrics import block_server_label, plugin_collector
from twisted_dns.plugins.cache.cache import Cache, Counts
from twisted_dns.plugins.cache.storage import DENIAL, SUCCESS

#: counters without ``type``: (metric name, help, Counts attribute)
_COUNTERS = (
    ("coredns_cache_requests", "The count of cache requests.", "requests"),
    ("coredns_cache_misses", "The count of cache misses. Deprecated, derive misses from cache "
     "hits/requests counters.", "misses"),
    ("coredns_cache_prefetch", "The number of times the cache has prefetched a cached item.",
     "prefetches"),
    ("coredns_cache_drops", "The number responses that are not cached, because the reply is "
     "malformed.", "drops"),
    ("coredns_cache_served_stale", "The number of requests served from stale cache entries.",
     "served_stale"),
)
#: counters by ``type``: (metric name, help, Counts attribute of success, of denial)
_TYPED_COUNTERS = (
    ("coredns_cache_hits", "The count of cache hits.", "success_hits", "denial_hits"),
    ("coredns_cache_evictions", "The count of cache evictions.", "success_evictions",
     "denial_evictions"),
)


class CacheCollector:
    """Every cache of the process: those serving, and the counts of those retired."""

    def __init__(self) -> None:
        #: cache -> its block (for the ``server`` label)
        self.live: dict[Cache, Any] = {}
        #: (server label, zones label) -> what retired caches counted there
        self.retired: dict[tuple[str, str], Counts] = {}

    def add(self, cache: Cache, block: Any) -> None:
        self.live[cache] = block

    def retire(self, cache: Cache) -> None:
        """A configuration stopped: keep what its cache counted, forget the cache."""
        block = self.live.pop(cache, None)
        if block is None:
            return
        for labels, counts in _by_labels(cache, block):
            self.retired.setdefault(labels, Counts()).add(counts)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        totals: dict[tuple[str, str], Counts] = {}
        for labels, counts in self.retired.items():
            totals.setdefault(labels, Counts()).add(counts)
        entries = GaugeMetricFamily("coredns_cache_entries", "The number of elements in the "
                                    "cache.", labels=["server", "type", "zones", "view"])
        for cache, block in list(self.live.items()):
            for (server, zones), counts in _by_labels(cache, block):
                totals.setdefault((server, zones), Counts()).add(counts)
                entries.add_metric([server, SUCCESS, zones, ""], len(cache.pcache))
                entries.add_metric([server, DENIAL, zones, ""], len(cache.ncache))
        yield entries
        for name, text, attribute in _COUNTERS:
            family = CounterMetricFamily(name, text, labels=["server", "zones", "view"])
            for (server, zones), counts in totals.items():
                family.add_metric([server, zones, ""], getattr(counts, attribute))
            yield family
        for name, text, success, denial in _TYPED_COUNTERS:
            family = CounterMetricFamily(name, text, labels=["server", "type", "zones", "view"])
            for (server, zones), counts in totals.items():
                family.add_metric([server, SUCCESS, zones, ""], getattr(counts, success))
                family.add_metric([server, DENIAL, zones, ""], getattr(counts, denial))
            yield family


def _by_labels(cache: Cache, block: Any) -> Iterator[tuple[tuple[str, str], Counts]]:
    zones = ",".join(cache.config.zones)
    for address, counts in list(cache.counts.items()):
        yield (block_server_label(block, address), zones), counts


def collector() -> CacheCollector:
    """The process's cache collector, registered in the metrics registry on first use."""
    return plugin_collector("cache", CacheCollector)
