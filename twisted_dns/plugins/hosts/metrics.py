"""CoreDNS's *hosts* metrics, set each time a hosts file is (re)read."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

from twisted_dns.pkg.metrics import plugin_metrics


@dataclass(frozen=True)
class HostsMetrics:
    """``coredns_hosts_entries{hostsfile}`` and ``coredns_hosts_reload_timestamp_seconds``."""

    entries: Gauge
    reload_time: Gauge

    @classmethod
    def make(cls, registry: CollectorRegistry) -> HostsMetrics:
        return cls(
            Gauge("coredns_hosts_entries",
                  "The combined number of entries in hosts and Corefile.", ["hostsfile"],
                  registry=registry),
            Gauge("coredns_hosts_reload_timestamp_seconds",
                  "The timestamp of the last reload of hosts file.", registry=registry))

    def loaded(self, path: str, entries: int, mtime: float) -> None:
        """A hosts file was read: ``entries`` with the inline ones, ``mtime`` its
        modification time (CoreDNS's "reload timestamp" is the file's, not the clock's)."""
        self.entries.labels(path).set(entries)
        self.reload_time.set(mtime)


def hosts_metrics() -> HostsMetrics:
    """The process's *hosts* metrics (the same objects across reloads)."""
    return plugin_metrics("hosts", HostsMetrics.make)
