"""The UDP protocol: datagram in, reply to the sender, nothing escapes."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rcode
from twisted.internet import task
from twisted.internet.testing import FakeDatagramTransport
from twisted.trial import unittest

from tests.server import Plugin, block
from twisted_dns import wire
from twisted_dns.server.handler import QueryHandler
from twisted_dns.server.routing import ZoneRouter
from twisted_dns.server.udp import DNSDatagramProtocol

CLIENT = ("192.0.2.1", 3333)


def refuse(request: Any, writer: Any) -> int:
    writer.write(wire.reply(request, rcode=dns.rcode.REFUSED))
    return dns.rcode.REFUSED


class DatagramTests(unittest.TestCase):
    def setUp(self) -> None:
        self.plugin = Plugin(refuse)
        self.handler = QueryHandler(ZoneRouter([(".", block(self.plugin))]), task.Clock())
        self.protocol = DNSDatagramProtocol(self.handler, ("127.0.0.1", 53))
        self.transport = FakeDatagramTransport()
        self.protocol.makeConnection(self.transport)

    def test_reply_to_sender(self) -> None:
        q = dns.message.make_query("example.org.", "A")
        self.protocol.datagramReceived(q.to_wire(), CLIENT)
        [(data, addr)] = self.transport.written
        self.assertEqual(addr, CLIENT)
        self.assertTrue(q.is_response(dns.message.from_wire(data)))
        request = self.plugin.requests[0]
        self.assertEqual((request.proto, request.server), ("udp", ("127.0.0.1", 53)))

    def test_nothing_escapes(self) -> None:
        def explode(*args: Any) -> None:
            raise RuntimeError("handler bug")

        self.handler.handle = explode
        self.protocol.datagramReceived(b"x" * 20, CLIENT)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
