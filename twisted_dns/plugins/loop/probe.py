"""The start-up probe: ask our own listener for the loop plugin's name until it answers.

As CoreDNS's ``loop`` setup: for up to 30 seconds, send the HINFO query over UDP to the
block's first listen address and port (waiting up to 2 seconds for the reply). A reply means
the query went through the chain and came back: the plugin disables itself. No reply (the
server still starting, an upstream timing out): forget the sightings, try again a second
later. After the 30 seconds the plugin disables itself anyway. Everything runs on the
reactor's clock; nothing blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.message
import dns.rdatatype
from twisted.internet import defer, error, protocol
from twisted.python.failure import Failure

from twisted_dns.plugins.loop.loop import Loop

#: CoreDNS: probe for 30 s, retry a second after a failed exchange, 2 s exchange timeout
PROBE_PERIOD = 30.0
RETRY_DELAY = 1.0
EXCHANGE_TIMEOUT = 2.0

#: (host, port) to probe, and the address as the log message shows it
Target = tuple[str, int, str]
Exchange = Callable[[str, int, bytes], defer.Deferred]


class _OneReply(protocol.DatagramProtocol):
    """Fires ``deferred`` with the first datagram carrying ``query_id``."""

    noisy = False  # one socket a probe: no "starting on" lines in the log

    def __init__(self, query_id: int, deferred: defer.Deferred) -> None:
        self.query_id = query_id
        self.deferred = deferred

    def datagramReceived(self, data: bytes, addr: Any) -> None:  # noqa: N802 - Twisted's
        if len(data) >= 2 and int.from_bytes(data[:2], "big") == self.query_id \
                and not self.deferred.called:
            self.deferred.callback(data)

    def connectionRefused(self) -> None:  # noqa: N802 - Twisted's name
        if not self.deferred.called:
            self.deferred.errback(error.ConnectionRefusedError())

    def stopProtocol(self) -> None:  # noqa: N802 - Twisted's name
        # the epoll reactor drops a UDP socket with a pending ICMP error (EPOLLERR without
        # EPOLLIN) instead of reporting connectionRefused: that is a refusal too
        if not self.deferred.called:
            self.deferred.errback(error.ConnectionRefusedError())


def udp_exchange(reactor: Any, host: str, port: int, query: bytes,
                 timeout: float = EXCHANGE_TIMEOUT) -> defer.Deferred:
    """Send ``query`` to ``host:port`` over UDP; fires with the reply, fails on a refusal or
    after ``timeout`` seconds (cancelling it closes the socket)."""
    result: defer.Deferred = defer.Deferred()
    handler = _OneReply(int.from_bytes(query[:2], "big"), result)
    port_ = reactor.listenUDP(0, handler, interface="::" if ":" in host else "")
    handler.transport.connect(host, port)
    handler.transport.write(query)
    timer = reactor.callLater(timeout, lambda: result.called or result.errback(
        error.TimeoutError(f"no reply from {host}:{port} in {timeout}s")))

    def done(outcome: Any) -> Any:
        if timer.active():
            timer.cancel()
        port_.stopListening()
        return outcome

    return result.addBoth(done)


class Prober:
    """Probes for ``loop`` on ``clock``; :meth:`start` is the startup hook, :meth:`stop` the
    shutdown one. ``target`` is looked up at each try (the port may be chosen at bind time)."""

    def __init__(self, loop: Loop, target: Callable[[], Target], clock: Any,
                 exchange: Exchange) -> None:
        self.loop = loop
        self.target = target
        self.clock = clock
        self.exchange = exchange
        self._deadline = 0.0
        self._call: Any = None
        self._pending: defer.Deferred | None = None
        self._stopped = False

    def start(self) -> None:
        self._deadline = self.clock.seconds() + PROBE_PERIOD
        # not now: during a reload the listener may be swapped in only after the hooks ran
        self._call = self.clock.callLater(0, self._attempt)

    def stop(self) -> None:
        self._stopped = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        if self._pending is not None:
            self._pending.cancel()

    def _attempt(self) -> None:
        self._call = None
        if self._stopped:
            return
        if self.clock.seconds() >= self._deadline:
            self.loop.disable()
            return
        host, port, shown = self.target()
        self.loop.address = shown
        query = dns.message.make_query(self.loop.qname, dns.rdatatype.HINFO).to_wire()
        self._pending = self.exchange(host, port, query)
        self._pending.addCallbacks(self._answered, self._failed)

    def _answered(self, _reply: bytes) -> None:
        self._pending = None
        self.loop.disable()

    def _failed(self, failure: Failure) -> None:
        self._pending = None
        if self._stopped or failure.check(defer.CancelledError):
            return
        self.loop.reset()
        self._call = self.clock.callLater(RETRY_DELAY, self._attempt)
