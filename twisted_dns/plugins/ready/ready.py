"""The readiness endpoint: ``GET /ready`` -> ``200 OK`` once every plugin that can tell is ready.

A plugin signals readiness by providing ``IReadiness`` (or just a ``Ready()`` method, as
CoreDNS duck-types it). The plugins asked are those of every server block that uses *ready*;
every *ready* endpoint reports all of them. Until they are all ready the endpoint answers
``503`` with the sorted, comma-separated names of those that are not; while the server shuts
down it answers ``503 Shutting down``.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IReadiness
from twisted_dns.pkg.http import HTTPEndpoint

log = Logger(namespace="ready")

#: the address ``ready`` listens on without one (CoreDNS's)
DEFAULT_ADDRESS = ":8181"
#: ``c.shared()`` key of the :class:`Readiness` of a configuration
SHARED_KEY = "ready"

UNTIL_READY = "until-ready"
CONTINUOUSLY = "continuously"
MONITOR_TYPES = (UNTIL_READY, CONTINUOUSLY)


def signals_readiness(plugin: Any) -> bool:
    return IReadiness.providedBy(plugin) or callable(getattr(plugin, "Ready", None))


class Readiness:
    """What every ready endpoint of one configuration reports: the blocks' plugins."""

    def __init__(self) -> None:
        #: the BlockConfigs of the blocks that use ``ready`` (their chains, once built)
        self.blocks: list[Any] = []
        #: address -> endpoint
        self.endpoints: dict[str, ReadyEndpoint] = {}

    def add_block(self, block: Any) -> None:
        if not any(b is block for b in self.blocks):
            self.blocks.append(block)

    def plugins(self) -> list[tuple[str, Any]]:
        """(name, plugin) of every plugin able to signal readiness, block by block."""
        found = []
        for block in self.blocks:
            for plugin in block.plugins:
                if signals_readiness(plugin):
                    found.append((plugin.Name(), plugin))
        return found


class ReadyEndpoint:
    """The ``/ready`` endpoint on one address.

    With ``monitor until-ready`` (the default) a plugin that said it is ready once is not
    asked again; with ``monitor continuously`` every request asks every plugin.
    """

    def __init__(self, address: str, readiness: Readiness, reactor: Any,
                 monitor: str = UNTIL_READY) -> None:
        self.address = address
        self.readiness = readiness
        self.monitor = monitor
        #: False before start and after shutdown: /ready answers "Shutting down"
        self.serving = False
        self.file: str | None = None
        self.line: int | None = None
        self._confirmed: dict[int, Any] = {}
        self.endpoint = HTTPEndpoint(address, {"ready": self.answer}, reactor)

    @property
    def port(self) -> int | None:
        """The port actually listened on (``127.0.0.1:0`` picks one), None when stopped."""
        return self.endpoint.port

    def not_ready(self) -> list[str]:
        """The sorted names of the plugins that are not ready (each name once)."""
        names = set()
        keep = self.monitor == CONTINUOUSLY
        for name, plugin in self.readiness.plugins():
            if id(plugin) in self._confirmed:
                continue
            if plugin.Ready():
                if not keep:
                    self._confirmed[id(plugin)] = plugin  # (kept alive so the id stays unique)
                continue
            names.add(name)
        return sorted(names)

    def answer(self) -> tuple[int, str]:
        if not self.serving:
            return 503, "Shutting down"
        names = self.not_ready()
        if not names:
            return 200, "OK"
        listed = ",".join(names)
        log.info("Plugins not ready: {plugins!r}", plugins=listed)
        return 503, listed

    def start(self) -> None:
        try:
            self.endpoint.start()
        except (CannotListenError, ValueError, OSError) as exc:
            reason = exc.socketError if isinstance(exc, CannotListenError) else exc
            raise ConfigError(f"plugin/ready: listen tcp {self.address}: {reason}",
                              self.file, self.line) from exc
        self.serving = True

    def lameduck(self) -> None:
        """The server stops for good: answer "Shutting down" from now on, still listening
        until :meth:`stop` (CoreDNS's ready is not-ready as soon as shutdown begins)."""
        self.serving = False

    def stop(self) -> defer.Deferred:
        """Answer "Shutting down" from now on and stop listening."""
        self.serving = False
        return self.endpoint.stop()
