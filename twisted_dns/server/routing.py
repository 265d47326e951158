"""Which server block answers a query: longest matching zone, label by label (CoreDNS's mux).

The rule is ``core/dnsserver/server.go``'s ``ServeDNS``: strip labels from the left of the
lower-cased query name and take the first (longest) zone served on this listener; failing
that, the root zone ``.``; failing that, nothing (the server answers REFUSED).

DS records live in the parent zone, so for a DS query a match does not stop the walk: the
*last* match (the parent-most zone on this listener, the exact zone included) wins, and the
root zone is, as for every type, only the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TYPE_DS = 43

#: Plugins whose presence lets non-IN classes (CHAOS) through (CoreDNS's ``EnableChaos``).
ENABLE_CHAOS = frozenset({"chaos", "forward", "proxy"})


def canonical_zone(zone: str) -> str:
    """``Example.ORG`` -> ``example.org.``; the root stays ``.``."""
    zone = zone.lower()
    if not zone.endswith("."):
        zone += "."
    return zone


class ZoneRouter:
    """Maps the zones served on one listener to their blocks."""

    def __init__(self, entries: Iterable[tuple[str, Any]]) -> None:
        self.zones: dict[str, Any] = {}
        for zone, block in entries:
            self.zones.setdefault(canonical_zone(zone), block)
        self._root = self.zones.get(".")
        self._lengths = sorted({len(zone) for zone in self.zones if zone != "."}, reverse=True)
        #: True when a block on this listener uses a plugin that answers non-IN classes;
        #: CoreDNS decides this per server (listener), not per block.
        self.allow_chaos = any(
            name in ENABLE_CHAOS
            for block in self.zones.values()
            for name in getattr(block, "directives", ())
        )

    def route(self, qname_lower: str, qtype: int) -> tuple[str, Any] | None:
        """The (zone, block) for a lower-cased absolute query name, or None."""
        if "\\" in qname_lower:
            return self._route_escaped(qname_lower, qtype)
        # Only suffixes as long as some zone can match: one dict lookup per distinct zone
        # length (usually one or two), however deep the name. Longest first, so for DS the
        # last match is the parent-most.
        zones = self.zones
        n = len(qname_lower)
        found = None
        for length in self._lengths:
            if length == n:
                name = qname_lower
            elif length < n and qname_lower[n - length - 1] == ".":
                name = qname_lower[n - length:]
            else:
                continue
            block = zones.get(name)
            if block is not None:
                if qtype != TYPE_DS:
                    return name, block
                found = (name, block)
        if found is not None:
            return found
        return (".", self._root) if self._root is not None else None

    def _route_escaped(self, qname_lower: str, qtype: int) -> tuple[str, Any] | None:
        """The same walk for names with escapes, where a dot may be inside a label."""
        found = None
        for name in _escaped_suffixes(qname_lower):
            block = self.zones.get(name)
            if block is not None:
                if qtype != TYPE_DS:
                    return name, block
                found = (name, block)
        if found is not None:
            return found
        return (".", self._root) if self._root is not None else None


def _escaped_suffixes(name: str) -> list[str]:
    """Suffixes at real label boundaries: ``a\\.b.c.`` -> ``["a\\.b.c.", "c."]``."""
    if name == ".":
        return ["."]
    out = [name]
    i, n = 0, len(name)
    while i < n - 1:
        c = name[i]
        if c == "\\":
            i += 4 if name[i + 1:i + 2].isdigit() else 2
            continue
        if c == ".":
            out.append(name[i + 1:])
        i += 1
    return out
