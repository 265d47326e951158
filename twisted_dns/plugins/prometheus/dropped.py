"""Counting the queries the server answered itself, before any block (zone ``dropped``).

CoreDNS reports these from its server core (``errorAndMetricsFunc``): no zone matched, a
class other than IN, a block without plugins. Here the server core is the QueryHandler; a
:class:`DroppedObserver` joins each handler's observers while the prometheus plugin serves,
and counts every query it finished with ``request.zone`` None (REFUSED, and also FORMERR,
NOTIMP and BADVERS, which CoreDNS's Go library answers before its server core sees them).
"""

from __future__ import annotations

from typing import Any

from twisted_dns.pkg.metrics import server_label
from twisted_dns.plugins.prometheus.metrics import DROPPED, ServerMetrics


def listens_on_every_address(router: Any) -> bool:
    """Whether the listener of ``router`` is a wildcard one: its blocks have no ``bind``.

    Listeners are per bind address, so a wildcard listener's router holds only blocks
    without one.
    """
    zones = getattr(router, "zones", {})
    return not any(getattr(block, "listen_hosts", None) for block in zones.values())


class DroppedObserver:
    """The observer of one QueryHandler: reports its block-less answers as ``dropped``."""

    def __init__(self, metrics: ServerMetrics, handler: Any) -> None:
        self.metrics = metrics
        self.handler = handler
        self._seconds = handler.reactor.seconds
        self._router: Any = None
        #: request.server -> server label, for the current router
        self._labels: dict[tuple, str] = {}

    def __call__(self, request: Any, writer: Any) -> None:
        if request.zone is not None:
            return  # a block's chain saw it: its prometheus link (if any) counted it
        self.metrics.report(self._label(request.server), DROPPED, request, writer.rcode or 0,
                            "", writer.size, self._seconds() - request.start)

    def _label(self, server: tuple) -> str:
        router = self.handler.router
        if router is not self._router:  # a reload swapped the zones: labels may differ
            self._router, self._labels = router, {}
        label = self._labels.get(server)
        if label is None:
            host = "" if listens_on_every_address(router) else server[0]
            label = self._labels[server] = server_label("dns", host, server[1])
        return label
