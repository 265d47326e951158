"""SIGTERM as an operator sees it: lame duck, then a drain that answers the query in flight.

twistd forwards to an upstream run here, in the test's reactor, that holds every query until
the test releases it; blocking probes (HTTP, DNS, the process) run in threads meanwhile.
"""

from __future__ import annotations

import signal
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet import defer, reactor
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from tests.integration.twistd import Twistd, http_status
from twisted_dns.testing import free_port

ADDRESS = "192.0.2.53"


class HoldingUpstream:
    """A DNS server over UDP, on any number of ports, that answers nothing until
    :meth:`release`; ``received`` fires at the first query."""

    def __init__(self) -> None:
        self.held: list[tuple[Any, bytes, Any]] = []
        self.received: defer.Deferred = defer.Deferred()

    def listen(self, test: unittest.TestCase) -> int:
        """Listen on one more 127.0.0.1 port; returns it."""
        port = reactor.listenUDP(0, _Port(self), interface="127.0.0.1")
        test.addCleanup(port.stopListening)
        return port.getHost().port

    def hold(self, transport: Any, datagram: bytes, addr: Any) -> None:
        self.held.append((transport, datagram, addr))
        if not self.received.called:
            self.received.callback(None)

    def release(self) -> None:
        """Answer every held query: ``ADDRESS`` for A, an empty NOERROR otherwise."""
        for transport, datagram, addr in self.held:
            query = dns.message.from_wire(datagram)
            reply = dns.message.make_response(query)
            question = query.question[0]
            if question.rdtype == dns.rdatatype.A:
                reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", ADDRESS))
            transport.write(reply.to_wire(), addr)
        self.held.clear()


class _Port(DatagramProtocol):
    def __init__(self, upstream: HoldingUpstream) -> None:
        self.upstream = upstream

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self.upstream.hold(self.transport, datagram, addr)


class ShutdownTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_sigterm_answers_the_query_in_flight(self):
        upstream = HoldingUpstream()
        # two upstream addresses: forward gives up on one after 2s, the second keeps the
        # query alive however slowly this test runs up to the release
        upstreams = " ".join(f"127.0.0.1:{upstream.listen(self)}" for _ in range(2))
        port, health, ready = free_port(), free_port(), free_port()
        server = Twistd(self, f".:{port} {{\n"
                              f"    health 127.0.0.1:{health} {{\n        lameduck 1s\n    }}\n"
                              f"    ready 127.0.0.1:{ready}\n"
                              f"    forward . {upstreams}\n}}\n")
        self.assertEqual((yield server.until(lambda: http_status(ready, "/ready"), 30)), 200)
        asked = deferToThread(dns.query.udp, dns.message.make_query("example.org", "A"),
                              "127.0.0.1", port=port, timeout=10)
        yield upstream.received
        server.signal(signal.SIGTERM)
        yield server.until(lambda: http_status(ready, "/ready") == 503, 5)
        self.assertEqual((yield deferToThread(http_status, health)), 200)  # alive, as CoreDNS
        draining = f"draining 1 in-flight queries on dns://:{port}"
        yield server.until(lambda: draining in server.log(), 10)
        self.assertIsNone(server.process.poll())  # waiting for the upstream
        self.assertEqual((yield deferToThread(http_status, ready, "/ready")), 503)
        upstream.release()
        reply = yield asked
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertEqual([rr.address for rr in reply.answer[0]], [ADDRESS])
        status = yield server.exited()
        self.assertEqual(status, -signal.SIGTERM, server.log())
        self.assertIsNone((yield deferToThread(http_status, health)))  # endpoints closed too
