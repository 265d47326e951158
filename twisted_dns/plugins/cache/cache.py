"""The *cache* handler: CoreDNS's ``plugin/cache`` (``handler.go``, ``cache.go``) on wire bytes.

A query is looked up by (lower-case name, type, class, DO, CD) in the denial store, then the
success store. A hit is written from the entry's bytes (see :mod:`.storage`) and may start a
background refresh (prefetch, or an expired entry served stale). A miss goes down the chain
through a :class:`CacheWriter`, which types the reply (:mod:`twisted_dns.pkg.response`), reads
its layout (:mod:`.layout`), stores it when CoreDNS would, and sends the client the reply with
its TTLs set to the cached duration.

Time is the reactor's (``IReactorTime.seconds``); background refreshes run from
``callLater(0)``, after the hit has been answered.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import dns.message
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin, IResponseWriter
from twisted_dns.names import longest_match
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.pkg.response import Type, typify
from twisted_dns.plugins.cache.layout import Layout, read_layout
from twisted_dns.plugins.cache.storage import DENIAL, SUCCESS, Entry, Store, effective_capacity
from twisted_dns.response import rcode_of, to_wire
from twisted_dns.wire import NOERROR, NXDOMAIN, SERVFAIL

NAME = "cache"
log = Logger(namespace=NAME)

_OPCODE = 0x7800

#: CoreDNS's dnsutil.MinimalDefaultTTL and MaximumDefaulTTL
MIN_TTL = 5
MAX_TTL = 3600
MAX_NTTL = MAX_TTL // 2
DEFAULT_CAPACITY = 10000

_SUCCESS_TYPES = frozenset((Type.NOERROR, Type.DELEGATION))
_DENIAL_TYPES = frozenset((Type.NAMEERROR, Type.NODATA))
_UNCACHED_TYPES = frozenset((Type.OTHERERROR, Type.META, Type.UPDATE))
#: the types kept for their records' lowest TTL (the others for MIN_TTL, as dnsutil.MinimalTTL)
_TTL_TYPES = frozenset((Type.NOERROR, Type.NAMEERROR, Type.NODATA))


@dataclass
class Config:
    """The directive's settings (durations in seconds), CoreDNS's defaults."""

    zones: list[str] = field(default_factory=lambda: ["."])
    success_capacity: int = DEFAULT_CAPACITY
    success_ttl: int = MAX_TTL
    success_min_ttl: int = MIN_TTL
    denial_capacity: int = DEFAULT_CAPACITY
    denial_ttl: int = MAX_NTTL
    denial_min_ttl: int = MIN_TTL
    servfail_ttl: float = MIN_TTL
    prefetch: int = 0
    prefetch_window: float = 60.0
    prefetch_percentage: int = 10
    #: serve expired entries this long after expiry (0: never)
    stale_up_to: float = 0.0
    verify_stale: bool = False
    #: zones where success / denial replies are not cached (``disable``)
    success_except: list[str] = field(default_factory=list)
    denial_except: list[str] = field(default_factory=list)
    keepttl: bool = False


def _clamp(ttl: int, low: int, high: int) -> int:
    return high if ttl > high else low if ttl < low else ttl


@implementer(IPlugin)
class Cache:
    """The cache link of a chain; its counters are CoreDNS's ``coredns_cache_*`` metrics."""

    def __init__(self, next_plugin: Any, config: Config, reactor: Any) -> None:
        self.next = next_plugin
        self.config = config
        self._reactor = reactor
        self._seconds = reactor.seconds
        # None for ".": every name is ours, skip the zone match on the hot path
        self._zones = None if "." in config.zones else list(config.zones)
        self.pcache = Store(SUCCESS, effective_capacity(config.success_capacity))
        self.ncache = Store(DENIAL, effective_capacity(config.denial_capacity))
        self._successes = self.pcache.items
        self._denials = self.ncache.items
        self._stale_up_to = config.stale_up_to
        self._prefetch = config.prefetch
        self._keepttl = config.keepttl
        #: listener address (``request.server``) -> what was counted of its queries
        self.counts: dict[tuple, Counts] = {}

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer):  # noqa: N802 - the IPlugin contract
        zones = self._zones
        if request.flags & _OPCODE or (
                zones is not None and longest_match(zones, request.qname_lower) is None):
            return next_or_failure(NAME, self.next, request, writer)
        now = self._seconds()
        key = (request.qname_lower, request.qtype, request.qclass, request.do,
               request.flags & wire.CD)
        counts = self.counts.get(request.server)
        if counts is None:
            counts = self.counts[request.server] = Counts()
        counts.requests += 1
        # the lookup, inlined (the hot path): the denial store first, then success, as CoreDNS
        entry = self._denials.get(key)
        if entry is not None:
            ttl = entry.orig_ttl - int(now - entry.stored)
            if ttl > 0 or (self._stale_up_to and -ttl < self._stale_up_to):
                self._denials.move_to_end(key)
                counts.denial_hits += 1
            else:
                entry = None
        if entry is None:
            entry = self._successes.get(key)
            if entry is not None:
                ttl = entry.orig_ttl - int(now - entry.stored)
                if ttl > 0 or (self._stale_up_to and -ttl < self._stale_up_to):
                    self._successes.move_to_end(key)
                    counts.success_hits += 1
                else:
                    entry = None
            if entry is None:
                counts.misses += 1
                return next_or_failure(NAME, self.next, request,
                                       CacheWriter(self, request, writer, key))
        if ttl < 0:
            if self.config.verify_stale:
                return self._verify(request, writer, key, entry)
            counts.served_stale += 1
            self._refresh_later(request, key, entry, now)
            ttl = 0
        elif self._prefetch and self._should_prefetch(entry, ttl, now):
            self._refresh_later(request, key, entry, now)
        writer.write(entry.reply(request, entry.orig_ttl if self._keepttl else ttl))
        return NOERROR

    def _should_prefetch(self, entry: Entry, ttl: int, now: float) -> bool:
        config = self.config
        hits = entry.hit(config.prefetch_window, now)
        threshold = math.ceil(config.prefetch_percentage / 100 * entry.orig_ttl)
        return hits >= self._prefetch and ttl <= threshold

    # Stale entries.

    def _verify(self, request, writer, key: tuple, entry: Entry):
        """``serve_stale ... verify``: ask the chain first; the stale entry only if that fails."""
        verifier = CacheWriter(self, request, writer, key, verify=True)

        def answered(rcode: int) -> int:
            if verifier.refreshed:
                return rcode
            self._counts(request).served_stale += 1
            writer.write(entry.reply(request, entry.orig_ttl if self._keepttl else 0))
            return NOERROR

        try:
            result = next_or_failure(NAME, self.next, request, verifier)
        except Exception:
            log.failure("plugin/cache: verifying a stale entry for {qname} failed",
                        qname=request.qname)
            return answered(SERVFAIL)
        if isinstance(result, int):
            return answered(result)
        return as_deferred(result).addErrback(self._refresh_failed, request).addCallback(
            answered)

    # Background refreshes (prefetch and serve_stale's immediate mode).

    def _refresh_later(self, request, key: tuple, entry: Entry, now: float) -> None:
        if entry.refreshing:
            return
        entry.refreshing = True
        # CoreDNS asks as if over TCP, so the refreshed reply is not cut to a UDP size
        detached = copy.copy(request)
        detached.proto = "tcp"
        self._reactor.callLater(0, self._refresh, detached, key, entry, now)

    def _refresh(self, request, key: tuple, entry: Entry, now: float) -> None:
        self._counts(request).prefetches += 1
        try:
            result = next_or_failure(NAME, self.next, request,
                                     CacheWriter(self, request, None, key))
        except Exception:
            log.failure("plugin/cache: refreshing {qname} failed", qname=request.qname)
            result = SERVFAIL
        d = as_deferred(result)
        d.addErrback(self._refresh_failed, request)
        d.addCallback(self._refreshed, key, entry, now)

    def _refresh_failed(self, failure, request) -> int:
        log.failure("plugin/cache: refreshing {qname} failed", failure, qname=request.qname)
        return SERVFAIL

    def _refreshed(self, _rcode: int, key: tuple, entry: Entry, now: float) -> None:
        entry.refreshing = False
        # the new entry keeps the popularity the old one gathered (CoreDNS's Freq.Reset)
        fresh = self.ncache.peek(key) or self.pcache.peek(key)
        if fresh is not None and fresh is not entry:
            fresh.freq_last = now
            fresh.freq_hits = entry.freq_hits

    # Inserting.

    def admit(self, request, key: tuple, reply: Any) -> Entry | None:
        """Store ``reply`` when CoreDNS would; the entry it makes, None if it is not cacheable.

        The entry is returned even when ``disable`` keeps it out of the store, so the reply
        to the client gets the same TTLs either way.
        """
        if isinstance(reply, dns.message.Message):
            try:
                data = to_wire(reply)
            except Exception:
                return None
        else:
            data = bytes(reply)
        now = self._seconds()
        kind = typify(data, now)  # a message that does not read is OTHERERROR
        if kind in _UNCACHED_TYPES:
            return None
        try:
            layout = read_layout(data)
        except wire.Malformed:
            return None
        if layout.flags & (wire.TC | _OPCODE):
            return None
        if kind == Type.NAMEERROR and layout.soa_minimum is None:
            return None  # as CoreDNS: a denial's TTL needs the SOA
        config = self.config
        if kind in _DENIAL_TYPES:
            ttl = _clamp(_message_ttl(kind, layout), config.denial_min_ttl, config.denial_ttl)
        elif kind == Type.SERVERERROR:
            ttl = int(config.servfail_ttl)
        else:
            ttl = _clamp(_message_ttl(kind, layout), config.success_min_ttl, config.success_ttl)
        question = data[12:layout.question_end]
        asked = request.question_wire
        if question[-4:] != asked[-4:] or question[:-4].lower() != asked[:-4].lower():
            if ttl > 0:
                self._counts(request).drops += 1
            return None
        entry = Entry(data, layout, SUCCESS if kind in _SUCCESS_TYPES else DENIAL, ttl, now)
        if ttl > 0 and self._store(request.qname_lower, key, entry):
            counts = self._counts(request)
            if entry.kind == SUCCESS:
                counts.success_evictions += 1
            else:
                counts.denial_evictions += 1
        return entry

    def _store(self, qname: str, key: tuple, entry: Entry) -> bool:
        """Store ``entry``; True when that evicted another."""
        if entry.kind == SUCCESS:
            store, other, excepted = self.pcache, self.ncache, self.config.success_except
        else:
            store, other, excepted = self.ncache, self.pcache, self.config.denial_except
        if excepted and longest_match(excepted, qname) is not None:
            return False
        evicted = store.add(key, entry)
        # the other store's entry for this key is now outdated (and would be found first)
        other.remove(key)
        return evicted

    def _counts(self, request) -> Counts:
        counts = self.counts.get(request.server)
        if counts is None:
            counts = self.counts[request.server] = Counts()
        return counts

    def metrics(self) -> dict[str, Any]:
        """The counters under CoreDNS's metric names, summed over the listeners (by
        ``type`` where CoreDNS labels it); :mod:`.metrics` exports them by listener."""
        total = Counts()
        for counts in self.counts.values():
            total.add(counts)
        return {
            "coredns_cache_entries": {SUCCESS: len(self.pcache), DENIAL: len(self.ncache)},
            "coredns_cache_hits_total": {SUCCESS: total.success_hits, DENIAL: total.denial_hits},
            "coredns_cache_misses_total": total.misses,
            "coredns_cache_requests_total": total.requests,
            "coredns_cache_prefetch_total": total.prefetches,
            "coredns_cache_drops_total": total.drops,
            "coredns_cache_served_stale_total": total.served_stale,
            "coredns_cache_evictions_total": {SUCCESS: total.success_evictions,
                                              DENIAL: total.denial_evictions},
        }


