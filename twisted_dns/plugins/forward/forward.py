"""The *forward* handler: relays a query's wire bytes to an upstream and its reply back.

The hot path never decodes a message. The query goes out as the client's bytes with a new ID
(``transport``); the reply comes back as the upstream's bytes with the client's ID put back and
the client's question (its case included) in place of the upstream's, then through the
writer, which only re-encodes a reply too big for the client. Per query that is one
:class:`_Exchange` (the waiter), one Deferred for the server, and a few slices.

What happens on the way is CoreDNS's ``forward.go``: upstreams in the policy's order, down ones
skipped (a random one when all are down, or SERVFAIL with ``failfast_all_unhealthy_upstreams``);
a network error or timeout moves on to the next upstream and starts its health check; a
``failover`` rcode moves on too; a ``next`` rcode hands the query to the next *forward*; with
``prefer_udp`` a truncated UDP reply is asked again over TCP. A query gives up with SERVFAIL
once every upstream failed it, or after ``DEADLINE`` seconds, before the server's own deadline.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin
from twisted_dns.names import is_subdomain
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.plugins.forward.metrics import ForwardMetrics, forward_metrics
from twisted_dns.plugins.forward.proxy import Proxy
from twisted_dns.plugins.forward.transport import Timeouts
from twisted_dns.wire import FORMERR, NOERROR, REFUSED, SERVFAIL

log = Logger(namespace="forward")

NAME = "forward"

#: the most time one query spends on its upstreams (the server answers SERVFAIL at 5 s)
DEADLINE = 4.5
#: the most time one try waits for its reply (CoreDNS's read timeout)
READ_TIMEOUT = 2.0


class Options:
    """A *forward* stanza's settings besides its upstreams (see setup for their defaults)."""

    def __init__(self, **settings: Any) -> None:
        self.force_tcp = False
        self.prefer_udp = False
        self.max_fails = 2
        self.max_concurrent = 0
        self.max_connect_attempts = 0
        self.failfast_all_unhealthy = False
        self.next_rcodes: frozenset[int] = frozenset()
        self.failover_rcodes: frozenset[int] = frozenset()
        for key, value in settings.items():
            if not hasattr(self, key):
                raise TypeError(f"unknown forward option {key!r}")
            setattr(self, key, value)


@implementer(IPlugin)
class Forward:
    """One ``forward FROM TO...`` stanza."""

    def __init__(self, next_plugin: Any, from_zone: str, proxies: Sequence[Proxy],
                 policy: Any, reactor: Any, ignored: Sequence[str] = (),
                 options: Options | None = None, timeouts: Timeouts | None = None,
                 metrics: ForwardMetrics | None = None) -> None:
        self.next = next_plugin
        self.from_zone = from_zone
        self.proxies = list(proxies)
        self.policy = policy
        self.reactor = reactor
        self.ignored = list(ignored)
        self.options = options or Options()
        self.timeouts = timeouts
        self._seconds = reactor.seconds
        self._match_all = from_zone == "." and not self.ignored
        #: the process's coredns_forward_* counters (kept across reloads)
        self.metrics = metrics if metrics is not None else forward_metrics()
        #: queries waiting on an upstream now
        self.concurrent = 0
        #: this stanza's share of coredns_forward_max_concurrent_rejects_total
        self.max_concurrent_rejects = 0
        #: this stanza's share of coredns_forward_healthcheck_broken_total
        self.healthcheck_broken = 0

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def match(self, qname_lower: str) -> bool:
        """FROM holds the name and no ``except`` name does (FROM itself always matches)."""
        if self._match_all:
            return True
        zone = self.from_zone
        if qname_lower == zone:
            return True
        return is_subdomain(qname_lower, zone) and not any(
            is_subdomain(qname_lower, ignored) for ignored in self.ignored)

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802 - the IPlugin contract
        if not self.match(request.qname_lower):
            return next_or_failure(NAME, self.next, request, writer)
        options = self.options
        if options.max_concurrent and self.concurrent >= options.max_concurrent:
            self.max_concurrent_rejects += 1
            self.metrics.max_concurrent_rejects.inc()
            return REFUSED
        self.concurrent += 1
        return _Exchange(self, request, writer).start()

    def stop(self) -> None:
        """Close the upstream connections and timers (the configuration's shutdown hook:
        sockets open on first use, so there is nothing to start)."""
        for proxy in self.proxies:
            proxy.stop()
        if self.timeouts is not None:
            self.timeouts.stop()


