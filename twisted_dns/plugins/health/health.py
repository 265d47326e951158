"""The process-wide health endpoint: ``GET /health`` -> ``200 OK`` while the server runs.

There is one endpoint per address, however many server blocks name it (they all report the
same process). In lame duck mode, before the process stops, the stop waits for the lame duck
duration while DNS keeps being served; ``/health`` keeps answering ``200 OK`` (as CoreDNS's:
it is a liveness check, and the *ready* endpoint is what goes unready to drain traffic).
While the endpoint is up, a self check fetches it every second and feeds CoreDNS's
health metrics (see :mod:`.selfcheck`).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, task
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from twisted_dns.addresses import join_host_port
from twisted_dns.errors import ConfigError
from twisted_dns.pkg.durations import Duration
from twisted_dns.pkg.http import HTTPEndpoint
from twisted_dns.plugins.health.metrics import HealthMetrics, health_metrics
from twisted_dns.plugins.health.selfcheck import Fetch, SelfCheck, agent_fetch

log = Logger(namespace="health")

#: the address ``health`` listens on without one (CoreDNS's)
DEFAULT_ADDRESS = ":8080"
#: ``c.shared()`` key of the ``{address: Health}`` mapping
SHARED_KEY = "health"


class Health:
    """The ``/health`` endpoint on one address.

    ``reactor`` listens for HTTP; ``clock`` (default: the reactor) times the lame duck period
    and the self check. ``metrics`` (default: the process's) and ``fetch`` (default: Twisted's
    HTTP client on ``reactor``) are the self check's.
    """

    def __init__(self, address: str, reactor: Any, clock: Any = None,
                 metrics: HealthMetrics | None = None, fetch: Fetch | None = None) -> None:
        self.address = address
        self.reactor = reactor
        self.clock = clock if clock is not None else reactor
        #: the longest lame duck duration any block asked for on this address
        self.lameduck_duration = Duration(0)
        #: where the directive was written, for listen errors
        self.file: str | None = None
        self.line: int | None = None
        self.endpoint = HTTPEndpoint(address, {"health": self.answer}, reactor)
        self.self_check = SelfCheck(self.url, metrics or health_metrics(), self.clock,
                                    fetch or agent_fetch(reactor))

    @property
    def port(self) -> int | None:
        """The port actually listened on (``127.0.0.1:0`` picks one), None when stopped."""
        return self.endpoint.port

    def url(self) -> bytes:
        """Where the self check asks: the address as written, ``localhost`` for every address
        (as CoreDNS), with the port actually listened on."""
        host = self.endpoint.host or "localhost"
        return f"http://{join_host_port(host, self.port)}/health".encode()

    def answer(self) -> tuple[int, str]:
        return 200, "OK"

    def start(self) -> None:
        """Listen and start the self check; a port in use or a bad port is a one-line
        ConfigError."""
        try:
            self.endpoint.start()
        except (CannotListenError, ValueError, OSError) as exc:
            reason = exc.socketError if isinstance(exc, CannotListenError) else exc
            raise ConfigError(f"plugin/health: listen tcp {self.address}: {reason}",
                              self.file, self.line) from exc
        self.self_check.start()

    def lameduck(self) -> defer.Deferred:
        """Fire after the lame duck duration (``/health`` stays ``200 OK`` meanwhile)."""
        log.info("Going into lameduck mode for {duration}", duration=str(self.lameduck_duration))
        return task.deferLater(self.clock, self.lameduck_duration.seconds, lambda: None)

    def stop(self) -> defer.Deferred:
        """Stop the self check and listening at once."""
        self.self_check.stop()
        return self.endpoint.stop()
