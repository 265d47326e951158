"""The *transfer* handler: AXFR out over TCP, IXFR answered as AXFR, NOTIFY on change.

Zone data comes from the block's plugins providing
:class:`~twisted_dns.interfaces.ITransferSource` (*file*, *auto*, *secondary*), found when
the server starts. A transfer is several TCP messages written through the one writer of the
query, at most 500 records (as CoreDNS) and 64 KiB each. The messages are built in a thread
(a zone of a million records takes seconds, and the reactor must keep answering), straight
from the zone's records to wire (``Zone.axfr_records``); the query gets a deadline of
:data:`TRANSFER_DEADLINE` instead of the server's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, threads
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin, ITransferSource
from twisted_dns.names import longest_match
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.pkg.serial import serial_greater
from twisted_dns.plugins.transfer.notify import Notifier
from twisted_dns.request import Request
from twisted_dns.wire import NOERROR, REFUSED, SERVFAIL, TYPE_AXFR, TYPE_IXFR, TYPE_SOA

log = Logger(namespace="transfer")

NAME = "transfer"
#: records per message (CoreDNS sends once more than 500 are gathered)
RECORDS_PER_MESSAGE = 500
MAX_MESSAGE = 65535
#: seconds a transfer may take, from the query to its last message
TRANSFER_DEADLINE = 600.0


@dataclass
class Xfr:
    """One ``transfer`` line: its zones and who may transfer them (``*`` or (host, port))."""

    zones: list[str]
    to: list[str | tuple[str, int]] = field(default_factory=list)

    def allowed(self, host: str) -> bool:
        """Any port of a listed address may transfer (as CoreDNS: it compares IPs only)."""
        return any(to == "*" or to[0] == host for to in self.to)

    def secondaries(self) -> list[tuple[str, int]]:
        """The addresses to NOTIFY (every ``to`` but ``*``)."""
        return [to for to in self.to if to != "*"]


@implementer(IPlugin)
class Transfer:
    """Answers AXFR/IXFR for its zones; everything else goes to the next plugin."""

    def __init__(self, xfrs: list[Xfr], next_plugin: Any = None,
                 notifier: Notifier | None = None,
                 run: Callable[..., defer.Deferred] = threads.deferToThread) -> None:
        self.xfrs = xfrs
        self.next = next_plugin
        self.notifier = notifier or Notifier()
        self.sources: list[Any] = []
        #: how the messages are built: in a thread (tests pass ``defer.maybeDeferred``)
        self.run = run

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def use_sources(self, handlers: Iterable[Any]) -> None:
        """Take zones from the block's transfer sources and NOTIFY when they change."""
        self.sources = [h for h in handlers if h is not self and ITransferSource.providedBy(h)]
        for source in self.sources:
            source.OnZoneChange(self.zone_changed)

    def zone_changed(self, origin: str) -> None:
        """NOTIFY every listed secondary of ``origin`` (in the background)."""
        targets = [to for xfr in self.xfrs if origin in xfr.zones for to in xfr.secondaries()]
        for host, port in targets:
            self.notifier.notify(origin, host, port)
        if targets:
            log.info("Sent notifies for zone {zone!r} to {to}", zone=origin,
                     to=[f"{host}:{port}" for host, port in targets])

    def _xfr(self, qname: str) -> Xfr | None:
        """The ``transfer`` line whose zone is the longest match of ``qname``."""
        best, best_zone = None, None
        for xfr in self.xfrs:
            zone = longest_match(xfr.zones, qname)
            if zone is not None and (best_zone is None or len(zone) > len(best_zone)):
                best, best_zone = xfr, zone
        return best

    def ServeDNS(self, request: Request, writer: Any) -> Any:  # noqa: N802 - the contract
        qtype = request.qtype
        if qtype != TYPE_AXFR and qtype != TYPE_IXFR:
            return next_or_failure(NAME, self.next, request, writer)
        if request.proto != "tcp":
            return REFUSED
        xfr = self._xfr(request.qname_lower)
        if xfr is None:
            return next_or_failure(NAME, self.next, request, writer)
        if not xfr.allowed(request.client_host):
            return REFUSED
        serial = None
        if qtype == TYPE_IXFR:
            authority = request.message().authority
            if len(authority) != 1 or authority[0].rdtype != TYPE_SOA:
                return SERVFAIL
            serial = authority[0][0].serial
        for source in self.sources:
            try:
                zone = source.Transfer(request.qname_lower)
            except KeyError:
                continue
            if zone is None:
                return SERVFAIL
            break
        else:
            return next_or_failure(NAME, self.next, request, writer)
        if serial is not None and not serial_greater(zone.serial, serial):
            # the client is up to date: a single SOA (RFC 1995 4)
            writer.write(next(messages(request, list(wire.rrset_records(zone.soa)))))
            log.info("Outgoing noop, incremental transfer for up to date zone {zone!r} to"
                     " {client} for {serial} SOA serial", zone=request.qname_lower,
                     client=request.client_host, serial=zone.serial)
            return NOERROR
        request.deadline = TRANSFER_DEADLINE
        d = self.run(_build, request, zone)
        d.addCallback(self._send, request, writer, zone.serial)
        return d

    def _send(self, built: tuple[list[bytes], int], request: Request, writer: Any,
              serial: int) -> int:
        sent, count = built
        for data in sent:
            writer.write(data)
        log.info("Outgoing transfer of {count} records of zone {zone!r} to {client} for"
                 " {serial} SOA serial", count=count, zone=request.qname_lower,
                 client=request.client_host, serial=serial)
        return NOERROR


def messages(request: Request, records: list[tuple]) -> Iterator[bytes]:
    """The transfer's messages for ``records`` (see ``wire.transfer_messages``)."""
    return wire.transfer_messages(request, records, RECORDS_PER_MESSAGE, MAX_MESSAGE)


def _build(request: Request, zone: Any) -> tuple[list[bytes], int]:
    """The messages transferring ``zone`` and how many records they hold (in a thread)."""
    if hasattr(zone, "axfr_records"):
        records = zone.axfr_records()
    else:  # an ITransferSource zone of RRsets only
        records = [record for rrset in zone.axfr_rrsets()
                   for record in wire.rrset_records(rrset)]
    return list(messages(request, records)), len(records)

