"""CoreDNS's ``plugin/backend_lookup.go``: the records of each type from a ServiceBackend.

A backend (*kubernetes*, *etcd*) only finds :class:`Service` values for a name; these
functions make the records every such plugin answers with, the way CoreDNS does: addresses
behind CNAMEs followed inside the zone (at most :data:`MAX_CNAME_CHAIN` deep, no loops), SRV
targets made from the service's key with their addresses as additional records, weights
shared out per priority, NS at ``ns.dns.ZONE``, the SOA every negative answer carries.

A CNAME to a name outside the zone is completed by an upstream lookup. So these functions
are generators: they yield ``(name, qtype)`` when they need one, are sent the reply (a
``dns.message.Message``, or None when the lookup found nothing) and return their result;
:func:`run` drives them, at once when no lookup is needed (the common case, no Deferred),
else with the caller's ``lookup(name, qtype) -> Deferred``::

    outcome = run(a(backend, zone, state), lambda name, qtype: upstream.lookup(...))

The backend raises a :class:`BackendError` when it finds nothing; ``backend.is_name_error``
says which of them mean the name does not exist (NXDOMAIN).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

import dns.message
from twisted.internet import defer

from twisted_dns.names import is_subdomain
from twisted_dns.pkg.backend import records as rr
from twisted_dns.pkg.backend.records import Record
from twisted_dns.pkg.backend.service import (
    TYPE_A,
    TYPE_AAAA,
    TYPE_CNAME,
    TYPE_TXT,
    Service,
    domain,
    fqdn,
    parse_ip,
    strip_target,
)

#: how many CNAMEs an answer may follow inside the zone
MAX_CNAME_CHAIN = 10
#: the SOA's timers (CoreDNS's ``plugin.SOA``)
REFRESH, RETRY, EXPIRE = 7200, 1800, 86400

T = TypeVar("T")
#: what the functions here yield: an upstream lookup of (name, qtype)
Wanted = tuple[str, int]
Steps = Generator[Wanted, "dns.message.Message | None", T]


class BackendError(Exception):
    """A backend found nothing (or could not look): see ``ServiceBackend.is_name_error``."""


class State:
    """The question being answered (CoreDNS's ``request.Request`` as backends use it)."""

    __slots__ = ("name", "qname", "qtype", "request", "zone")

    def __init__(self, qname: str, qtype: int, zone: str, request: Any,
                 name: str | None = None) -> None:
        #: the name as asked (its case kept), absolute
        self.qname = qname
        #: the same, lower-case (``name`` when the caller has it already)
        self.name = qname.lower() if name is None else name
        self.qtype = qtype
        #: the zone it is answered in, in the query's case ("" when there is none)
        self.zone = zone
        #: the query itself (client, listener, EDNS), for lookups and client-dependent answers
        self.request = request

    def question(self, qname: str, qtype: int, zone: str | None = None) -> State:
        """The same query asking ``qname`` (made absolute) ``qtype`` instead
        (``NewWithQuestion``), in ``zone`` (default: this one)."""
        return State(fqdn(qname), qtype, self.zone if zone is None else zone, self.request)

    def __repr__(self) -> str:
        return f"<State {self.qname} type={self.qtype} zone={self.zone!r}>"


class ServiceBackend(Protocol):
    """What a backend provides (CoreDNS's ``plugin.ServiceBackend``); each raises a
    :class:`BackendError` when it finds nothing."""

    def services(self, state: State, exact: bool) -> list[Service]:
        """The services for ``state``'s name and type."""

    def reverse(self, state: State, exact: bool) -> list[Service]:
        """The services for the address a reverse name stands for (their hosts are names)."""

    def records(self, state: State, exact: bool) -> list[Service]:
        """Every service at ``state``'s name, whatever the type."""

    def is_name_error(self, error: BackendError) -> bool:
        """True when ``error`` means the name does not exist."""

    def serial(self, state: State) -> int:
        """The SOA serial."""

    def min_ttl(self, state: State) -> int:
        """The SOA's minimum TTL (and, up to 300, its TTL)."""


def run(steps: Steps[T], lookup: Callable[[str, int], defer.Deferred]) -> T | defer.Deferred:
    """What ``steps`` returns: the value itself when it needed no lookup, else a Deferred of
    it, each ``(name, qtype)`` it yields answered by ``lookup``."""
    try:
        wanted = next(steps)
    except StopIteration as done:
        return done.value
    return defer.ensureDeferred(_resume(steps, wanted, lookup))


async def _resume(steps: Steps[T], wanted: Wanted,
                  lookup: Callable[[str, int], defer.Deferred]) -> T:
    while True:
        found = await lookup(*wanted)
        try:
            wanted = steps.send(found)
        except StopIteration as done:
            return done.value


def a(backend: ServiceBackend, zone: str, state: State,
      previous: tuple[Record, ...] = ()) -> Steps[tuple[list[Record], bool]]:
    """The A records (and the CNAMEs leading to them); (records, truncated)."""
    return _chase(backend, zone, state, previous, TYPE_A)


def aaaa(backend: ServiceBackend, zone: str, state: State,
         previous: tuple[Record, ...] = ()) -> Steps[tuple[list[Record], bool]]:
    """The AAAA records (and the CNAMEs leading to them); (records, truncated)."""
    return _chase(backend, zone, state, previous, TYPE_AAAA)


def txt(backend: ServiceBackend, zone: str, state: State,
        previous: tuple[Record, ...] = ()) -> Steps[tuple[list[Record], bool]]:
    """The TXT records (and the CNAMEs leading to them); (records, truncated)."""
    return _chase(backend, zone, state, previous, TYPE_TXT)


def _chase(backend: ServiceBackend, zone: str, state: State, previous: tuple[Record, ...],
           want: int) -> Steps[tuple[list[Record], bool]]:
    """The records of type ``want`` (A, AAAA or TXT) the services give, CNAMEs followed:
    inside the zone by asking the backend again, outside it by an upstream lookup."""
    if want == TYPE_TXT:
        services = backend.services(state, False)
    else:
        services = _check_for_apex(backend, zone, state)
    records: list[Record] = []
    truncated = False
    seen: set[str] = set()
    zone_lower = zone.lower()
    for serv in services:
        what, address = serv.host_type()
        if what == TYPE_CNAME:
            target = fqdn(serv.host)
            if is_subdomain(target.lower(), state.name):
                continue  # x CNAME x (or below x) is a loop
            record = rr.cname(state.qname, serv.ttl, target)
            if len(previous) > MAX_CNAME_CHAIN or _duplicate_cname(record, previous):
                continue
            if is_subdomain(target.lower(), zone_lower):
                try:
                    found, tc = yield from _chase(backend, zone,
                                                  state.question(target, state.qtype),
                                                  (*previous, record), want)
                except BackendError:
                    continue
                truncated = truncated or tc
                if found:
                    records.append(record)
                    records.extend(found)
                continue
            reply = yield target, state.qtype
            if reply is None:
                continue
            if want != TYPE_TXT and reply.flags & 0x0200:  # TC (CoreDNS's TXT ignores it)
                truncated = True
            records.append(record)
            records.extend(rr.from_message(reply))
        elif what == want:
            value = serv.text if want == TYPE_TXT else serv.host
            if value in seen:
                continue
            seen.add(value)
            if want == TYPE_TXT:
                records.append(rr.txt(state.qname, serv.ttl, split255(serv.text.encode())))
            else:
                records.append(rr.a(state.qname, serv.ttl, address))
    return records, truncated


def _duplicate_cname(record: Record, previous: tuple[Record, ...]) -> bool:
    return any(r.rdtype == TYPE_CNAME and r.rdata == record.rdata for r in previous)


def split255(text: bytes) -> list[bytes]:
    """A TXT value in strings of 255 octets, as ``msg.split255`` cuts it (a value of exactly
    255 octets and its multiples end with an empty string)."""
    if len(text) < 255:
        return [text]
    return [text[i:i + 255] for i in range(0, len(text) + 1, 255)]


def _weights(services: list[Service]) -> dict[int, int]:
    """The total weight of each priority (an unset weight counts 100)."""
    totals: dict[int, int] = {}
    for serv in services:
        totals[serv.priority] = totals.get(serv.priority, 0) + (serv.weight or 100)
    return totals


def _target(host: str, strip: int) -> str:
    target = fqdn(host)
    return strip_target(target, strip) if strip > 0 else target


def srv(backend: ServiceBackend, zone: str,
        state: State) -> Steps[tuple[list[Record], list[Record]]]:
    """The SRV records and their targets' addresses; (records, additional)."""
    services = backend.services(state, False)
    records: list[Record] = []
    extra: list[Record] = []
    seen: set[tuple[str, int, str]] = set()
    looked_up: set[str] = set()
    totals = _weights(services)
    for serv in services:
        if serv.port == -1:  # no port declared (kubernetes)
            continue
        share = 100.0 / totals[serv.priority] * (serv.weight or 100)
        weight = max(math.floor(share), 1)
        what, address = serv.host_type()
        if what == TYPE_CNAME:
            target = _target(serv.host, serv.target_strip)
            records.append(rr.srv(state.qname, serv.ttl, serv.priority, weight, serv.port,
                                  target))
            extra.extend((yield from _target_addresses(backend, zone, state, target,
                                                       looked_up)))
        elif what in (TYPE_A, TYPE_AAAA):
            target = _target(domain(serv.key), serv.target_strip)
            if _first(seen, target, "", serv.port):
                records.append(rr.srv(state.qname, serv.ttl, serv.priority, weight,
                                      serv.port, target))
            if _first(seen, target, serv.host, 0):
                extra.append(rr.a(target, serv.ttl, address))
    return records, extra


def mx(backend: ServiceBackend, zone: str,
       state: State) -> Steps[tuple[list[Record], list[Record]]]:
    """The MX records (services marked ``mail``) and their exchanges' addresses."""
    services = backend.services(state, False)
    records: list[Record] = []
    extra: list[Record] = []
    seen: set[tuple[str, int, str]] = set()
    looked_up: set[str] = set()
    for serv in services:
        if not serv.mail:
            continue
        what, address = serv.host_type()
        if what == TYPE_CNAME:
            target = _target(serv.host, serv.target_strip)
            records.append(rr.mx(state.qname, serv.ttl, serv.priority, target))
            extra.extend((yield from _target_addresses(backend, zone, state, target,
                                                       looked_up)))
        elif what in (TYPE_A, TYPE_AAAA):
            host = domain(serv.key)
            target = _target(host, serv.target_strip)
            if _first(seen, target, "", serv.priority):
                records.append(rr.mx(state.qname, serv.ttl, serv.priority, target))
            if _first(seen, host, serv.host, 0):  # the address at the unstripped name
                extra.append(rr.a(host, serv.ttl, address))
    return records, extra


def _target_addresses(backend: ServiceBackend, zone: str, state: State, target: str,
                      looked_up: set[str]) -> Steps[list[Record]]:
    """The addresses of an SRV or MX target that is a name, once per target: from upstream
    outside the zone (A, then AAAA without its CNAMEs), else the backend's A records."""
    if target in looked_up:
        return []
    looked_up.add(target)
    found: list[Record] = []
    if not is_subdomain(target.lower(), zone.lower()):
        reply = yield target, TYPE_A
        if reply is not None:
            found.extend(rr.from_message(reply))
        reply = yield target, TYPE_AAAA
        if reply is not None:
            found.extend(r for r in rr.from_message(reply) if r.rdtype != TYPE_CNAME)
        return found
    # as CoreDNS, the target is asked without the zone (NewWithQuestion does not keep it)
    try:
        addresses, _ = yield from a(backend, zone, state.question(target, TYPE_A, zone=""))
    except BackendError:
        return []
    return addresses


def _first(seen: set[tuple[str, int, str]], name: str, address: str, port: int) -> bool:
    """True the first time (name, address) or, without an address, (name, port) comes
    (``isDuplicate``, negated)."""
    key = (name, 0, address) if address else (name, port, "")
    if key in seen:
        return False
    seen.add(key)
    return True


def cname(backend: ServiceBackend, zone: str, state: State) -> list[Record]:
    """The CNAME of the first service, when its host is a name."""
    services = backend.services(state, True)
    if services and parse_ip(services[0].host) is None:
        serv = services[0]
        return [rr.cname(state.qname, serv.ttl, fqdn(serv.host))]
    return []


def ptr(backend: ServiceBackend, zone: str, state: State) -> list[Record]:
    """The PTR records: one per service whose host is a name."""
    records: list[Record] = []
    seen: set[str] = set()
    for serv in backend.reverse(state, True):
        if parse_ip(serv.host) is None and serv.host not in seen:
            seen.add(serv.host)
            records.append(rr.ptr(state.qname, serv.ttl, fqdn(serv.host)))
    return records


def ns(backend: ServiceBackend, zone: str,
       state: State) -> tuple[list[Record], list[Record]]:
    """The zone's NS records and their addresses: the services at ``ns.dns.ZONE``."""
    services = backend.services(state.question(join("ns.dns", zone), state.qtype), False)
    records: list[Record] = []
    extra: list[Record] = []
    seen: set[str] = set()
    for serv in services:
        what, address = serv.host_type()
        if what == TYPE_CNAME:
            raise BackendError(f"NS record must be an IP address: {serv.host}")
        if what in (TYPE_A, TYPE_AAAA):
            target = _target(domain(serv.key), serv.target_strip)
            extra.append(rr.a(target, serv.ttl, address))
            if target in seen:
                continue
            seen.add(target)
            records.append(rr.ns(state.qname, serv.ttl, target))
    return records, extra


def soa(backend: ServiceBackend, zone: str, state: State) -> Record:
    """The zone's SOA: ``ns.dns.ZONE``, ``hostmaster.ZONE``, the backend's serial and minimum
    TTL (the record's TTL is that minimum, at most 300)."""
    minimum = backend.min_ttl(state)
    return rr.soa(zone, min(minimum, 300), join("ns.dns", zone), join("hostmaster", zone),
                  backend.serial(state), REFRESH, RETRY, EXPIRE, minimum)


def error_reply(backend: ServiceBackend, zone: str, rcode: int, state: State) -> bytes:
    """The authoritative reply with ``rcode`` and the zone's SOA in the authority section
    (``plugin.BackendError``): NXDOMAIN, NODATA (NOERROR) or SERVFAIL."""
    return rr.reply(state.request, rcode, authority=[soa(backend, zone, state)])


def join(label: str, zone: str) -> str:
    """``dnsutil.Join(label, zone)``: ``label`` in front of ``zone``, absolute."""
    return fqdn(label) if zone == "." else f"{label}.{fqdn(zone)}"


def _check_for_apex(backend: ServiceBackend, zone: str, state: State) -> list[Service]:
    """At the zone's own name, the services of ``apex.dns.ZONE`` when the backend has some;
    the name's own services otherwise. (As CoreDNS, the name compares lower-case with the
    zone in the query's case: a query in upper case just asks the name.)"""
    if state.name != zone:
        return backend.services(state, False)
    try:
        return backend.services(state.question(join("apex.dns", zone), state.qtype), False)
    except BackendError:
        return backend.services(state, False)
