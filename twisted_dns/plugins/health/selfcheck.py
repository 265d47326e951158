"""CoreDNS's self check (its ``overloaded``): our own ``/health``, fetched once a second.

Each check's duration goes to ``coredns_health_request_duration_seconds``; a check that errs
or takes longer than :data:`TIMEOUT` also counts in ``coredns_health_request_failures_total``.
A rising duration means the reactor is slow to answer, i.e. the process is overloaded. Any
HTTP answer counts as done (a 503 too), as Go's client only errs without one. One check is
in flight at a time: the loop waits for it before planning the next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent, readBody

from twisted_dns.pkg.periodic import Periodic
from twisted_dns.plugins.health.metrics import HealthMetrics

log = Logger(namespace="health")

#: seconds between two checks, their timeout, and when a check is slow enough to log (CoreDNS's)
INTERVAL = 1.0
TIMEOUT = 3.0
SLOW = 1.0

#: ``fetch(url)`` -> a Deferred firing when the whole answer is in (cancellable)
Fetch = Callable[[bytes], defer.Deferred]


def agent_fetch(reactor: Any) -> Fetch:
    """GET with Twisted's HTTP client on ``reactor``, reading the (two byte) body."""
    agent = Agent(reactor)

    def fetch(url: bytes) -> defer.Deferred:
        return agent.request(b"GET", url).addCallback(readBody)

    return fetch


class SelfCheck:
    """Checks ``url()`` every :data:`INTERVAL` seconds of ``clock`` while started."""

    def __init__(self, url: Callable[[], bytes], metrics: HealthMetrics, clock: Any,
                 fetch: Fetch) -> None:
        self.url = url
        self.metrics = metrics
        self.clock = clock
        self.fetch = fetch
        self._poll = Periodic(self.check, "health self check")
        #: the check in flight, if any
        self.checking: defer.Deferred | None = None

    def start(self) -> None:
        self._poll.start(INTERVAL, self.clock)

    def stop(self) -> None:
        """No more checks; the one in flight is dropped without being recorded."""
        self._poll.stop()
        if self.checking is not None:
            self.checking.cancel()

    def check(self) -> defer.Deferred:
        """One check; fires (never fails) once it is recorded."""
        url = self.url()
        start = self.clock.seconds()
        d = self.fetch(url)
        d.addTimeout(TIMEOUT, self.clock)
        d.addCallbacks(self._answered, self._failed, (url, start), None, (url, start))
        self.checking = d
        return d.addBoth(self._done)

    def _answered(self, _: Any, url: bytes, start: float) -> None:
        elapsed = self.clock.seconds() - start
        self.metrics.duration.observe(elapsed)
        if elapsed > SLOW:
            log.warn("Local health request to {url!r} took more than 1s: {elapsed:.3f}s",
                     url=url.decode(), elapsed=elapsed)

    def _failed(self, failure: Failure, url: bytes, start: float) -> None:
        if not self._poll.running and failure.check(defer.CancelledError):
            return  # stopped while checking: not a failure (CoreDNS returns too)
        self.metrics.duration.observe(self.clock.seconds() - start)
        self.metrics.failures.inc()
        error = (f"no answer within {TIMEOUT:g}s" if failure.check(defer.TimeoutError)
                 else failure.getErrorMessage() or failure.type.__name__)
        log.warn("Local health request to {url!r} failed: {error}", url=url.decode(),
                 error=error)

    def _done(self, _: Any) -> None:
        self.checking = None
