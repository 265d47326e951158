"""A zone's records for a transfer out (AXFR order: SOA, the rest by name, SOA again).

``Zone.axfr_rrsets`` and ``Zone.axfr_records`` are these functions; the *transfer* plugin
sends what they give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dns.name
import dns.rrset

from twisted_dns import wire
from twisted_dns.plugins.file import masterfile

if TYPE_CHECKING:
    from twisted_dns.plugins.file.zone import Zone

SOA, IN = 6, 1


def axfr_rrsets(zone: Zone) -> list[dns.rrset.RRset]:
    """All records for a zone transfer: SOA, then by name in DNSSEC order (the apex first),
    each name's RRSIGs after its RRsets, and the SOA again."""
    sigs = _sigs_by_owner(zone)
    out = [zone.soa]
    for owner in sorted(zone._nodes, key=dns.name.from_text):
        for _, rrset in sorted(zone._node(owner).items()):
            if rrset is not zone.soa:
                out.append(rrset)
        out.extend(sigs.get(owner, ()))
    out.append(zone.soa)
    return out


def axfr_records(zone: Zone) -> list[tuple[tuple[bytes, ...], int, int, int, bytes]]:
    """Every record for a zone transfer as (owner labels, type, class, TTL, RDATA wire):
    SOA, the apex's other records, then name by name in the order the zone was read
    (RFC 5936 leaves the order free; sorting a million names would hold the interpreter
    for a second), each name's RRSIGs after its records, SOA again.

    Names no query has read yet are not made RRsets (a million-record zone would take
    minutes): their records go from the file's text straight to wire. Nothing here
    changes the zone, so a thread may call it while the reactor answers queries.
    """
    soa = zone.soa
    first = (soa.name.labels, SOA, IN, soa.ttl, soa[0].to_wire())
    out = [first]
    sigs = _sigs_by_owner(zone)
    apex = zone.origin_text
    nodes = zone._nodes
    for owner in (apex, *(name for name in nodes if name != apex)):
        node = nodes[owner]
        if type(node) is dict:
            for _, rrset in sorted(node.items()):
                if rrset is not soa:
                    out.extend(wire.rrset_records(rrset))
        else:
            out.extend(masterfile.wire_records(node, owner))
        for sig in sigs.get(owner, ()):
            out.extend(wire.rrset_records(sig))
    out.append(first)
    return out


def _sigs_by_owner(zone: Zone) -> dict[str, list[dns.rrset.RRset]]:
    """The zone's RRSIG RRsets by owner, each owner's in the order of the types they cover."""
    sigs: dict[str, list[dns.rrset.RRset]] = {}
    for (owner, _), sig in sorted(zone._sigs.items()):
        sigs.setdefault(owner, []).append(sig)
    return sigs
