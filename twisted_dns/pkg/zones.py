"""Zone name helpers on lower-case absolute text names (``www.example.org.``)."""

from __future__ import annotations

from collections.abc import Iterable


def normalize(name: str) -> str:
    """Lower-case and absolute: ``Example.ORG`` -> ``example.org.``."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


def is_subdomain(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` or below it, label by label (both normalized)."""
    if zone == ".":
        return True
    return name == zone or name.endswith("." + zone)


def match(zones: Iterable[str], name: str) -> str | None:
    """The longest of ``zones`` holding ``name``, or None (CoreDNS's Zones.Matches)."""
    best = None
    for zone in zones:
        if is_subdomain(name, zone) and (best is None or len(zone) > len(best)):
            best = zone
    return best
