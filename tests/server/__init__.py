"""Tests of the server: routing, the query handler, the UDP/TCP protocols and listeners.

``block`` makes a :class:`BlockConfig` around a test plugin; ``Plugin`` is a configurable
chain link that records the queries it sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from twisted_dns.config import BlockConfig
from twisted_dns.interfaces import IPlugin


def block(chain: Any = None, directives: list[str] | None = None) -> BlockConfig:
    """A server block with ``chain`` as its first plugin."""
    config = BlockConfig(keys=[])
    config.plugins = [chain] if chain is not None else []
    config.directives = directives if directives is not None else (
        [chain.Name()] if chain is not None else [])
    return config


@implementer(IPlugin)
class Plugin:
    """Calls ``serve(request, writer)`` for each query and keeps the requests it saw."""

    def __init__(self, serve: Callable[[Any, Any], Any], name: str = "test") -> None:
        self.serve = serve
        self.name = name
        self.requests: list[Any] = []

    def Name(self) -> str:
        return self.name

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        self.requests.append(request)
        return self.serve(request, writer)
