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
    handlers: list[Any] = field(default_factory=list)
    #: the first link of the chain; None for a block with no query-handling plugins
    chain: Any = None
    debug: bool = False
    root: str = field(default_factory=os.getcwd)
    #: directive names used in this block, in plugin.cfg order
    directives: list[str] = field(default_factory=list)
    #: per-plugin scratch space (e.g. a plugin keeping state between occurrences)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def zones(self) -> list[str]:
        return [key.zone for key in self.keys]

    def add_plugin(self, name: str, factory: PluginFactory) -> None:
        self.factories.append((name, factory))

    def build_chain(self) -> None:
        """Instantiate the chain, last link first, so each link knows its ``next``."""
        chain = None
        handlers = []
        for _name, factory in reversed(self.factories):
            chain = factory(chain)
            handlers.append(chain)
        handlers.reverse()
        self.handlers = handlers
        self.chain = chain

    def handler(self, name: str) -> Any:
        """The chain's plugin called ``name``, or None."""
        for plugin in self.handlers:
            if plugin.Name() == name:
                return plugin
        return None