class _Exchange:
    """One query's walk over the upstreams; the waiter the sockets report to."""

    __slots__ = (
        "attempts",
        "deadline",
        "deferred",
        "done",
        "fails",
        "forward",
        "index",
        "order",
        "proto",
        "proxy",
        "request",
        "rest",
        "result",
        "sent",
        "writer",
    )

    def __init__(self, forward: Forward, request: Any, writer: Any) -> None:
        self.forward = forward
        self.request = request
        self.writer = writer
        self.done = False
        self.result: int | None = None
        self.deferred: defer.Deferred | None = None
        self.rest = request.wire[2:]
        options = forward.options
        if options.force_tcp:
            self.proto = "tcp"
        elif options.prefer_udp or request.proto == "udp":
            self.proto = "udp"
        else:
            self.proto = "tcp"
        self.order = forward.policy.list(forward.proxies)
        self.index = 0
        self.fails = 0
        self.attempts = 0
        self.proxy: Proxy | None = None
        #: when the current try went out (its reply's coredns_proxy_request_duration_seconds)
        self.sent = forward._seconds()
        self.deadline = self.sent + DEADLINE

    def start(self) -> Any:
        self._try_next()
        if self.done:  # settled at once (failfast, every socket refusing on send)
            return self.deferred if self.deferred is not None else self.result
        self.deferred = defer.Deferred(self._cancel)
        return self.deferred

    def _try_next(self) -> None:
        """Send to the next upstream in order, or settle with SERVFAIL when out of them."""
        forward = self.forward
        proxies = forward.proxies
        n = len(proxies)
        options = forward.options
        now = forward._seconds()
        if now >= self.deadline or self.attempts >= n or (
                options.max_connect_attempts and self.attempts >= options.max_connect_attempts):
            self._finish(SERVFAIL)
            return
        order = self.order
        while True:
            if self.index >= len(order):
                self.index = 0
                self.fails = 0
            proxy = order[self.index]
            self.index += 1
            if proxy.down(options.max_fails):
                self.fails += 1
                if self.fails < n:
                    continue
                forward.healthcheck_broken += 1
                forward.metrics.healthcheck_broken.inc()
                if options.failfast_all_unhealthy:
                    self._finish(SERVFAIL)
                    return
                proxy = random.choice(proxies)
            break
        self.proxy = proxy
        self.attempts += 1
        self.sent = now
        proxy.send(self.proto, self.rest, self.request.question_wire, self,
                   min(now + READ_TIMEOUT, self.deadline))

    # the waiter contract

    def answered(self, data: bytes) -> None:
        if self.done:
            return
        forward = self.forward
        options = forward.options
        request = self.request
        now = forward._seconds()
        rcode = wire.rcode(data)
        # every reply counts, as CoreDNS's proxy counts it before forward looks at it
        self.proxy.metrics.observe(rcode, now - self.sent)
        if data[2] & 0x02 and self.proto == "udp" and options.prefer_udp \
                and not options.force_tcp:
            self.proto = "tcp"  # truncated: the same upstream again, over TCP
            self.sent = now
            self.proxy.send("tcp", self.rest, request.question_wire, self,
                            min(now + READ_TIMEOUT, self.deadline))
            return
        if data[4] == 0 and data[5] == 0:
            # the reply lost the question: CoreDNS's "wrong reply" FORMERR
            log.debug("reply from {addr} for {qname} has no question", addr=self.proxy.addr,
                      qname=request.qname)
            self.writer.write(wire.reply(request, FORMERR))
            self._finish(NOERROR)
            return
        if rcode in options.failover_rcodes and self.attempts < len(forward.proxies):
            self.fails += 1
            self._try_next()
            return
        if rcode in options.next_rcodes and isinstance(forward.next, Forward):
            self._hand_on()
            return
        question = request.question_wire
        end = 12 + len(question)
        if data[12:end] == question:
            reply = request.wire[:2] + data[2:]
        else:  # the client's own spelling of the name (and of the ID)
            reply = b"".join((request.wire[:2], data[2:12], question, data[end:]))
        self.writer.write(reply)
        self._finish(NOERROR)

    def failed(self, reason: Exception) -> None:
        if self.done:
            return
        log.debug("{addr} failed {qname}: {reason}", addr=self.proxy.addr,
                  qname=self.request.qname, reason=reason)
        if self.forward.options.max_fails:
            self.proxy.healthcheck()
        self._try_next()

    # settling

    def _hand_on(self) -> None:
        """``next``: the next *forward* answers; its outcome is ours."""
        self.done = True
        self.forward.concurrent -= 1
        result = next_or_failure(NAME, self.forward.next, self.request, self.writer)
        if isinstance(result, defer.Deferred):
            if self.deferred is None:
                self.deferred = result
                return
            result.chainDeferred(self.deferred)
        elif self.deferred is None:
            self.result = result
        else:
            self.deferred.callback(result)

    def _finish(self, rcode: int) -> None:
        self.done = True
        self.forward.concurrent -= 1
        d, self.deferred = self.deferred, None
        if d is None:
            self.result = rcode
        else:
            d.callback(rcode)

    def _cancel(self, _deferred: defer.Deferred) -> None:
        """The server gave up on the query: forget it (a late reply is dropped)."""
        if not self.done:
            self.done = True
            self.forward.concurrent -= 1