class Counts:
    """What one cache counted of the queries one listener brought (CoreDNS's ``server``)."""

    __slots__ = ("denial_evictions", "denial_hits", "drops", "misses", "prefetches", "requests",
                 "served_stale", "success_evictions", "success_hits")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def add(self, other: Counts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _message_ttl(kind: Type, layout: Layout) -> int:
    """CoreDNS's ``dnsutil.MinimalTTL``, with RFC 2308's SOA MINIMUM cap for denials."""
    if layout.min_ttl is None or kind not in _TTL_TYPES:
        return MIN_TTL
    ttl = min(layout.min_ttl, MAX_TTL)
    if kind in _DENIAL_TYPES and layout.soa_minimum is not None:
        ttl = min(ttl, layout.soa_minimum)
    return ttl


@implementer(IResponseWriter)
class CacheWriter:
    """What the chain below a cache miss writes to (CoreDNS's cache ``ResponseWriter``).

    Stores the reply and sends the client its cached form; with ``writer`` None (a prefetch
    or a stale entry's refresh) it only stores. With ``verify`` (``serve_stale ... verify``)
    only NOERROR and NXDOMAIN replies count: anything else is dropped and ``refreshed`` stays
    False, so the stale entry is served instead.
    """

    __slots__ = ("cache", "key", "rcode", "refreshed", "request", "size", "verify", "writer",
                 "written")

    def __init__(self, cache: Cache, request, writer: Any, key: tuple,
                 verify: bool = False) -> None:
        self.cache = cache
        self.request = request
        self.writer = writer
        self.key = key
        self.verify = verify
        self.refreshed = False
        self.written = False
        self.rcode: int | None = None
        self.size = 0

    def write(self, reply: bytes | dns.message.Message) -> None:
        rcode = rcode_of(reply)
        if self.verify and rcode not in (NOERROR, NXDOMAIN):
            return
        self.refreshed = True
        self.written = True
        self.rcode = rcode
        entry = self.cache.admit(self.request, self.key, reply)
        writer = self.writer
        if writer is None:
            return
        if entry is None:
            writer.write(reply)
        else:
            # CoreDNS sends every record with the cached duration as its TTL
            writer.write(entry.reply(self.request, entry.orig_ttl, hit=False))
        self.size = getattr(writer, "size", 0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
