"""The configuration path: Corefile -> registry -> each plugin's setup -> a Configuration.

A plugin's setup sees only the :class:`Controller`; the server (``twisted_dns.server``)
serves a loaded :class:`Configuration` and swaps it on reload.
"""

from twisted_dns.config.block import BlockConfig, PluginFactory
from twisted_dns.config.controller import Controller, ObserverFactory
from twisted_dns.config.load import (
    Configuration,
    ListenerKey,
    ReloadStats,
    Source,
    load,
    stats,
)

__all__ = ["BlockConfig", "Configuration", "Controller", "ListenerKey", "ObserverFactory",
           "PluginFactory", "ReloadStats", "Source", "load", "stats"]
