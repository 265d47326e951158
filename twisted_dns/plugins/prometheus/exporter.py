"""What one configuration runs for *prometheus*: a ``/metrics`` endpoint per address.

Several blocks may name the same address: one HTTP server serves it. The configuration
uses the process's metrics (:func:`~.metrics.current`); while it serves, its setup's query
observer counts ``dropped`` queries on every listener. At startup it marks each block's
plugins in ``coredns_plugin_enabled``; at shutdown it stops its endpoints and takes its
marks back (CoreDNS resets that gauge on reload; here a reload starts the new
configuration before it stops the old one, so marks are counted). Counters are never reset.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from twisted.internet import defer
from twisted.internet.error import CannotListenError

from twisted_dns.errors import ConfigError
from twisted_dns.pkg.http import Answer, HTTPEndpoint
from twisted_dns.pkg.metrics import server_label
from twisted_dns.plugins.prometheus.metrics import ServerMetrics

#: where metrics are served without an address (CoreDNS's)
DEFAULT_ADDRESS = "localhost:9153"
#: ``c.shared()`` key of a configuration's :class:`Exporter`
SHARED_KEY = "prometheus"


class MetricsEndpoint:
    """``GET /metrics`` on one address: the registry in Prometheus's text format."""

    def __init__(self, address: str, metrics: ServerMetrics, reactor: Any) -> None:
        self.address = address
        self.metrics = metrics
        #: where the directive was written, for listen errors
        self.file: str | None = None
        self.line: int | None = None
        self.endpoint = HTTPEndpoint(address, {"metrics": self.answer}, reactor,
                                     CONTENT_TYPE_PLAIN_0_0_4.encode())

    @property
    def port(self) -> int | None:
        """The port actually listened on (``localhost:0`` picks one), None when stopped."""
        return self.endpoint.port

    def answer(self) -> Answer:
        return 200, self.metrics.exposition()

    def start(self) -> None:
        """Listen; a port in use or a bad port is a one-line ConfigError."""
        try:
            self.endpoint.start()
        except (CannotListenError, ValueError, OSError) as exc:
            reason = exc.socketError if isinstance(exc, CannotListenError) else exc
            raise ConfigError(f"plugin/prometheus: listen tcp {self.address}: {reason}",
                              self.file, self.line) from exc

    def stop(self) -> defer.Deferred:
        return self.endpoint.stop()


class Exporter:
    """A configuration's endpoints (by address) and the blocks that use *prometheus*."""

    def __init__(self, metrics: ServerMetrics, reactor: Any) -> None:
        self.metrics = metrics
        self.reactor = reactor
        self.endpoints: dict[str, MetricsEndpoint] = {}
        self.blocks: list[Any] = []
        #: the (server, zone, plugin name) this configuration marked enabled
        self._marks: set[tuple[str, str, str]] = set()

    def add(self, address: str, block: Any, where: tuple[str, int]) -> None:
        """A block exports on ``address`` (the first block naming an address places it)."""
        if not any(b is block for b in self.blocks):
            self.blocks.append(block)
        if address not in self.endpoints:
            endpoint = self.endpoints[address] = MetricsEndpoint(address, self.metrics,
                                                                 self.reactor)
            endpoint.file, endpoint.line = where

    def start(self) -> None:
        """Mark the plugins enabled, then listen on every address."""
        for block in self.blocks:
            self._enable(block)
        for endpoint in self.endpoints.values():
            endpoint.start()

    def _enable(self, block: Any) -> None:
        """Mark the block's plugins on its keys with a known port (a key with port 0 is
        marked by the chain link once a query shows which port the OS chose)."""
        for host in block.listen_hosts or [""]:
            for key in block.keys:
                if key.port:
                    self.enable(block, server_label(key.scheme, host, key.port), key.zone)

    def enable(self, block: Any, server: str, zone: str) -> None:
        """``coredns_plugin_enabled`` for each plugin of ``block`` on ``server`` for ``zone``."""
        for plugin in block.plugins:
            mark = (server, zone, plugin.Name())
            if mark not in self._marks:
                self._marks.add(mark)
                self.metrics.mark_enabled(*mark)

    @defer.inlineCallbacks
    def stop(self):
        """Stop listening, forget which plugins were enabled."""
        for endpoint in self.endpoints.values():
            yield endpoint.stop()
        for mark in self._marks:
            self.metrics.unmark_enabled(*mark)
        self._marks.clear()
