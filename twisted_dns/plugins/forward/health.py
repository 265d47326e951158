"""In-band health checking of one upstream (CoreDNS's ``proxy/health.go`` and ``pkg/up``).

Nothing is probed while queries succeed. When a query to an upstream fails (timeout, refused,
connection lost) the check starts: ``<domain> IN NS`` (RD set unless ``no_rec``) over the
upstream's transport, every ``interval`` for as long as it fails. Every failed check adds one
to the upstream's ``fails``; any reply at all (even SERVFAIL or REFUSED) sets it back to 0 and
stops the checking. An upstream is down while ``fails > max_fails``.
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.logger import Logger

from twisted_dns import wire

log = Logger(namespace="forward")

#: how long a check waits for its reply (CoreDNS's health check client read timeout)
CHECK_TIMEOUT = 1.0

_TYPE_NS = 2
_CLASS_IN = 1


def check_query(domain: str, recursion_desired: bool) -> tuple[bytes, bytes]:
    """The check's message after its ID, and its question, in wire form."""
    question = wire.name(domain) + struct.pack("!HH", _TYPE_NS, _CLASS_IN)
    flags = wire.RD if recursion_desired else 0
    return struct.pack("!HHHHH", flags, 1, 0, 0, 0) + question, question


class HealthCheck:
    """Probes one proxy while it fails; ``kick()`` starts probing unless it already runs."""

    def __init__(self, proxy: Any, reactor: Any, interval: float, proto: str,
                 domain: str = ".", recursion_desired: bool = True) -> None:
        self.proxy = proxy
        self.reactor = reactor
        self.interval = interval
        self.proto = proto
        self.rest, self.question = check_query(domain, recursion_desired)
        self.running = False
        self.stopped = False
        self._timer: Any = None
        #: failed checks so far (also counted in coredns_proxy_healthcheck_failures_total)
        self.failures = 0

    def kick(self) -> None:
        if self.running or self.stopped:
            return
        self.running = True
        self._check()

    def _check(self) -> None:
        self._timer = None
        if self.stopped:
            return
        deadline = self.reactor.seconds() + CHECK_TIMEOUT
        self.proxy.send_check(self.proto, self.rest, self.question, _Probe(self), deadline)

    def succeeded(self) -> None:
        self.proxy.fails = 0
        self.running = False

    def failed(self, reason: Exception) -> None:
        self.failures += 1
        self.proxy.fails += 1
        self.proxy.metrics.healthcheck_failed()
        log.debug("health check of {addr} failed: {reason}", addr=self.proxy.addr,
                  reason=reason)
        if not self.stopped:
            self._timer = self.reactor.callLater(self.interval, self._check)

    def stop(self) -> None:
        self.stopped = True
        self.running = False
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


class _Probe:
    """The waiter of one check."""

    __slots__ = ("check",)

    def __init__(self, check: HealthCheck) -> None:
        self.check = check

    def answered(self, data: bytes) -> None:
        if not self.check.stopped:
            self.check.succeeded()

    def failed(self, reason: Exception) -> None:
        if not self.check.stopped:
            self.check.failed(reason)
