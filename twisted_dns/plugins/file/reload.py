"""Re-read a zone file every ``reload`` interval; swap the zone in when its serial increased.

Each tick first compares the file's ``stat`` with the one last read, so an unchanged file
costs one system call. A changed file is parsed in a thread (a big zone takes a while and the
reactor must keep answering), then swapped into the :class:`Zones` in the reactor thread
when its SOA serial is greater (RFC 1982) than the served one. A file that does not parse
keeps the old zone and logs why; it is tried again at the next tick. Each zone swapped in sets
``coredns_file_entries{dns_name}`` to its number of records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, threads
from twisted.logger import Logger

from twisted_dns.pkg import filestat
from twisted_dns.pkg.periodic import Periodic
from twisted_dns.pkg.serial import serial_greater
from twisted_dns.plugins.file.zone import Zone, Zones
from twisted_dns.plugins.file.zonefile import ZoneError

log = Logger(namespace="file")


def _read(path: str, origin: str) -> tuple[Zone, int]:
    """The zone in ``path`` and its number of records (counted here: in the parsing thread)."""
    zone = Zone.from_file(path, origin)
    return zone, len(zone)


def entries() -> Any:
    """CoreDNS's ``coredns_file_entries`` gauge, by zone (``dns_name``)."""
    from prometheus_client import Gauge

    from twisted_dns.pkg.metrics import plugin_metrics

    return plugin_metrics("file", lambda registry: Gauge(
        "coredns_file_entries", "The number of entries in zone file grouped by domain name.",
        ["dns_name"], registry=registry))


class ZoneFile:
    """The file one zone of ``zones`` is read from, checked every ``interval`` seconds."""

    def __init__(self, path: str, origin: str, zones: Zones, interval: float,
                 reactor: Any = None,
                 run: Callable[..., defer.Deferred] = threads.deferToThread) -> None:
        self.path = path
        self.origin = origin
        self.zones = zones
        self.interval = interval
        self.reactor = reactor
        #: how a parse is run: in a thread by default (tests pass ``defer.maybeDeferred``)
        self.run = run
        self.loaded_signature: tuple | None = None
        self._poll = Periodic(self.check, f"zone reload loop for {origin}")

    def load(self) -> Zone:
        """Read the file now (at setup); raises ZoneError."""
        signature = filestat.signature(self.path)
        zone, records = _read(self.path, self.origin)
        self._swap(zone, records)
        self.loaded_signature = signature
        return zone

    def _swap(self, zone: Zone, records: int) -> None:
        self.zones.replace(zone)
        entries().labels(self.origin).set(records)

    def start(self) -> None:
        """Check the file every interval (nothing when the interval is 0)."""
        self._poll.start(self.interval, self.reactor)

    def stop(self) -> None:
        self._poll.stop()

    def check(self) -> defer.Deferred:
        """One tick: re-read the file if it changed, swap the zone if its serial increased."""
        signature = filestat.signature(self.path)
        if signature is None:
            log.error("Failed to open zone {origin} in {path}", origin=self.origin,
                      path=self.path)
            return defer.succeed(None)
        if signature == self.loaded_signature and self.zones[self.origin] is not None:
            return defer.succeed(None)
        d = self.run(_read, self.path, self.origin)
        d.addCallbacks(self._parsed, self._failed, callbackArgs=(signature,))
        return d

    def _parsed(self, read: tuple[Zone, int], signature: tuple) -> None:
        zone, records = read
        self.loaded_signature = signature
        current = self.zones[self.origin]
        if current is not None and not serial_greater(zone.serial, current.serial):
            if zone.serial != current.serial:
                log.warn("Zone {origin} in {path} changed but its serial {new} is not greater"
                         " than {old}: not reloaded", origin=self.origin, path=self.path,
                         new=zone.serial, old=current.serial)
            return
        self._swap(zone, records)
        log.info("Successfully reloaded zone {origin} in {path} with {serial} SOA serial",
                 origin=self.origin, path=self.path, serial=zone.serial)

    def _failed(self, failure) -> None:
        if failure.check(ZoneError):
            log.error("Parsing zone {origin}: {error}", origin=self.origin,
                      error=failure.value)
        else:
            log.failure("Reloading zone {origin}", failure, origin=self.origin)
