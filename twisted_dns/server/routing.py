"""Which server block answers a query: longest matching zone, label by label (CoreDNS's mux).

The rule is ``core/dnsserver/server.go``'s ``ServeDNS``: strip labels from the left of the
lower-cased query name and take the first (longest) zone served on this listener; failing
that, the root zone ``.``; failing that, nothing (the server answers REFUSED). Labels are
:mod:`twisted_dns.names`'s: an escaped dot (``a\\.example.org.``) is no label boundary.

DS records live in the parent zone, so for a DS query a match does not stop the walk: the
*last* match (the parent-most zone on this listener, the exact zone included) wins, and the
root zone is, as for every type, only the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted_dns.names import ZoneIndex, normalize

TYPE_DS = 43

#: Plugins whose presence lets non-IN classes (CHAOS) through (CoreDNS's ``EnableChaos``).
ENABLE_CHAOS = frozenset({"chaos", "forward", "proxy"})


class ZoneRouter:
    """Maps the zones served on one listener to their blocks."""

    def __init__(self, entries: Iterable[tuple[str, Any]]) -> None:
        self.zones: dict[str, Any] = {}
        for zone, block in entries:
            self.zones.setdefault(normalize(zone), block)
        self._index = ZoneIndex(self.zones)
        self._routes = {zone: (zone, block) for zone, block in self.zones.items()}
        #: True when a block on this listener uses a plugin that answers non-IN classes;
        #: CoreDNS decides this per server (listener), not per block.
        self.allow_chaos = any(
            name in ENABLE_CHAOS
            for block in self.zones.values()
            for name in getattr(block, "directives", ())
        )

    def route(self, qname_lower: str, qtype: int) -> tuple[str, Any] | None:
        """The (zone, block) for a lower-cased absolute query name, or None."""
        if qtype != TYPE_DS:
            zone = self._index.longest(qname_lower)
        else:
            zone = _parent_most(self._index.holding(qname_lower))
        return self._routes.get(zone)


def _parent_most(zones: list[str]) -> str | None:
    """The last of the zones holding a name (longest first), the root only as a fallback."""
    below_root = [zone for zone in zones if zone != "."]
    if below_root:
        return below_root[-1]
    return zones[-1] if zones else None
