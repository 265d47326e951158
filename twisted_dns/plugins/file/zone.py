"""An authoritative zone held in memory, indexed for fast lookups (the *file* plugin's model).

Other plugins (*auto*, *secondary*, *transfer*) reuse this module; everything they need is here.

Build a zone::

    zone = Zone.from_file("/etc/zones/db.example.org", "example.org.")   # ZoneError on bad data
    zone = Zone.from_text(text, "example.org.", filename="db.example.org")
    zone = Zone.from_rrsets("example.org.", rrsets)     # e.g. the RRsets of an AXFR
    zone.serial            # the SOA serial (int); zone.soa is the SOA RRset
    zone.origin            # dns.name.Name;  zone.origin_text: "example.org." (lower case)

A :class:`ZoneError` (a ``ValueError``) reads ``FILE:LINE: why`` (``FILE: why`` when there is
no line: no SOA, a missing file); ``.file``, ``.line`` (or None) and ``.reason`` hold the parts.

Read it: ``"www.example.org." in zone`` (the name exists, empty non-terminals included),
``zone.get("www.example.org.", dns.rdatatype.A)`` (an RRset or None, no wildcards; names are
lower-case text as ``Request.qname_lower``), ``zone.rrsets()`` (every RRset once),
``len(zone)`` (records).

Answer a query (the query's name as received, any case; ``qtype`` an int)::

    result = zone.lookup("WWW.example.org.", dns.rdatatype.A, do=False)
    result.rcode, result.aa, result.answer, result.authority, result.additional

``result.rcode`` is NOERROR, NXDOMAIN, YXDOMAIN (DNAME overflow) or SERVFAIL (a CNAME loop:
the answer holds the chain up to the loop). The sections are fresh lists, but their
``dns.rrset.RRset`` objects are the zone's own: never modify those.

A name no lookup has read yet can answer plain types from the file's text, without RRsets
(``zone.text_answer(qname_lower, qtype)``: a ``wire.WireRRset`` or None, then lookup).

Transfer out (AXFR order)::

    for rrset in zone.axfr_rrsets(): ...   # SOA, the rest by name (apex first), SOA again
    zone.axfr_records()                    # the same as wire pieces, quick; safe in a thread

Zones are immutable once built: to change one, build a new Zone and swap it in. A plugin
serving zones keeps them in a :class:`Zones` (origin -> Zone, or None while not loaded yet:
SERVFAIL); ``zones.replace(new_zone)`` swaps a zone atomically (a query sees the old or the new
zone, never a mix), ``zones.add(origin)``/``zones.remove(origin)`` change what is served,
``zones.match(qname_lower)`` finds the longest origin holding a name, ``zones[origin]`` reads
one. ``twisted_dns.plugins.file.handler.File(zones, fall, next_plugin, name="auto")`` serves
a ``Zones`` exactly as *file* does, and ``twisted_dns.plugins.file.reload.ZoneFile`` re-reads a
zone file into a ``Zones`` when its serial increases.

How lookups stay cheap: every owner name gets a dict ``{rdtype: RRset}`` (from a file, when a
lookup first reads the name: :mod:`.masterfile` keeps its records as checked text until then,
so a million-record zone loads in seconds); the set of names that exist (owners plus empty
non-terminals) and, for each name below a zone cut or a DNAME, the topmost cut or DNAME above
it are precomputed. A lookup is then a few dict hits:
the name itself, or for a missing name the walk up to its closest encloser and one wildcard
probe (RFC 1034 4.3.2, RFC 4592, RFC 6672, RFC 2308).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Iterator

import dns.exception
import dns.name
import dns.node
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset
import dns.tokenizer
import dns.zonefile

from twisted_dns import wire
from twisted_dns.plugins.file import masterfile

NOERROR = int(dns.rcode.NOERROR)
NXDOMAIN = int(dns.rcode.NXDOMAIN)
SERVFAIL = int(dns.rcode.SERVFAIL)
YXDOMAIN = int(dns.rcode.YXDOMAIN)

A, NS, CNAME, SOA, MX, AAAA, SRV = 1, 2, 5, 6, 15, 28, 33
DNAME, DS, RRSIG, NSEC = 39, 43, 46, 47
IN = 1

#: how many CNAME/DNAME steps one answer follows (BIND stops after a few more restarts)
MAX_CHAIN = 16

_WHERE = re.compile(r"^(?P<file>.*):(?P<line>\d+): (?P<reason>.*)$", re.DOTALL)
_INCLUDE = re.compile(r'^(\$INCLUDE[ \t]+)("[^"]*"|[^ \t;\r\n]+)', re.IGNORECASE | re.MULTILINE)


class ZoneError(ValueError):
    """A zone that cannot be loaded; the text says where (``FILE:LINE: why``).

    ``file``, ``line`` (None when unknown) and ``reason`` hold the parts.
    """

    def __init__(self, reason: str, file: str, line: int | None = None) -> None:
        super().__init__(f"{file}:{line}: {reason}" if line is not None else f"{file}: {reason}")
        self.reason = reason
        self.file = file
        self.line = line


class Result:
    """What a lookup found: rcode, authoritative flag and the three sections."""

    __slots__ = ("aa", "additional", "answer", "authority", "rcode")

    def __init__(self, rcode: int, answer: list, authority: list, additional: list,
                 aa: bool = True) -> None:
        self.rcode = rcode
        self.aa = aa
        self.answer = answer
        self.authority = authority
        self.additional = additional

    def __repr__(self) -> str:
        return (f"<Result rcode={dns.rcode.to_text(self.rcode)} aa={self.aa}"
                f" answer={len(self.answer)} authority={len(self.authority)}"
                f" additional={len(self.additional)}>")


def parent(name: str) -> str:
    """The parent of an absolute text name (dnspython's escapes understood)."""
    if "\\" not in name:
        return name[name.index(".") + 1:] or "."
    i = 0
    while True:
        char = name[i]
        if char == "\\":
            i += 4 if name[i + 1].isdigit() else 2
        elif char == ".":
            return name[i + 1:] or "."
        else:
            i += 1


#: types whose answer has no additional section: :meth:`Zone.text_answer` may give it
_PLAIN_TYPES = frozenset((A, AAAA, 12, 16, 99))  # A, AAAA, PTR, TXT, SPF

#: how many leading bytes of a type's RDATA are numbers (the rest a name, compared in any case)
_NUMBERS_BEFORE_NAME = {NS: 0, CNAME: 0, 12: 0, DNAME: 0, MX: 2, SRV: 6}


def _raw_records(node: list, key: str) -> list[tuple]:
    """The records of a name :mod:`masterfile` read and no lookup made RRsets of, in wire
    form: by type, each type's TTL its lowest (as an RRset's), duplicates once."""
    owner = masterfile.labels(node[0] or key)
    by_type: dict[int, tuple[list[int], dict[object, bytes]]] = {}
    for rdtype, ttl, data in node[1:]:
        ttls, datas = by_type.setdefault(rdtype, ([], {}))
        ttls.append(ttl)
        wire = masterfile.rdata_wire(rdtype, data)
        skip = _NUMBERS_BEFORE_NAME.get(rdtype)
        same = data if type(data) is not str else (
            wire if skip is None else wire[:skip] + wire[skip:].lower())
        datas.setdefault(same, wire)
    return [(owner, rdtype, IN, min(ttls), wire)
            for rdtype, (ttls, datas) in sorted(by_type.items()) for wire in datas.values()]


def _text(name: dns.name.Name) -> str:
    """The lower-case text form, the same as ``Request.qname_lower``."""
    return name.to_text().lower()


class Zone:
    """One zone's records, indexed by owner name; built by the ``from_*`` constructors."""

    def __init__(self, origin: dns.name.Name, rrsets: Iterable[dns.rrset.RRset] = (),
                 source: str = "<rrsets>", copy: bool = True,
                 raw: masterfile.RawZone | None = None) -> None:
        self.origin = origin
        self.origin_text = _text(origin)
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
        collector = _Collector(origin)
        try:
            dns.zonefile.Reader(_Tokenizer(text, filename), dns.rdataclass.IN, collector,
                                allow_include=True).read()
        except dns.exception.SyntaxError as e:
            # dnspython's text is FILE:LINE: message
            where = _WHERE.match(str(e))
            if where is None:
                raise ZoneError(str(e), filename) from None
            raise ZoneError(where["reason"], where["file"], int(where["line"])) from None
        except (dns.exception.DNSException, OSError, KeyError) as e:
            raise ZoneError(str(e), filename) from None
        return cls(origin, collector.rrsets.values(), filename, copy=False)

    @classmethod
    def from_file(cls, path: str, origin: str | dns.name.Name) -> Zone:
        """Read a zone file; a relative ``$INCLUDE`` is read from the zone file's folder."""
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as e:
            raise ZoneError(str(e.strerror if isinstance(e, OSError) else e), path) from None
        return cls.from_text(_includes_from(text, os.path.dirname(path)), origin, path)

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
        owner = _text(rrset.name)
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

    def axfr_rrsets(self) -> list[dns.rrset.RRset]:
        """All records for a zone transfer: SOA, then by name in DNSSEC order (the apex
        first), each name's RRSIGs after its RRsets, and the SOA again."""
        sigs: dict[str, list[dns.rrset.RRset]] = {}
        for (owner, _), sig in sorted(self._sigs.items()):
            sigs.setdefault(owner, []).append(sig)
        out = [self.soa]
        for owner in sorted(self._nodes, key=dns.name.from_text):
            for _, rrset in sorted(self._node(owner).items()):
                if rrset is not self.soa:
                    out.append(rrset)
            out.extend(sigs.get(owner, ()))
        out.append(self.soa)
        return out

    def axfr_records(self) -> list[tuple[tuple[bytes, ...], int, int, int, bytes]]:
        """Every record for a zone transfer as (owner labels, type, class, TTL, RDATA wire):
        SOA, the apex's other records, then name by name in the order the zone was read
        (RFC 5936 leaves the order free; sorting a million names would hold the interpreter
        for a second), each name's RRSIGs after its records, SOA again.

        Names no query has read yet are not made RRsets (a million-record zone would take
        minutes): their records go from the file's text straight to wire. Nothing here
        changes the zone, so a thread may call it while the reactor answers queries.
        """
        soa = self.soa
        first = (soa.name.labels, SOA, IN, soa.ttl, soa[0].to_wire())
        out = [first]
        sigs: dict[str, list[dns.rrset.RRset]] = {}
        for (owner, _), sig in sorted(self._sigs.items()):
            sigs.setdefault(owner, []).append(sig)
        apex = self.origin_text
        nodes = self._nodes
        for owner in (apex, *(name for name in nodes if name != apex)):
            node = nodes[owner]
            if type(node) is dict:
                for _, rrset in sorted(node.items()):
                    if rrset is not soa:
                        out.extend(wire.rrset_records(rrset))
            else:
                out.extend(_raw_records(node, owner))
            for sig in sigs.get(owner, ()):
                out.extend(wire.rrset_records(sig))
        out.append(first)
        return out

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

    # -- answering -----------------------------------------------------------------------

    def lookup(self, qname: str, qtype: int, do: bool = False) -> Result:
        """Answer ``qtype`` at ``qname`` (absolute text, any case) from this zone's data.

        CNAMEs and DNAMEs are followed while their targets stay in the zone; a CNAME loop is
        SERVFAIL. ``do`` adds RRSIGs (and NSECs to deny) when the zone has them. A name
        outside the zone is a ValueError (find the zone first: :meth:`Zones.match`).
        """
        answer: list[dns.rrset.RRset] = []
        name = qname
        key = qname.lower()
        if not self._holds(key):
            raise ValueError(f"{qname} is not in zone {self.origin_text}")
        seen = {key}
        first = True
        while True:
            step = self._step(name, key, qtype, answer)
            if step is not None:
                # the answer ends here
                if not first:
                    step.aa = True
                break
            first = False
            target = answer[-1][0].target
            key = _text(target)
            if key in seen or len(seen) > MAX_CHAIN:
                # a loop (or a chain too long to be sane): the chain so far, as BIND
                return Result(SERVFAIL, answer, [], [])
            seen.add(key)
            if qtype == CNAME or not self._holds(key):
                # the CNAME a DNAME synthesized answers a CNAME query; a target out of the
                # zone is the client's to follow
                step = Result(NOERROR, answer, list(self.apex_ns), [])
                break
            name = target.to_text()
        if do and self.signed:
            self._sign(step, qname)
        return step

    def text_answer(self, key: str, qtype: int) -> wire.WireRRset | None:
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
        records = _raw_records([node[0], *wanted], key)
        owner, _, _, ttl, _ = records[0]
        return wire.WireRRset(owner, qtype, IN, ttl, tuple(record[4] for record in records))

    def _holds(self, key: str) -> bool:
        origin = self.origin_text
        return key == origin or origin == "." or key.endswith("." + origin)

    def _step(self, name: str, key: str, qtype: int, answer: list) -> Result | None:
        """One step: a final Result, or None after appending a CNAME to follow."""
        names = self._names
        if key in names:
            stop = self._hidden_by.get(key)
            if stop == key and qtype == DS:
                stop = None  # DS at a cut is the parent's data: answer it from here
            if stop is not None:
                return self._interrupt(stop, name, key, qtype, answer)
            return self._found(self._node(key), name, qtype, answer, False)
        closest = parent(key)
        while closest not in names:
            closest = parent(closest)
        stop = self._below(closest)
        if stop is not None:
            return self._interrupt(stop, name, key, qtype, answer)
        if self._wildcards:
            wildcard = self._node("*." + closest if closest != "." else "*.")
            if wildcard is not None:
                return self._found(wildcard, name, qtype, answer, True)
        return Result(NXDOMAIN, answer, [self.negative_soa], [])

    def _found(self, node: dict | None, name: str, qtype: int, answer: list,
               synthesized: bool) -> Result | None:
        """The name (or the wildcard standing in for it) exists: data, CNAME or NODATA."""
        if node is None:  # an empty non-terminal
            return Result(NOERROR, answer, [self.negative_soa], [])
        cname = node.get(CNAME)
        if cname is not None and qtype != CNAME:
            answer.append(self._rename(cname, name) if synthesized else cname)
            return None
        rrset = node.get(qtype)
        if rrset is None:
            return Result(NOERROR, answer, [self.negative_soa], [])
        if synthesized:
            rrset = self._rename(rrset, name)
        answer.append(rrset)
        additional = self._additional(rrset)
        if self.apex_ns and rrset is self.apex_ns[0]:
            return Result(NOERROR, answer, [], additional)  # the NS are in the answer
        return Result(NOERROR, answer, list(self.apex_ns), additional)

    def _interrupt(self, stop: str, name: str, key: str, qtype: int,
                   answer: list) -> Result | None:
        """A cut (referral) or a DNAME (synthesized CNAME) above or at the name."""
        node = self._node(stop)
        if stop in self.cuts:
            ns = node[NS]
            glue = self._glue(ns, stop)
            return Result(NOERROR, answer, [ns], glue, aa=False)
        dname = node[DNAME]
        answer.append(dname)
        owner = dns.name.from_text(name)
        try:
            target = owner.relativize(dname.name).concatenate(dname[0].target)
        except dns.name.NameTooLong:
            return Result(YXDOMAIN, answer, [], [])
        cname = dns.rrset.RRset(owner, dname.rdclass, CNAME)
        cname.add(dns.rdtypes.ANY.CNAME.CNAME(dname.rdclass, CNAME, target), dname.ttl)
        answer.append(cname)
        return None

    def _glue(self, ns: dns.rrset.RRset, cut: str) -> list[dns.rrset.RRset]:
        """A/AAAA of the NS names at or below the cut (in-domain glue)."""
        glue = []
        suffix = "." + cut
        for rdata in ns:
            target = _text(rdata.target)
            if target == cut or target.endswith(suffix):
                glue.extend(self._addresses(target))
        return glue

    def _additional(self, rrset: dns.rrset.RRset) -> list[dns.rrset.RRset]:
        """A/AAAA of in-zone NS, MX and SRV targets."""
        rdtype = rrset.rdtype
        if rdtype == MX:
            targets = [rdata.exchange for rdata in rrset]
        elif rdtype in (NS, SRV):
            targets = [rdata.target for rdata in rrset]
        else:
            return []
        extra: list[dns.rrset.RRset] = []
        for target in targets:
            for address in self._addresses(_text(target)):
                if address not in extra:
                    extra.append(address)
        return extra

    def _addresses(self, name: str) -> list[dns.rrset.RRset]:
        node = self._node(name)
        if node is None:
            return []
        return [node[t] for t in (A, AAAA) if t in node]

    @staticmethod
    def _rename(rrset: dns.rrset.RRset, name: str | dns.name.Name) -> dns.rrset.RRset:
        """A copy of a wildcard's RRset owned by the name it answers for."""
        owner = dns.name.from_text(name) if isinstance(name, str) else name
        copy = dns.rrset.RRset(owner, rrset.rdclass, rrset.rdtype, rrset.covers)
        copy.update(rrset)
        return copy

    # -- DNSSEC (records only: no signing) -------------------------------------------------

    def _sign(self, result: Result, qname: str) -> None:
        """Add the RRSIGs of every RRset in the result, and NSECs for denials (DO set)."""
        if result.authority and result.authority[0] is self.negative_soa:
            self._deny(result, qname)
        elif not result.aa and result.authority:
            # a referral: the DS of the cut, or the NSEC proving it has none (RFC 4035 3.1.4)
            node = self._node(_text(result.authority[0].name))
            proof = node.get(DS) or node.get(NSEC)
            if proof is not None:
                result.authority.append(proof)
        for section in (result.answer, result.authority, result.additional):
            signed = []
            for rrset in section:
                signed.append(rrset)
                sig = self._sigs.get((_text(rrset.name), rrset.rdtype))
                if sig is None:
                    sig = self._wildcard_sig(rrset)
                if sig is not None and sig not in signed:
                    signed.append(sig)
            section[:] = signed

    def _wildcard_sig(self, rrset: dns.rrset.RRset) -> dns.rrset.RRset | None:
        """The RRSIG of a wildcard-synthesized RRset, renamed like it."""
        key = _text(rrset.name)
        if key in self._names:
            return None
        closest = parent(key)
        while closest not in self._names:
            closest = parent(closest)
        sig = self._sigs.get(("*." + closest, rrset.rdtype))
        return None if sig is None else self._rename(sig, rrset.name)

    def _deny(self, result: Result, qname: str) -> None:
        """NSEC records proving a name or type does not exist (RFC 4035 3.1.3)."""
        if not self._nsec_order:
            return
        key = _text(result.answer[-1][0].target) if result.answer else qname.lower()
        node = self._node(key)
        if node is not None and NSEC in node:
            result.authority.append(node[NSEC])
            return
        name = dns.name.from_text(key)
        index = bisect.bisect_left(self._nsec_order, name) - 1
        covering = self._node(_text(self._nsec_order[index]))[NSEC]
        result.authority.append(covering)
        if result.rcode == NXDOMAIN:
            closest = parent(key)
            while closest not in self._names:
                closest = parent(closest)
            wildcard = dns.name.from_text("*." + closest)
            index = bisect.bisect_left(self._nsec_order, wildcard) - 1
            other = self._node(_text(self._nsec_order[index]))[NSEC]
            if other is not covering:
                result.authority.append(other)


class Zones:
    """The zones one plugin serves: origin (lower-case text) -> Zone, or None until loaded.

    Swapping is one dict assignment in the reactor thread, so a query sees either the old or
    the new zone, never a mix.
    """

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self._zones: dict[str, Zone | None] = dict.fromkeys(origins)
        self.origins: list[str] = list(self._zones)
        #: called with the origin after :meth:`replace` swapped a zone in (NOTIFY)
        self.listeners: list[Callable[[str], None]] = []

    def __getitem__(self, origin: str) -> Zone | None:
        return self._zones[origin]

    def __contains__(self, origin: str) -> bool:
        return origin in self._zones

    def add(self, origin: str, zone: Zone | None = None) -> None:
        """Serve ``origin`` (SERVFAIL while ``zone`` is None)."""
        if origin not in self._zones:
            self.origins.append(origin)
        self._zones[origin] = zone

    def remove(self, origin: str) -> None:
        self._zones.pop(origin, None)
        if origin in self.origins:
            self.origins.remove(origin)

    def replace(self, zone: Zone) -> None:
        """Swap in a new version of a served zone, then tell the listeners."""
        self.add(zone.origin_text, zone)
        for listener in list(self.listeners):
            listener(zone.origin_text)

    def match(self, qname_lower: str) -> str | None:
        """The longest served origin holding ``qname_lower`` (walks up label by label)."""
        zones = self._zones
        name = qname_lower
        while True:
            if name in zones:
                return name
            if name == ".":
                return None
            name = parent(name)

    def loaded(self) -> bool:
        """True when every zone has data."""
        return all(zone is not None for zone in self._zones.values())


class _Tokenizer(dns.tokenizer.Tokenizer):
    """dnspython's tokenizer, reporting errors on the line of the last token read.

    dnspython counts a newline as soon as it reads it, even when it only looked at it to end
    a token, so an error in the last field of a line was reported one line below.
    """

    _after_eol = False

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        token = super().get(want_leading, want_comment)
        self._after_eol = token.ttype == dns.tokenizer.EOL and token.value == "\n"
        return token

    def where(self) -> tuple[str, int]:
        filename, line = super().where()
        if self.ungotten_char == "\n" or self._after_eol:
            line -= 1
        return filename, line


class _Collector:
    """What ``dns.zonefile.Reader`` needs of a transaction, filing records straight into RRsets.

    dnspython's zone transaction validates, copies and re-hashes every record several times
    (most of a big zone's load time); this keeps one RRset per (owner, type, covered type),
    with TTLs minimized as dnspython does (the Reader itself skips names outside the zone). A
    CNAME with other data raises a SyntaxError, which the Reader reports at its line.
    """

    _NEUTRAL = dns.node.NodeKind.NEUTRAL

    def __init__(self, origin: dns.name.Name) -> None:
        self.origin = origin
        self.manager = self
        self.rrsets: dict[tuple[dns.name.Name, int, int], dns.rrset.RRset] = {}
        #: owner -> the kind of its data so far (CNAME or REGULAR; NEUTRAL types not noted)
        self._kinds: dict[dns.name.Name, dns.node.NodeKind] = {}

    def origin_information(self) -> tuple[dns.name.Name, bool, dns.name.Name]:
        return self.origin, False, self.origin

    def check_put_rdataset(self, check) -> None:
        """The Reader's CNAME check: done in :meth:`add`, where the line is known."""

    def _set_origin(self, origin: dns.name.Name) -> None:
        """``$ORIGIN`` changes names, not the zone."""

    def add_unicode(self, attribute: str) -> None:
        """``$UNICODE``: the Reader switches its IDNA codec itself; nothing to keep."""

    def add(self, name: dns.name.Name, ttl: int, rdata) -> None:
        covers = rdata.covers()
        key = (name, rdata.rdtype, covers)
        rrset = self.rrsets.get(key)
        if rrset is None:
            kind = dns.node.NodeKind.classify(rdata.rdtype, covers)
            if kind is not self._NEUTRAL:
                known = self._kinds.setdefault(name, kind)
                if known is not kind:
                    raise dns.exception.SyntaxError(f"{name} has a CNAME and other data")
            rrset = self.rrsets[key] = dns.rrset.RRset(name, rdata.rdclass, rdata.rdtype,
                                                       covers)
        rrset.add(rdata, ttl)


def _includes_from(text: str, folder: str) -> str:
    """Rewrite relative ``$INCLUDE`` paths so they are read from ``folder`` (as CoreDNS)."""
    def absolute(match: re.Match) -> str:
        path = match.group(2)
        quoted = path.startswith('"')
        bare = path[1:-1] if quoted else path
        if os.path.isabs(bare):
            return match.group(0)
        full = os.path.join(folder, bare)
        return match.group(1) + (f'"{full}"' if quoted else full)
    return _INCLUDE.sub(absolute, text)
