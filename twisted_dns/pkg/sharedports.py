"""HTTP listening ports that outlive a configuration, so a reload never closes them.

CoreDNS closes its health, ready and metrics listeners on reload and opens them again from
the new configuration; a port taken in between leaves the endpoint dead (coredns#1604,
#6263). Here an endpoint asks for its port through :func:`listen` with a key saying what it
is (address and paths): the first holder opens the port, a later holder with the same key
(the next configuration's endpoint) takes the open port over, and the port closes when its
last holder lets go. Requests are answered by the newest holder's site, also on connections
opened before it took over (keep-alive probes and scrapes). When the newest holder lets go
first (a reload that failed), the previous one answers again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from twisted.internet import defer
from twisted.web import resource, server

#: what an endpoint is: the same key in the next configuration takes the port over
Key = Hashable

_ports: dict[Key, _Shared] = {}


class _RelaySite(server.Site):
    """The site the port really listens with: hands each request to the newest holder."""

    noisy = False

    def __init__(self, shared: _Shared) -> None:
        super().__init__(resource.Resource())
        self._shared = shared

    def getResourceFor(self, request: Any) -> Any:  # noqa: N802 - Twisted's name
        return self._shared.site().getResourceFor(request)

    def log(self, request: Any) -> None:
        self._shared.site().log(request)


class _Shared:
    """One open port and who holds it, oldest first."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.port: Any = None
        self.holders: list[Lease] = []
        self._last_site: server.Site | None = None

    def site(self) -> server.Site:
        if self.holders:
            self._last_site = self.holders[-1].site
        assert self._last_site is not None
        return self._last_site


class Lease:
    """One holder's share of a port; ``getHost`` and ``stopListening`` as the port's own."""

    def __init__(self, shared: _Shared, site: server.Site) -> None:
        self._shared = shared
        self.site = site

    def getHost(self) -> Any:  # noqa: N802 - IListeningPort's name
        return self._shared.port.getHost()

    def stopListening(self) -> defer.Deferred:  # noqa: N802 - IListeningPort's name
        """Let go; the port closes (and the Deferred fires then) when no holder is left."""
        shared = self._shared
        if self not in shared.holders:
            return defer.succeed(None)
        shared.site()  # remember who answered, for requests still arriving on old connections
        shared.holders.remove(self)
        self.site.doStop()
        if shared.holders:
            return defer.succeed(None)
        if _ports.get(shared.key) is shared:
            del _ports[shared.key]
        return defer.maybeDeferred(shared.port.stopListening)


def listen(key: Key, site: server.Site, open_port: Callable[[server.Site], Any]) -> Lease:
    """Hold the port known as ``key``, opening it with ``open_port(relay_site)`` if needed.

    ``open_port`` is only called when no holder has the port; what it raises (port in use)
    propagates and nothing is held.
    """
    shared = _ports.get(key)
    if shared is None:
        shared = _Shared(key)
        shared.port = open_port(_RelaySite(shared))
        _ports[key] = shared
    site.doStart()
    lease = Lease(shared, site)
    shared.holders.append(lease)
    return lease


def held() -> list[Key]:
    """The keys of the ports open now (for tests and diagnostics)."""
    return list(_ports)
