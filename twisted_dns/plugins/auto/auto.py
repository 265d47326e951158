"""The *auto* handler: *file*'s handler behind a check that the name is in the block's zones.

Subclassing :class:`~twisted_dns.plugins.file.File` keeps lookups, rendering,
fallthrough and readiness in one place, and gives *auto* every interface *file* provides.
"""

from __future__ import annotations

from typing import Any

from twisted_dns.names import longest_match
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.plugins.file import File, Zones
from twisted_dns.request import Request

NAME = "auto"


class Auto(File):
    """Serves the zones found in the directory, for names under ``origins`` only."""

    def __init__(self, zones: Zones, origins: list[str], fall: Fallthrough | None = None,
                 next_plugin: Any = None) -> None:
        super().__init__(zones, fall, next_plugin, name=NAME)
        self.origins = origins

    def ServeDNS(self, request: Request, writer: Any) -> Any:  # noqa: N802 - the contract
        if longest_match(self.origins, request.qname_lower) is None:
            return next_or_failure(self.name, self.next, request, writer)
        return super().ServeDNS(request, writer)
