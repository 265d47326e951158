"""A zone held in memory and indexed for fast lookups; :class:`Zones`, the zones a plugin serves.

Zones are immutable once built: to change one, build a new Zone and swap it in
(:meth:`Zones.replace`). The package's face (``twisted_dns.plugins.file``) shows how other
plugins use both; this is how they work.

How lookups stay cheap: every owner name gets a dict ``{rdtype: RRset}`` (from a file, when a
lookup first reads the name: :mod:`.masterfile` keeps its records as checked text until then,
so a million-record zone loads in seconds); the set of names that exist (owners plus empty
non-terminals) and, for each name below a zone cut or a DNAME, the topmost cut or DNAME above
it are precomputed. A lookup is then a few dict hits (:mod:`.lookup` holds the algorithm, over
this index; :mod:`.xfr` reads it for transfers out; both read its underscored attributes). A
name no lookup has read yet can answer plain types straight from the file's text
(:meth:`Zone.wire_answer`), without making RRsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import dns.name
import dns.rrset

from twisted_dns import wire
from twisted_dns.names import longest_match, parent
from twisted_dns.plugins.file import masterfile, xfr, zonefile
from twisted_dns.plugins.file.lookup import Result
from twisted_dns.plugins.file.lookup import lookup as _lookup
from twisted_dns.plugins.file.names import key_of
from twisted_dns.plugins.file.zonefile import ZoneError

A, NS, CNAME, SOA, AAAA, DNAME, RRSIG, NSEC = 1, 2, 5, 6, 28, 39, 46, 47
IN = 1

#: types whose answer has no additional section: :meth:`Zone.wire_answer` may give it
_PLAIN_TYPES = frozenset((A, AAAA, 12, 16, 99))  # A, AAAA, PTR, TXT, SPF


class Zone:
    """One zone's records, indexed by owner name; built by the ``from_*`` constructors."""

    def __init__(self, origin: dns.name.Name, rrsets: Iterable[dns.rrset.RRset] = (),
                 source: str = "<rrsets>", copy: bool = True,
                 raw: masterfile.RawZone | None = None) -> None:
        self.origin = origin
        self.origin_text = key_of(origin)
        self.source = source
        #: owner (lower-case text) -> {rdtype: RRset}, or the records :mod:`masterfile`
        #: read, made RRsets by :meth:`_node` when first read; RRSIGs live in ``_sigs``
        self._nodes: dict[str, dict[int, dns.rrset.RRset] | list] = {}
        #: (owner, covered type) -> RRSIG RRset
        self._sigs: dict[tuple[str, int], dns.rrset.RRset] = {}
        owners: dict[int, set[str]] | None = None
        if raw is not None:
            self._nodes = raw.nodes
            owners = raw.owners
            for owner in owners[RRSIG]:
                self._node(owner)  # RRSIGs are looked up by what they cover: make them now
        for rrset in rrsets:
            self._add(rrset, copy)
        apex = self._node(self.origin_text) or {}
        soa = apex.get(SOA)
        if soa is None:
            raise ZoneError(f"no SOA record for origin {origin}", source)
        self.soa = soa
        #: the SOA of negative answers: TTL the lesser of its own and MINIMUM (RFC 2308)
        self.negative_soa = soa
        if soa[0].minimum < soa.ttl:
            self.negative_soa = dns.rrset.RRset(soa.name, soa.rdclass, SOA)
            self.negative_soa.update(soa)
            self.negative_soa.ttl = soa[0].minimum
        self.apex_ns: list[dns.rrset.RRset] = [apex[NS]] if NS in apex else []
        self.signed = bool(self._sigs)
        self._index(owners)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, origin: str | dns.name.Name,
                  filename: str = "<string>") -> Zone:
        """Parse master-file text ($ORIGIN, $TTL, $INCLUDE, $GENERATE, relative names)."""
        if isinstance(origin, str):
            try:
                origin = dns.name.from_text(origin)
            except dns.exception.DNSException as e:  # e.g. a label too long, bad IDNA
                raise ZoneError(f"invalid origin {origin}: {e}", filename) from None
        raw = masterfile.read(text, origin, filename)
        if raw is not None:
            with masterfile.collector_paused():
                return cls(origin, source=filename, raw=raw)
        return cls(origin, zonefile.rrsets(text, origin, filename), filename, copy=False)

    @classmethod
    def from_file(cls, path: str, origin: str | dns.name.Name) -> Zone:
        """Read a zone file; a relative ``$INCLUDE`` is read from the zone file's folder."""
        return cls.from_text(zonefile.text_of(path), origin, path)

    @classmethod
    def from_rrsets(cls, origin: str | dns.name.Name, rrsets: Iterable[dns.rrset.RRset],
                    source: str = "<rrsets>") -> Zone:
        """A zone from RRsets (absolute owner names), e.g. those an AXFR brought.

        The same RRset may come twice (AXFR repeats the SOA): records are merged.
        """
        origin = dns.name.from_text(origin) if isinstance(origin, str) else origin
        return cls(origin, rrsets, source)

    def _add(self, rrset: dns.rrset.RRset, copy: bool = True) -> None:
        """File ``rrset`` under its owner; a copy unless it is ours (``copy=False``: fresh
        RRsets each seen once, as :meth:`from_text` makes: copying re-hashes every rdata)."""
        if not rrset.name.is_subdomain(self.origin):
            raise ZoneError(f"{rrset.name} is not in zone {self.origin}", self.source)
        owner = key_of(rrset.name)
        if rrset.rdtype == RRSIG:
            store, key = self._sigs, (owner, rrset.covers)
        else:
            store, key = self._node(owner), rrset.rdtype
            if store is None:
                store = self._nodes[owner] = {}
        known = store.get(key)
        if known is None:
            if copy:
                mine = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers)
                mine.update(rrset)
                rrset = mine
            store[key] = rrset
        else:
            known.union_update(rrset)

    def _index(self, owners: dict[int, set[str]] | None) -> None:
        """Precompute names (with empty non-terminals), cuts, DNAMEs and what hides what.

        ``owners``: the owners of each of NS, DNAME and NSEC as :mod:`masterfile` noted them
        (None: read them off the RRsets).
        """
        origin = self.origin_text
        names = {origin}
        add = names.add
        for owner in self._nodes:
            name = owner
            while name not in names:
                add(name)
                name = parent(name)
        self._names = frozenset(names)

        def having(rdtype: int) -> frozenset[str]:
            if owners is not None:
                return frozenset(owners[rdtype])
            return frozenset(n for n, node in self._nodes.items() if rdtype in node)

        self.cuts = having(NS) - {origin}
        self.dnames = having(DNAME)
        self._stops = self.cuts | self.dnames
        #: name -> the topmost cut (at or above it) or DNAME (above it) that takes a query
        #: for it away from this zone's data
        self._hidden_by: dict[str, str] = {}
        if self._stops:
            self._hide(names)
        self._wildcards = any(n.startswith("*.") for n in self._nodes)
        self._nsec_order: list[dns.name.Name] = sorted(
            dns.name.from_text(n) for n in having(NSEC))

    def _hide(self, names: Iterable[str]) -> None:
        """Fill ``_hidden_by``, each name once: a name's answer comes from its parent's."""
        origin = self.origin_text
        #: name -> the cut or DNAME taking queries for names strictly below it (or None)
        below: dict[str, str | None] = {origin: origin if origin in self.dnames else None}
        for name in names:
            chain = []
            while name not in below:
                chain.append(name)
                name = parent(name)
            above = below[name]
            for step in reversed(chain):
                hidden = above if above is not None else (step if step in self.cuts else None)
                if hidden is not None:
                    self._hidden_by[step] = hidden
                above = below[step] = hidden or (step if step in self._stops else None)

    def _below(self, name: str) -> str | None:
        """The cut or DNAME that takes queries for names strictly below ``name``."""
        hidden = self._hidden_by.get(name)
        if hidden is not None:
            return hidden
        if name in self._stops:
            return name
        return None

    # -- reading -------------------------------------------------------------------------

    @property
    def serial(self) -> int:
        return self.soa[0].serial

    def __contains__(self, qname_lower: str) -> bool:
        """True when the name exists in the zone (owner or empty non-terminal)."""
        return qname_lower in self._names

    def get(self, name: str, rdtype: int) -> dns.rrset.RRset | None:
        """The RRset at ``name`` (lower-case text) of ``rdtype``, if any; no wildcards."""
        node = self._node(name)
        return None if node is None else node.get(rdtype)

    def _node(self, name: str) -> dict[int, dns.rrset.RRset] | None:
        """The RRsets at ``name`` (lower-case text), made from the file's records once."""
        node = self._nodes.get(name)
        if node is None or type(node) is dict:
            return node
        made: dict[int, dns.rrset.RRset] = {}
        owner = masterfile.name(node[0] or name)
        for rdtype, ttl, data in node[1:]:
            rdata = masterfile.rdata(rdtype, data)
            if rdtype == RRSIG:
                store, key = self._sigs, (name, rdata.covers())
            else:
                store, key = made, rdtype
            rrset = store.get(key)
            if rrset is None:
                rrset = store[key] = dns.rrset.RRset(owner, IN, rdtype, rdata.covers())
            rrset.add(rdata, ttl)
        self._nodes[name] = made
        return made

    def rrsets(self) -> Iterator[dns.rrset.RRset]:
        """Every RRset (RRSIGs included), each once, in no particular order."""
        for name in list(self._nodes):
            yield from self._node(name).values()
        yield from self._sigs.values()

    def __len__(self) -> int:
        """The number of records (not RRsets), without making RRsets of every name."""
        count = len(self._sigs) and sum(len(rrset) for rrset in self._sigs.values())
        for node in self._nodes.values():
            if type(node) is dict:
                count += sum(len(rrset) for rrset in node.values())
            elif len(node) == 2:
                count += 1
            else:  # the same record may be written twice: count it once
                count += len({(rdtype, masterfile.rdata(rdtype, data))
                              for rdtype, _, data in node[1:]})
        return count

    def __repr__(self) -> str:
        return f"<Zone {self.origin_text} serial={self.serial} from {self.source}>"

    # -- answering (lookup.py) ----------------------------------------------------------------

    def lookup(self, qname: str, qtype: int, do: bool = False) -> Result:
        """Answer ``qtype`` at ``qname`` (absolute text, any case): :func:`.lookup.lookup`."""
        return _lookup(self, qname, qtype, do)

    def wire_answer(self, key: str, qtype: int) -> wire.WireRRset | None:
        """The answer :meth:`lookup` would give for ``qtype`` at ``key`` (lower-case text),
        made straight from the file's text, for a name no lookup has read yet: None unless
        the answer is just that RRset (a plain type, no CNAME, not below a cut or DNAME, an
        unsigned zone), the apex NS going in the authority section.

        Making a name's RRsets costs more than answering; a random name in a big zone is
        usually read once.
        """
        if qtype not in _PLAIN_TYPES:
            return None
        node = self._nodes.get(key)
        if type(node) is not list or self.signed or key in self._hidden_by:
            return None
        wanted = [record for record in node[1:] if record[0] == qtype]
        if not wanted or any(record[0] == CNAME for record in node[1:]):
            return None
        records = masterfile.wire_records([node[0], *wanted], key)
        owner, _, _, ttl, _ = records[0]
        return wire.WireRRset(owner, qtype, IN, ttl, tuple(record[4] for record in records))

    # -- transfer out (xfr.py) ------------------------------------------------------------

    def axfr_rrsets(self) -> list[dns.rrset.RRset]:
        """Every RRset in AXFR order: :func:`.xfr.axfr_rrsets`."""
        return xfr.axfr_rrsets(self)

    def axfr_records(self) -> list[tuple[tuple[bytes, ...], int, int, int, bytes]]:
        """Every record as wire pieces, quick, safe in a thread: :func:`.xfr.axfr_records`."""
        return xfr.axfr_records(self)


