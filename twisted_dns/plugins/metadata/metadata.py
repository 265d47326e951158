"""The *metadata* link: before passing a query on, ask every metadata provider of the block
to label it (CoreDNS's ``metadata.Collect``, which its server calls before the chain; here the
link does it, and plugin.cfg puts it second, so the effect is the same)."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from twisted_dns.interfaces import IMetadataProvider, IPlugin
from twisted_dns.names import longest_match
from twisted_dns.pkg.chain import next_or_failure

NAME = "metadata"


@implementer(IPlugin)
class Metadata:
    def __init__(self, zones: list[str], next_plugin: Any) -> None:
        self.zones = zones
        self.next = next_plugin
        #: the block's plugins providing IMetadataProvider, in chain order (set at startup)
        self.providers: list[Any] = []

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def collect_providers(self, plugins: list[Any]) -> None:
        self.providers = [plugin for plugin in plugins if IMetadataProvider.providedBy(plugin)]

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802 - the IPlugin contract
        if self.providers and longest_match(self.zones, request.qname_lower) is not None:
            for provider in self.providers:
                provider.Metadata(request)
        return next_or_failure(NAME, self.next, request, writer)
