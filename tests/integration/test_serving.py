"""End to end: Corefiles served on loopback, asked with dnspython over UDP and TCP."""

from __future__ import annotations

import os
import socket
import struct

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from twisted.internet import defer, threads
from twisted.trial import unittest

from twisted_dns.testing import start_server

PROTOS = ("udp", "tcp")


class ServingTestCase(unittest.TestCase):
    """Starts a server per test and stops it afterwards."""

    @defer.inlineCallbacks
    def serve(self, corefile: str, **kwargs):
        server = yield start_server(corefile, **kwargs)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def assertRcode(self, server, name: str, rcode: int, rdtype: str = "A"):
        for proto in PROTOS:
            reply = yield server.query(name, rdtype, proto=proto)
            self.assertEqual(dns.rcode.to_text(reply.rcode()), dns.rcode.to_text(rcode),
                             f"{name} {rdtype} over {proto}")
        return reply


class RoutingTests(ServingTestCase):
    @defer.inlineCallbacks
    def test_empty_block_refused(self):
        server = yield self.serve("example.org {\n}\n")
        yield self.assertRcode(server, "example.org", dns.rcode.REFUSED)

    @defer.inlineCallbacks
    def test_no_matching_zone_refused(self):
        server = yield self.serve("example.org {\n    whoami\n}\n")
        yield self.assertRcode(server, "www.example.org", dns.rcode.NOERROR)
        yield self.assertRcode(server, "example.net", dns.rcode.REFUSED)
        yield self.assertRcode(server, "org", dns.rcode.REFUSED)

    @defer.inlineCallbacks
    def test_longest_match_then_root(self):
        server = yield self.serve(
            ". {\n    whoami\n}\nexample.org {\n}\nwww.example.org {\n    whoami\n}\n")
        yield self.assertRcode(server, "example.com", dns.rcode.NOERROR)
        yield self.assertRcode(server, "a.example.org", dns.rcode.REFUSED)
        yield self.assertRcode(server, "a.www.example.org", dns.rcode.NOERROR)
        # label by label: "xwww.example.org" is not under "www.example.org"
        yield self.assertRcode(server, "xwww.example.org", dns.rcode.REFUSED)

    @defer.inlineCallbacks
    def test_case_insensitive_keys_and_question_case_kept(self):
        server = yield self.serve("EXAMPLE.Org {\n    whoami\n}\n")
        for proto in PROTOS:
            reply = yield server.query("WwW.example.ORG", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
            self.assertEqual(str(reply.question[0].name), "WwW.example.ORG.")

    @defer.inlineCallbacks
    def test_several_zones_share_one_chain(self):
        server = yield self.serve("a.example b.example {\n    whoami\n}\n")
        yield self.assertRcode(server, "x.a.example", dns.rcode.NOERROR)
        yield self.assertRcode(server, "x.b.example", dns.rcode.NOERROR)
        yield self.assertRcode(server, "x.c.example", dns.rcode.REFUSED)
        (block,) = server.configuration.blocks
        self.assertEqual(block.zones, ["a.example.", "b.example."])
        self.assertEqual(len(block.plugins), 1)

    @defer.inlineCallbacks
    def test_reverse_cidr_slash_15(self):
        server = yield self.serve("10.0.0.0/15 {\n    whoami\n}\n")
        self.assertEqual(server.configuration.blocks[0].zones,
                         ["0.10.in-addr.arpa.", "1.10.in-addr.arpa."])
        yield self.assertRcode(server, "4.3.0.10.in-addr.arpa", dns.rcode.NOERROR, "PTR")
        yield self.assertRcode(server, "4.3.1.10.in-addr.arpa", dns.rcode.NOERROR, "PTR")
        yield self.assertRcode(server, "4.3.2.10.in-addr.arpa", dns.rcode.REFUSED, "PTR")

    @defer.inlineCallbacks
    def test_reverse_cidr_slash_25(self):
        server = yield self.serve("192.168.1.0/25 {\n    whoami\n}\n")
        self.assertEqual(len(server.configuration.blocks[0].zones), 128)
        yield self.assertRcode(server, "0.1.168.192.in-addr.arpa", dns.rcode.NOERROR, "PTR")
        yield self.assertRcode(server, "127.1.168.192.in-addr.arpa", dns.rcode.NOERROR, "PTR")
        yield self.assertRcode(server, "128.1.168.192.in-addr.arpa", dns.rcode.REFUSED, "PTR")

    @defer.inlineCallbacks
    def test_environment_variables(self):
        server = yield self.serve("{$ZONE} {\n    {%PLUGIN%}\n}\n",
                                  environ={"ZONE": "env.example", "PLUGIN": "whoami"})
        yield self.assertRcode(server, "a.env.example", dns.rcode.NOERROR)
        yield self.assertRcode(server, "example.org", dns.rcode.REFUSED)

    @defer.inlineCallbacks
    def test_imports(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(directory, "zones"))
        with open(os.path.join(directory, "zones", "a.conf"), "w") as handle:
            handle.write("a.example {\n    import answer\n}\n")
        with open(os.path.join(directory, "zones", "b.conf"), "w") as handle:
            handle.write("b.example {\n    import answer\n}\n")
        corefile = "(answer) {\n    whoami\n}\nimport zones/*.conf\n"
        path = os.path.join(directory, "Corefile")
        server = yield self.serve(corefile, filename=path)
        yield self.assertRcode(server, "x.a.example", dns.rcode.NOERROR)
        yield self.assertRcode(server, "x.b.example", dns.rcode.NOERROR)
        self.assertIn(os.path.join(directory, "zones", "a.conf"), server.configuration.files)


class WireTests(ServingTestCase):
    """EDNS, truncation and bad input, as a client sees them."""

    @defer.inlineCallbacks
    def test_edns_mirrored(self):
        server = yield self.serve(". {\n    whoami\n}\n")
        for proto in PROTOS:
            reply = yield server.query("example.org", proto=proto, use_edns=0, payload=1400,
                                       want_dnssec=True)
            self.assertEqual(reply.edns, 0)
            self.assertTrue(reply.ednsflags & dns.flags.DO)
            plain = yield server.query("example.org", proto=proto)
            self.assertEqual(plain.edns, -1)

    @defer.inlineCallbacks
    def test_badvers(self):
        server = yield self.serve(". {\n    whoami\n}\n")
        for proto in PROTOS:
            reply = yield server.query("example.org", proto=proto, use_edns=1)
            self.assertEqual(reply.rcode(), dns.rcode.BADVERS)
            self.assertEqual(reply.edns, 0)

    @defer.inlineCallbacks
    def test_truncation_keeps_whole_records(self):
        # 30 records of ~35 bytes: more than 512 bytes, less than our 1232-byte EDNS limit
        authors = " ".join(f"author-number-{i:03d}" for i in range(30))
        server = yield self.serve(f". {{\n    chaos v1 {authors}\n}}\n")
        udp = yield server.query("authors.bind", "TXT", "CH")
        self.assertTrue(udp.flags & dns.flags.TC)
        self.assertLessEqual(len(udp.to_wire()), 512)
        self.assertEqual(str(udp.question[0].name), "authors.bind.")
        udp_records = sum(len(rrset) for rrset in udp.answer)
        self.assertLess(udp_records, 30)
        tcp = yield server.query("authors.bind", "TXT", "CH", proto="tcp")
        self.assertFalse(tcp.flags & dns.flags.TC)
        self.assertEqual(sum(len(rrset) for rrset in tcp.answer), 30)
        big = yield server.query("authors.bind", "TXT", "CH", use_edns=0, payload=4096)
        self.assertFalse(big.flags & dns.flags.TC)

    @defer.inlineCallbacks
    def test_junk_then_query(self):
        server = yield self.serve(". {\n    whoami\n}\n")
        query = dns.message.make_query("example.org", "A")
        junk = [b"", b"\x00", b"\xff" * 11, os.urandom(12), os.urandom(300),
                query.to_wire()[:20], struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 0) + b"\x3fabc"]
        replies = yield threads.deferToThread(self.send_junk, server.port, junk)
        # a readable header with a broken body gets FORMERR with the same ID
        formerr = [reply for reply in replies if reply[:2] == b"\x00\x07"]
        self.assertEqual(len(formerr), 1)
        self.assertEqual(formerr[0][3] & 0x0F, dns.rcode.FORMERR)
        yield self.assertRcode(server, "example.org", dns.rcode.NOERROR)

    @staticmethod
    def send_junk(port: int, datagrams: list[bytes]) -> list[bytes]:
        replies = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            for datagram in datagrams:
                sock.sendto(datagram, ("127.0.0.1", port))
            try:
                while True:
                    replies.append(sock.recv(65535))
            except TimeoutError:
                return replies

    @defer.inlineCallbacks
    def test_pipelined_tcp(self):
        server = yield self.serve(". {\n    whoami\n}\n")
        queries = [dns.message.make_query(f"q{i}.example", "A") for i in range(5)]
        replies = yield threads.deferToThread(self.pipeline, server.port, queries)
        self.assertEqual(sorted(reply.id for reply in replies),
                         sorted(query.id for query in queries))
        for reply in replies:
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR)

    @staticmethod
    def pipeline(port: int, queries: list[dns.message.Message]) -> list[dns.message.Message]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            return WireTests.pipeline_on(sock, queries)

    @staticmethod
    def pipeline_on(sock: socket.socket,
                    queries: list[dns.message.Message]) -> list[dns.message.Message]:
        payload = b"".join(struct.pack("!H", len(wire)) + wire
                           for wire in (query.to_wire() for query in queries))
        sock.sendall(payload)  # all queries in one segment
        stream = sock.makefile("rb")
        replies = []
        for _ in queries:
            (length,) = struct.unpack("!H", stream.read(2))
            replies.append(dns.message.from_wire(stream.read(length)))
        return replies

    @defer.inlineCallbacks
    def test_idle_tcp_closed(self):
        """After an answered query, a silent connection is closed at the idle timeout."""
        server = yield self.serve(". {\n    whoami\n}\n",
                                  listener_options={"idle_timeout": 0.2})
        query = dns.message.make_query("example.org", "A")
        replies, rest = yield threads.deferToThread(self.query_then_wait, server.port, query)
        self.assertEqual([reply.id for reply in replies], [query.id])
        self.assertEqual(rest, b"")  # an orderly close, not a reset

    @defer.inlineCallbacks
    def test_silent_tcp_client_cut(self):
        """A client that connects and never sends is cut at the read timeout."""
        server = yield self.serve(". {\n    whoami\n}\n",
                                  listener_options={"read_timeout": 0.2})
        replies, rest = yield threads.deferToThread(self.query_then_wait, server.port, None)
        self.assertEqual((replies, rest), ([], b""))

    @staticmethod
    def query_then_wait(port: int, query: dns.message.Message | None):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            replies = WireTests.pipeline_on(sock, [query]) if query else []
            try:
                rest = sock.recv(1)
            except ConnectionResetError:
                rest = b""  # the server aborted the connection: closed all the same
            return replies, rest
