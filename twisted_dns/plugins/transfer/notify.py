"""Send DNS NOTIFY (RFC 1996) over UDP, retried on the reactor's timer.

As CoreDNS's ``transfer`` plugin: each secondary gets up to three tries; a try ends with a
NOERROR reply (done), another rcode or no reply within ``timeout`` seconds (try again).
"""

from __future__ import annotations

from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

log = Logger(namespace="transfer")

TRIES = 3
TIMEOUT = 2.0  # seconds, miekg/dns's client default


def notify_message(origin: str) -> dns.message.Message:
    """A NOTIFY for ``origin``'s SOA (AA set, as miekg/dns's SetNotify)."""
    message = dns.message.make_query(origin, dns.rdatatype.SOA)
    message.set_opcode(dns.opcode.NOTIFY)
    message.flags = dns.flags.AA | (message.flags & ~dns.flags.RD)
    return message


class _NotifyProtocol(DatagramProtocol):
    """One NOTIFY to one address: send, wait, resend; ``done`` fires with True on NOERROR."""

    def __init__(self, reactor: Any, origin: str, address: tuple[str, int],
                 tries: int, timeout: float) -> None:
        self.reactor = reactor
        self.origin = origin
        self.address = address
        self.tries_left = tries
        self.timeout = timeout
        self.message = notify_message(origin)
        self.wire = self.message.to_wire()
        self.done: defer.Deferred = defer.Deferred()
        self._timer: Any = None

    def startProtocol(self) -> None:  # noqa: N802 - Twisted's API
        self._send()

    def _send(self) -> None:
        if self.tries_left <= 0:
            self._finish(False)
            return
        self.tries_left -= 1
        try:
            self.transport.write(self.wire, self.address)
        except OSError as e:
            log.debug("NOTIFY to {address} not sent: {error}", address=self.address, error=e)
        self._timer = self.reactor.callLater(self.timeout, self._send)

    def datagramReceived(self, data: bytes, addr: Any) -> None:  # noqa: N802 - Twisted's API
        if tuple(addr[:2]) != self.address or self.done.called:
            return
        try:
            reply = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return
        if reply.id != self.message.id or not reply.flags & dns.flags.QR:
            return
        if reply.rcode() == dns.rcode.NOERROR:
            self._finish(True)
        else:
            self._cancel_timer()
            self._send()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _finish(self, accepted: bool) -> None:
        self._cancel_timer()
        if self.transport is not None:
            self.transport.stopListening()
        if not self.done.called:
            self.done.callback(accepted)


class Notifier:
    """Sends NOTIFYs; ``stop()`` abandons those still waiting (at shutdown)."""

    def __init__(self, reactor: Any = None, tries: int = TRIES, timeout: float = TIMEOUT) -> None:
        self.reactor = reactor
        self.tries = tries
        self.timeout = timeout
        self._pending: set[_NotifyProtocol] = set()

    def notify(self, origin: str, host: str, port: int) -> defer.Deferred:
        """NOTIFY ``host:port`` that ``origin`` changed; fires True when it was accepted."""
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        proto = _NotifyProtocol(reactor, origin, (host, port), self.tries, self.timeout)
        self._pending.add(proto)
        try:
            reactor.listenUDP(0, proto, interface="::" if ":" in host else "")
        except Exception as e:
            self._pending.discard(proto)
            return defer.fail(e)
        return proto.done.addBoth(self._ended, proto, origin, host, port)

    def _ended(self, accepted: Any, proto: _NotifyProtocol, origin: str, host: str,
               port: int) -> Any:
        self._pending.discard(proto)
        if accepted is not True:
            log.error("Notify for zone {zone!r} was not accepted by {host}:{port}",
                      zone=origin, host=host, port=port)
        return accepted is True

    def stop(self) -> None:
        for proto in list(self._pending):
            proto._finish(False)
