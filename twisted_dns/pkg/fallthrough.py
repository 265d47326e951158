"""``fallthrough [ZONES...]``: let a query a plugin cannot answer go on down the chain.

CoreDNS's ``plugin/pkg/fall``: without zones it applies to every name; with zones, only to
names under one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted_dns.names import is_subdomain, normalize


class Fallthrough:
    """Which query names a plugin passes to the next plugin instead of answering NXDOMAIN."""

    __slots__ = ("zones",)

    def __init__(self, zones: Iterable[str] = ()) -> None:
        #: empty means fallthrough is off
        self.zones: tuple[str, ...] = tuple(zones)

    @classmethod
    def from_args(cls, args: Iterable[str]) -> Fallthrough:
        """The zones of a ``fallthrough`` line; none given means every name."""
        return cls([normalize(arg) for arg in args] or ["."])

    def through(self, qname_lower: str) -> bool:
        """True when a query for ``qname_lower`` should go to the next plugin."""
        return any(is_subdomain(qname_lower, zone) for zone in self.zones)
