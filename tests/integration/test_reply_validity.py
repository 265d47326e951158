"""Every reply the server writes is valid DNS and says the right thing, end to end.

- a malformed EDNS option (a COOKIE of the wrong size, a short client subnet, an option
  running past its OPT record) is FORMERR, whichever plugin serves the name, as BIND answers
  it; never SERVFAIL. So is a query dnspython cannot decode, even when a plugin asks for it.
"""

from __future__ import annotations

import os
import socket
import struct

import dns.message
import dns.rcode
import dns.rrset
from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.test_request import MALFORMED_OPTIONS, WELL_FORMED_OPTIONS, opt_query
from twisted_dns.testing import start_server

ZONE = os.path.join(os.path.dirname(__file__), "zones", "db.example.org")
WWW = dns.rrset.from_text("www.example.org.", 3600, "IN", "A", "192.0.2.80", "192.0.2.81")


def exchange_udp(port: int, datagram: bytes, timeout: float = 5.0) -> bytes:
    """Send one raw datagram to the server and return the raw reply (blocking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(datagram, ("127.0.0.1", port))
        return sock.recv(65535)


class MalformedQueryTests(unittest.TestCase):
    """Raw packets over UDP to a file zone (dnspython decodes its queries) and to whoami
    (which never decodes them), each behind *errors*."""

    @defer.inlineCallbacks
    def setUp(self):
        self.server = yield start_server(
            f"example.org {{\n    errors\n    file {ZONE}\n}}\n"
            ". {\n    errors\n    whoami\n}\n")
        self.addCleanup(self.server.stop)

    def exchange(self, datagram: bytes) -> defer.Deferred:
        return threads.deferToThread(exchange_udp, self.server.port, datagram)

    @defer.inlineCallbacks
    def test_malformed_edns_options_are_formerr(self):
        for qname in ("example.org.", "example.net."):
            for case, options in MALFORMED_OPTIONS.items():
                data = yield self.exchange(opt_query(options, msg_id=0x4242, qname=qname))
                reply = dns.message.from_wire(data)
                self.assertEqual((reply.id, dns.rcode.to_text(reply.rcode())),
                                 (0x4242, "FORMERR"), f"{qname} {case}")
                self.assertEqual([q.to_text() for q in reply.question], [f"{qname} IN A"])
                self.assertEqual(reply.edns, 0)

    @defer.inlineCallbacks
    def test_well_formed_edns_options_are_answered(self):
        for case, options in WELL_FORMED_OPTIONS.items():
            data = yield self.exchange(opt_query(options, qname="www.example.org."))
            reply = dns.message.from_wire(data)
            self.assertEqual(dns.rcode.to_text(reply.rcode()), "NOERROR", case)
            self.assertEqual(reply.answer, [WWW], case)

    @defer.inlineCallbacks
    def test_record_dnspython_cannot_decode_is_formerr(self):
        # an additional A record of 3 octets: the server's reading skips it; the file
        # plugin's dnspython decoding of the query (it has an option) refuses it
        query = opt_query(WELL_FORMED_OPTIONS["client cookie"], qname="www.example.org.")
        record = b"\x01x\x00" + struct.pack("!HHIH", 1, 1, 0, 3) + b"\x01\x02\x03"
        query = query[:10] + b"\x00\x02" + query[12:] + record
        reply = dns.message.from_wire((yield self.exchange(query)))
        self.assertEqual(dns.rcode.to_text(reply.rcode()), "FORMERR")
        self.assertEqual(reply.question[0].to_text(), "www.example.org. IN A")