class Zones:
    """The zones one plugin serves: origin (lower-case text) -> Zone, or None until loaded.

    Swapping is one dict assignment in the reactor thread, so a query sees either the old or
    the new zone, never a mix.
    """

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self._zones: dict[str, Zone | None] = dict.fromkeys(origins)
        #: called with the origin after :meth:`replace` swapped a zone in (NOTIFY)
        self.on_swap: list[Callable[[str], None]] = []

    @property
    def origins(self) -> list[str]:
        """The origins served, in the order they were added."""
        return list(self._zones)

    def __getitem__(self, origin: str) -> Zone | None:
        return self._zones[origin]

    def __contains__(self, origin: str) -> bool:
        return origin in self._zones

    def add(self, origin: str, zone: Zone | None = None) -> None:
        """Serve ``origin`` (SERVFAIL while ``zone`` is None)."""
        self._zones[origin] = zone

    def remove(self, origin: str) -> None:
        self._zones.pop(origin, None)

    def replace(self, zone: Zone) -> None:
        """Swap in a new version of a served zone, then call :attr:`on_swap`."""
        self.add(zone.origin_text, zone)
        for callback in list(self.on_swap):
            callback(zone.origin_text)

    def match(self, qname_lower: str) -> str | None:
        """The longest served origin holding ``qname_lower``."""
        return longest_match(self._zones, qname_lower)

    def loaded(self) -> bool:
        """True when every zone has data."""
        return all(zone is not None for zone in self._zones.values())

