"""Cache entries kept as wire bytes, and the capacity-bound stores holding them.

An :class:`Entry` is a reply cut in three at insert time: the header's flags and counts, the
question (replaced by each client's own, so the name keeps the client's case), and the body
(every record but the OPT). A hit joins a fresh header, the client's question, the body with
its TTL fields patched for the entry's age, and an OPT built for the client: a few ``struct``
calls and one ``bytes.join``, never dnspython. The patched body is kept until the remaining
TTL changes, so a busy name pays for the patching once a second.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

from twisted_dns import wire
from twisted_dns.plugins.cache.layout import Layout

_ID_FLAGS = struct.Struct("!HH")
_COUNTS = struct.Struct("!HHHH")
_TTL = struct.Struct("!I")

#: flags a reply takes from the query (miekg/dns ``SetReply``): RD and CD
_FROM_QUERY = wire.RD | wire.CD
#: flags of the stored reply that are per query: RD, CD, AD (and TC, never stored)
_PER_QUERY = wire.RD | wire.CD | wire.AD | wire.TC

#: (udp size, DO) -> the OPT record for replies to EDNS clients without options to echo
_OPTS: dict[tuple[int, bool], bytes] = {}

SUCCESS = "success"
DENIAL = "denial"

#: CoreDNS sizes a cache in 256 shards of at least 4 entries each
SHARDS = 256
MIN_SHARD = 4


def effective_capacity(capacity: int) -> int:
    """The size CoreDNS really gives a cache of ``capacity``: 256 equal shards, 1024 at least."""
    return max(capacity // SHARDS, MIN_SHARD) * SHARDS


class Entry:
    """One cached reply, ready to be replayed to any client asking the same question."""

    __slots__ = ("_patched", "_patched_ttl", "_ttl_offsets", "ad", "body", "counts",
                 "counts_opt", "flags", "freq_hits", "freq_last", "kind", "orig_ttl",
                 "refreshing", "stored")

    def __init__(self, data: bytes, layout: Layout, kind: str, ttl: int, now: float) -> None:
        body_start = layout.question_end
        self.body = data[body_start:layout.body_end]
        # the TTL offsets, made relative to the body
        self._ttl_offsets = tuple(off - body_start for off in layout.ttl_offsets)
        self.flags = layout.flags & ~_PER_QUERY & 0xFFFF
        self.ad = bool(layout.flags & wire.AD)
        # the header's counts without and with the OPT record a reply to an EDNS client gets
        self.counts = _COUNTS.pack(1, layout.ancount, layout.nscount, layout.arcount)
        self.counts_opt = _COUNTS.pack(1, layout.ancount, layout.nscount, layout.arcount + 1)
        #: "success" or "denial": the store it lives in
        self.kind = kind
        #: the TTL it was cached with, and when (reactor seconds); what is left is
        #: ``orig_ttl - int(now - stored)``, whole seconds as CoreDNS counts them
        self.orig_ttl = ttl
        self.stored = now
        #: prefetch popularity (CoreDNS's ``freq.Freq``): last hit time, hits in a row
        self.freq_last = float("-inf")
        self.freq_hits = 0
        #: a background refresh is under way (at most one per entry)
        self.refreshing = False
        self._patched_ttl = -1
        self._patched = self.body

    def reply(self, request, ttl: int, hit: bool = True) -> bytes:
        """The reply for ``request`` with every TTL set to ``ttl`` (clamped at 0); AA set when
        it is a ``hit`` (not the reply just stored)."""
        if ttl != self._patched_ttl:
            self._patch(ttl)
        qflags = request.flags
        flags = self.flags | (qflags & _FROM_QUERY)
        if hit:  # AA on every hit, as CoreDNS (item.toMsg: some stubs drop replies without)
            flags |= wire.AA
        # AD only for a client that can use it: DO set, or AD in its query (RFC 6840 5.7-5.8)
        if self.ad and (request.do or qflags & wire.AD):
            flags |= wire.AD
        head = _ID_FLAGS.pack(request.id, flags)
        if request.edns:
            return b"".join((head, self.counts_opt, request.question_wire, self._patched,
                             _opt(request)))
        return b"".join((head, self.counts, request.question_wire, self._patched))

    def _patch(self, ttl: int) -> None:
        ttl = max(ttl, 0)
        body = bytearray(self.body)
        pack_into = _TTL.pack_into
        for off in self._ttl_offsets:
            pack_into(body, off, ttl)
        self._patched = bytes(body)
        self._patched_ttl = ttl

    def hit(self, window: float, now: float) -> int:
        """Count a hit for prefetching: hits in a row with gaps below ``window`` seconds."""
        if self.freq_last < now - window:
            self.freq_hits = 1
        else:
            self.freq_hits += 1
        self.freq_last = now
        return self.freq_hits


def _opt(request) -> bytes:
    """The OPT record for a reply to an EDNS client: the client's size, DO mirrored, known
    options."""
    options = wire.echoed_options(request)
    if options:
        return wire.opt(request.reply_payload, request.do, options=options)
    key = (request.reply_payload, request.do)
    opt = _OPTS.get(key)
    if opt is None:
        opt = _OPTS[key] = wire.opt(request.reply_payload, request.do)
    return opt


class Store:
    """Entries by key, at most ``capacity`` of them; the least recently used one goes first.

    ``items`` is open to the handler's inlined lookup (which keeps the LRU order itself).
    """

    __slots__ = ("capacity", "items", "kind")

    def __init__(self, kind: str, capacity: int) -> None:
        self.kind = kind
        self.capacity = capacity
        self.items: OrderedDict[tuple, Entry] = OrderedDict()

    def peek(self, key: tuple) -> Entry | None:
        """The entry under ``key`` without touching its recency."""
        return self.items.get(key)

    def add(self, key: tuple, entry: Entry) -> bool:
        """Store ``entry`` (replacing one under the same key); True when another was evicted."""
        items = self.items
        if key in items:
            items[key] = entry
            items.move_to_end(key)
            return False
        items[key] = entry
        if len(items) > self.capacity:
            items.popitem(last=False)
            return True
        return False

    def remove(self, key: tuple) -> None:
        self.items.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)
