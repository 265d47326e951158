"""Answering a query from a zone: RFC 1034 4.3.2 with wildcards (RFC 4592), DNAME (RFC 6672),
negative answers (RFC 2308) and, with DO, the zone's RRSIGs and NSECs (RFC 4035 3.1).

:func:`lookup` (``Zone.lookup``) works over the index :class:`~.zone.Zone` precomputes: the
name itself, or for a missing name the walk up to its closest encloser and one wildcard probe;
a name at or below a zone cut is a referral, one below a DNAME a synthesized CNAME.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

import dns.name
import dns.rcode
import dns.rdtypes.ANY.CNAME
import dns.rrset

from twisted_dns.names import is_subdomain, parent
from twisted_dns.plugins.file.names import key_of

if TYPE_CHECKING:
    from twisted_dns.plugins.file.zone import Zone

NOERROR = int(dns.rcode.NOERROR)
NXDOMAIN = int(dns.rcode.NXDOMAIN)
SERVFAIL = int(dns.rcode.SERVFAIL)
YXDOMAIN = int(dns.rcode.YXDOMAIN)

A, NS, CNAME, MX, AAAA, SRV, DNAME, DS, NSEC = 1, 2, 5, 15, 28, 33, 39, 43, 47

#: how many CNAME/DNAME steps one answer follows (BIND stops after a few more restarts)
MAX_CHAIN = 16


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


def lookup(zone: Zone, qname: str, qtype: int, do: bool = False) -> Result:
    """Answer ``qtype`` at ``qname`` (absolute text, any case) from ``zone``'s data.

    CNAMEs and DNAMEs are followed while their targets stay in the zone; a CNAME loop is
    SERVFAIL. ``do`` adds RRSIGs (and NSECs to deny) when the zone has them. A name
    outside the zone is a ValueError (find the zone first: ``Zones.match``).
    """
    answer: list[dns.rrset.RRset] = []
    name = qname
    key = qname.lower()
    if not _holds(zone, key):
        raise ValueError(f"{qname} is not in zone {zone.origin_text}")
    seen = {key}
    first = True
    while True:
        step = _step(zone, name, key, qtype, answer)
        if step is not None:
            # the answer ends here
            if not first:
                step.aa = True
            break
        first = False
        target = answer[-1][0].target
        key = key_of(target)
        if key in seen or len(seen) > MAX_CHAIN:
            # a loop (or a chain too long to be sane): the chain so far, as BIND
            return Result(SERVFAIL, answer, [], [])
        seen.add(key)
        if qtype == CNAME or not _holds(zone, key):
            # the CNAME a DNAME synthesized answers a CNAME query; a target out of the
            # zone is the client's to follow
            step = Result(NOERROR, answer, list(zone.apex_ns), [])
            break
        name = target.to_text()
    if do and zone.signed:
        _sign(zone, step, qname)
    return step


def _holds(zone: Zone, key: str) -> bool:
    return is_subdomain(key, zone.origin_text)


def _step(zone: Zone, name: str, key: str, qtype: int, answer: list) -> Result | None:
    """One step: a final Result, or None after appending a CNAME to follow."""
    if key in zone._names:
        stop = zone._hidden_by.get(key)
        if stop == key and qtype == DS:
            stop = None  # DS at a cut is the parent's data: answer it from here
        if stop is not None:
            return _interrupt(zone, stop, name, key, qtype, answer)
        return _found(zone, zone._node(key), name, qtype, answer, False)
    closest = _closest_encloser(zone, key)
    stop = zone._below(closest)
    if stop is not None:
        return _interrupt(zone, stop, name, key, qtype, answer)
    if zone._wildcards:
        wildcard = zone._node("*." + closest if closest != "." else "*.")
        if wildcard is not None:
            return _found(zone, wildcard, name, qtype, answer, True)
    return Result(NXDOMAIN, answer, [zone.negative_soa], [])


def _closest_encloser(zone: Zone, key: str) -> str:
    """The nearest name above ``key`` (a name not in the zone) that exists (RFC 4592)."""
    names = zone._names
    closest = parent(key)
    while closest not in names:
        closest = parent(closest)
    return closest


def _found(zone: Zone, node: dict | None, name: str, qtype: int, answer: list,
           synthesized: bool) -> Result | None:
    """The name (or the wildcard standing in for it) exists: data, CNAME or NODATA."""
    if node is None:  # an empty non-terminal
        return Result(NOERROR, answer, [zone.negative_soa], [])
    cname = node.get(CNAME)
    if cname is not None and qtype != CNAME:
        answer.append(_rename(cname, name) if synthesized else cname)
        return None
    rrset = node.get(qtype)
    if rrset is None:
        return Result(NOERROR, answer, [zone.negative_soa], [])
    if synthesized:
        rrset = _rename(rrset, name)
    answer.append(rrset)
    additional = _additional(zone, rrset)
    if zone.apex_ns and rrset is zone.apex_ns[0]:
        return Result(NOERROR, answer, [], additional)  # the NS are in the answer
    return Result(NOERROR, answer, list(zone.apex_ns), additional)


def _interrupt(zone: Zone, stop: str, name: str, key: str, qtype: int,
               answer: list) -> Result | None:
    """A cut (referral) or a DNAME (synthesized CNAME) above or at the name."""
    node = zone._node(stop)
    if stop in zone.cuts:
        ns = node[NS]
        glue = _glue(zone, ns, stop)
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


def _glue(zone: Zone, ns: dns.rrset.RRset, cut: str) -> list[dns.rrset.RRset]:
    """A/AAAA of the NS names at or below the cut (in-domain glue)."""
    glue = []
    suffix = "." + cut
    for rdata in ns:
        target = key_of(rdata.target)
        if target == cut or target.endswith(suffix):
            glue.extend(_addresses(zone, target))
    return glue


def _additional(zone: Zone, rrset: dns.rrset.RRset) -> list[dns.rrset.RRset]:
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
        for address in _addresses(zone, key_of(target)):
            if address not in extra:
                extra.append(address)
    return extra


def _addresses(zone: Zone, name: str) -> list[dns.rrset.RRset]:
    node = zone._node(name)
    if node is None:
        return []
    return [node[t] for t in (A, AAAA) if t in node]


def _rename(rrset: dns.rrset.RRset, name: str | dns.name.Name) -> dns.rrset.RRset:
    """A copy of a wildcard's RRset owned by the name it answers for."""
    owner = dns.name.from_text(name) if isinstance(name, str) else name
    copy = dns.rrset.RRset(owner, rrset.rdclass, rrset.rdtype, rrset.covers)
    copy.update(rrset)
    return copy


