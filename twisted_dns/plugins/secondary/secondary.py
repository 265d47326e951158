"""The *secondary* handler and the timers keeping each of its zones fresh.

Each zone has a :class:`SecondaryZone`: it transfers the zone in at startup (retrying after
0.25 s, doubling up to 10 s, as CoreDNS), then follows the SOA: every *refresh* seconds it
asks the primaries for their serial and transfers the zone again when it grew; when that
fails it tries again every *retry* seconds; with no successful check for *expire* seconds
the zone expires (SERVFAIL) until a transfer succeeds. A NOTIFY from a primary checks at
once. The old zone is served while a check or transfer runs; the new one is swapped in whole.

A reload does not start over: the new configuration's :class:`SecondaryZone` takes the zone
(and its SOA timers and expiry) from the running one for the same origin, serves it at once
and checks the serial, where CoreDNS answers SERVFAIL until it has transferred the zone again.
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
from twisted.internet import defer
from twisted.logger import Logger

from twisted_dns.pkg.serial import serial_greater
from twisted_dns.plugins.file import File, Zone, Zones
from twisted_dns.plugins.secondary.client import XfrClient
from twisted_dns.request import Request
from twisted_dns.wire import NOERROR, OPCODE_NOTIFY

log = Logger(namespace="secondary")

NAME = "secondary"
FIRST_RETRY = 0.25
MAX_FIRST_RETRY = 10.0
#: the shortest SOA timer honoured (a refresh of 0 would ask the primary without pause)
MIN_TIMER = 1

#: origin -> the SecondaryZone serving it now (the newest configuration's)
_serving: dict[str, SecondaryZone] = {}


class SecondaryZone:
    """One zone transferred from ``primaries`` ((host, port) pairs) into ``zones``."""

    def __init__(self, origin: str, primaries: list[tuple[str, int]], zones: Zones,
                 client: Any = None, reactor: Any = None) -> None:
        self.origin = origin
        self.primaries = primaries
        self.zones = zones
        self.reactor = reactor
        self.client = client or XfrClient(reactor)
        #: the (refresh, retry, expire) seconds of the last transferred SOA
        self.timing: tuple[int, int, int] | None = None
        self._backoff = FIRST_RETRY
        self._timer: Any = None
        self._expire_timer: Any = None
        self._running: defer.Deferred | None = None
        self._again = False
        self._stopped = False
        #: the running SecondaryZone this one took the zone from (a reload)
        self._previous: SecondaryZone | None = None

    def start(self) -> None:
        if self.reactor is None:
            from twisted.internet import reactor

            self.reactor = reactor
        previous = _serving.get(self.origin)
        if previous is not None and not previous._stopped:
            self._adopt(previous)
        _serving[self.origin] = self
        self.refresh()

    def _adopt(self, previous: SecondaryZone) -> None:
        """Serve what the previous configuration had, with its timers' state."""
        self._previous = previous
        zone = previous.zones[self.origin]
        if zone is None or previous.timing is None:
            return
        self.timing = previous.timing
        self.zones.add(self.origin, zone)
        expiry = previous._expire_timer
        if expiry is not None and expiry.active():
            left = max(0.0, expiry.getTime() - self.reactor.seconds())
            self._expire_timer = self.reactor.callLater(left, self._expire)

    def stop(self) -> None:
        if _serving.get(self.origin) is self:
            previous = self._previous
            if previous is not None and not previous._stopped:
                _serving[self.origin] = previous  # a reload that failed: the old one serves
            else:
                del _serving[self.origin]
        self._previous = None
        self._stopped = True
        if self._running is not None:
            self._running.cancel()  # closes a transfer in flight
        for timer in (self._timer, self._expire_timer):
            if timer is not None and timer.active():
                timer.cancel()

    def notified(self) -> None:
        """A primary said the zone changed: check now (or right after a running check)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self.refresh()

    def refresh(self) -> defer.Deferred:
        """Check the primaries' serial and transfer when it grew; fires when done."""
        if self._running is not None:
            self._again = True
            return self._running
        running = self._running = defer.ensureDeferred(self._check())
        running.addCallbacks(self._succeeded, self._failed)
        return running

    async def _check(self) -> bool:
        """True once the zone is current; the last primary's error when none answered."""
        current = self.zones[self.origin]
        error: Exception | None = None
        for host, port in self.primaries:
            try:
                if current is not None:
                    serial = await self.client.serial(host, port, self.origin)
                    if not serial_greater(serial, current.serial):
                        return False
                zone = await self.client.zone(host, port, self.origin)
            except defer.CancelledError:
                raise
            except Exception as e:  # any failure: try the next primary
                log.warn("Failed to transfer {zone!r} from {host}:{port}: {error}",
                         zone=self.origin, host=host, port=port, error=e)
                error = e
                continue
            self._install(zone, f"{host}:{port}")
            return True
        raise error or RuntimeError("no primaries")

    def _install(self, zone: Zone, primary: str) -> None:
        if self._stopped:
            return
        soa = zone.soa[0]
        self.timing = (max(soa.refresh, MIN_TIMER), max(soa.retry, MIN_TIMER),
                       max(soa.expire, MIN_TIMER))
        self.zones.replace(zone)
        log.info("Transferred: {zone} from {primary} with {serial} SOA serial",
                 zone=self.origin, primary=primary, serial=zone.serial)

    def _succeeded(self, _transferred: bool) -> None:
        self._running = None
        if self._stopped:
            return
        assert self.timing is not None  # set by the zone's first transfer
        refresh, _retry, expire = self.timing
        self._backoff = FIRST_RETRY
        self._cancel_expire()
        self._expire_timer = self.reactor.callLater(expire, self._expire)
        self._schedule(refresh)

    def _failed(self, failure: Any) -> None:
        self._running = None
        if self._stopped:
            return
        if self.zones[self.origin] is None or self.timing is None:
            delay = self._backoff
            self._backoff = min(self._backoff * 2, MAX_FIRST_RETRY)
            log.warn("All {zone!r} primaries failed to transfer, retrying in {delay}s:"
                     " {error}", zone=self.origin, delay=delay, error=failure.value)
        else:
            delay = self.timing[1]
        self._schedule(delay)

    def _schedule(self, delay: float) -> None:
        if self._again:
            self._again = False
            delay = 0
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = self.reactor.callLater(delay, self.refresh)

    def _cancel_expire(self) -> None:
        if self._expire_timer is not None and self._expire_timer.active():
            self._expire_timer.cancel()
        self._expire_timer = None

    def _expire(self) -> None:
        """No successful check for the SOA's expire time: stop answering (SERVFAIL)."""
        self._expire_timer = None
        log.error("Zone {zone!r} expired: no transfer from its primaries", zone=self.origin)
        self.zones.add(self.origin)


class Secondary(File):
    """Serves the transferred zones as *file* does; takes NOTIFYs from the primaries."""

    def __init__(self, zones: Zones, refreshers: dict[str, SecondaryZone],
                 next_plugin: Any = None) -> None:
        super().__init__(zones, None, next_plugin, name=NAME)
        self.refreshers = refreshers

    def ServeDNS(self, request: Request, writer: Any) -> Any:  # noqa: N802 - the contract
        if request.opcode != OPCODE_NOTIFY:
            return super().ServeDNS(request, writer)
        origin = self.zones.match(request.qname_lower)
        if origin is None:
            return super().ServeDNS(request, writer)
        refresher = self.refreshers[origin]
        client = request.client_host
        if not any(host == client for host, _ in refresher.primaries):
            log.info("Dropping notify from {client} for {zone}", client=client, zone=origin)
            return NOERROR
        reply = dns.message.make_response(request.message())
        reply.flags |= dns.flags.AA
        writer.write(reply)
        log.info("Notify from {client} for {zone}: checking transfer", client=client,
                 zone=origin)
        refresher.notified()
        return NOERROR
