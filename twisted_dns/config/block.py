"""Per-server-block configuration, filled in by the plugins' setup callables."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted_dns.corefile.keys import ZoneAddr

#: A chain link factory: receives the next plugin (or None at the end) and returns a plugin.
PluginFactory = Callable[[Any], Any]


@dataclass(eq=False)
class BlockConfig:
    """One server block: its keys, bind addresses and plugin chain.

    Every key of a block shares this object, so a block written for several zones has one set
    of plugin instances (as CoreDNS).
    """

    keys: list[ZoneAddr]
    file: str = "Corefile"
    line: int = 0
    #: addresses to listen on; empty means all (the ``bind`` plugin fills this)
    listen_hosts: list[str] = field(default_factory=list)
    #: chain factories in plugin.cfg order, as (directive name, factory)
    factories: list[tuple[str, PluginFactory]] = field(default_factory=list)
    #: every plugin instance of the built chain, first to last
    plugins: list[Any] = field(default_factory=list)
    debug: bool = False
    root: str = field(default_factory=os.getcwd)
    #: directive names used in this block, in plugin.cfg order
    directives: list[str] = field(default_factory=list)
    @property
    def zones(self) -> list[str]:
        return [key.zone for key in self.keys]

    @property
    def chain(self) -> Any:
        """The first link of the chain; None for a block with no query-handling plugins."""
        return self.plugins[0] if self.plugins else None

    def add_plugin(self, name: str, factory: PluginFactory) -> None:
        self.factories.append((name, factory))

    def build_chain(self) -> None:
        """Instantiate the chain, last link first, so each link knows its ``next``."""
        link = None
        plugins = []
        for _name, factory in reversed(self.factories):
            link = factory(link)
            plugins.append(link)
        plugins.reverse()
        self.plugins = plugins

    def plugin(self, name: str) -> Any:
        """The chain's plugin called ``name``, or None."""
        for plugin in self.plugins:
            if plugin.Name() == name:
                return plugin
        return None