# -- DNSSEC (records only: no signing) -------------------------------------------------------

def _sign(zone: Zone, result: Result, qname: str) -> None:
    """Add the RRSIGs of every RRset in the result, and NSECs for denials (DO set)."""
    if result.authority and result.authority[0] is zone.negative_soa:
        _deny(zone, result, qname)
    elif not result.aa and result.authority:
        # a referral: the DS of the cut, or the NSEC proving it has none (RFC 4035 3.1.4)
        node = zone._node(key_of(result.authority[0].name))
        proof = node.get(DS) or node.get(NSEC)
        if proof is not None:
            result.authority.append(proof)
    for section in (result.answer, result.authority, result.additional):
        signed = []
        for rrset in section:
            signed.append(rrset)
            sig = zone._sigs.get((key_of(rrset.name), rrset.rdtype))
            if sig is None:
                sig = _wildcard_sig(zone, rrset)
            if sig is not None and sig not in signed:
                signed.append(sig)
        section[:] = signed


def _wildcard_sig(zone: Zone, rrset: dns.rrset.RRset) -> dns.rrset.RRset | None:
    """The RRSIG of a wildcard-synthesized RRset, renamed like it."""
    key = key_of(rrset.name)
    if key in zone._names:
        return None
    closest = _closest_encloser(zone, key)
    sig = zone._sigs.get(("*." + closest, rrset.rdtype))
    return None if sig is None else _rename(sig, rrset.name)


def _deny(zone: Zone, result: Result, qname: str) -> None:
    """NSEC records proving a name or type does not exist (RFC 4035 3.1.3)."""
    if not zone._nsec_order:
        return
    key = key_of(result.answer[-1][0].target) if result.answer else qname.lower()
    node = zone._node(key)
    if node is not None and NSEC in node:
        result.authority.append(node[NSEC])
        return
    name = dns.name.from_text(key)
    index = bisect.bisect_left(zone._nsec_order, name) - 1
    covering = zone._node(key_of(zone._nsec_order[index]))[NSEC]
    result.authority.append(covering)
    if result.rcode == NXDOMAIN:
        wildcard = dns.name.from_text("*." + _closest_encloser(zone, key))
        index = bisect.bisect_left(zone._nsec_order, wildcard) - 1
        other = zone._node(key_of(zone._nsec_order[index]))[NSEC]
        if other is not covering:
            result.authority.append(other)
