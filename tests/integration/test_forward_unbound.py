"""*forward* against real upstreams: Debian's Unbound (UDP, TCP, DNS over TLS) and a second
twisted-dns server (whoami, chaos, a dead forward), all on loopback ports chosen at run time.
"""

from __future__ import annotations

import os
import socket
import subprocess

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest

from twisted_dns.plugins.forward.forward import Forward
from twisted_dns.testing import RunningServer, eventually, free_port, start_server
from twisted_dns.testing.peers import UnboundServer, require_program

RECORDS = {
    "www.example.org.": ["300 A 192.0.2.1", "300 AAAA 2001:db8::1", '300 TXT "hello world"'],
    "mail.example.net.": "300 A 192.0.2.25",
}


def dead_port() -> int:
    """A loopback port nothing listens on (UDP gets ICMP port unreachable, TCP a RST)."""
    return free_port()


def forwards(server: RunningServer) -> list[Forward]:
    return [handler for block in server.configuration.blocks for handler in block.plugins
            if isinstance(handler, Forward)]


class ForwardTestCase(unittest.TestCase):
    """Starts servers and stops them again after the test."""

    @defer.inlineCallbacks
    def serve(self, corefile: str):
        server = yield start_server(corefile)
        self.addCleanup(server.stop)
        return server


class UnboundTests(ForwardTestCase):
    """Forwarding to Unbound, which answers only from its local-data."""

    def setUp(self):
        UnboundServer.require()
        self.unbound = UnboundServer(self.mktemp(), RECORDS)
        self.addCleanup(self.unbound.stop)
        return self.unbound.start()

    def corefile(self, block: str = "") -> str:
        return f". {{\n    forward . 127.0.0.1:{self.unbound.port} {{\n{block}\n    }}\n}}\n"

    @defer.inlineCallbacks
    def test_a_aaaa_txt_over_udp_and_tcp(self):
        server = yield self.serve(self.corefile())
        for proto in ("udp", "tcp"):
            for rdtype, text in [("A", "192.0.2.1"), ("AAAA", "2001:db8::1"),
                                 ("TXT", '"hello world"')]:
                reply = yield server.query("www.example.org", rdtype, proto=proto)
                self.assertEqual(reply.rcode(), 0)
                self.assertEqual([rr.to_text() for rr in reply.answer[0]], [text])
            reply = yield server.query("nothing.example.org", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)

    @defer.inlineCallbacks
    def test_question_case_and_id_kept(self):
        server = yield self.serve(self.corefile())
        for proto in ("udp", "tcp"):
            query = dns.message.make_query("WwW.eXample.ORG", "A", id=4242)
            reply = yield server.send(query, proto=proto)
            self.assertEqual(reply.id, 4242)
            self.assertEqual(reply.question[0].name.to_text(), "WwW.eXample.ORG.")
            self.assertEqual(reply.answer[0][0].address, "192.0.2.1")

    @defer.inlineCallbacks
    def test_tcp_connection_kept_open(self):
        server = yield self.serve(self.corefile("        force_tcp"))
        for _ in range(3):
            reply = yield server.query("www.example.org", "A")
            self.assertEqual(reply.answer[0][0].address, "192.0.2.1")
        (proxy,) = forwards(server)[0].proxies
        self.assertEqual(len(proxy.stream.connections), 1)

    @defer.inlineCallbacks
    def test_except_goes_to_next_plugin(self):
        server = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{self.unbound.port} {{\n"
            "        except example.org\n    }\n    whoami\n}\n")
        reply = yield server.query("www.example.org", "A")
        self.assertEqual(reply.answer, [])  # whoami's reply: the client in additional
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertEqual(len(reply.additional), 2)
        reply = yield server.query("mail.example.net", "A")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.25")

    @defer.inlineCallbacks
    def test_failover_to_next_upstream_when_first_is_down(self):
        server = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{dead_port()} 127.0.0.1:{self.unbound.port} {{\n"
            "        policy sequential\n    }\n}\n")
        for proto in ("udp", "tcp"):
            reply = yield server.query("www.example.org", "A", proto=proto)
            self.assertEqual(reply.answer[0][0].address, "192.0.2.1")

    @defer.inlineCallbacks
    def test_next_servfail_passes_on_otherwise_relayed(self):
        broken = yield self.serve(f". {{\n    forward . 127.0.0.1:{dead_port()}\n}}\n")
        relayed = yield self.serve(f". {{\n    forward . 127.0.0.1:{broken.port}\n}}\n")
        reply = yield relayed.query("www.example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        chained = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{broken.port} {{\n        next SERVFAIL\n    }}\n"
            f"    forward . 127.0.0.1:{self.unbound.port}\n}}\n")
        reply = yield chained.query("www.example.org", "A")
        self.assertEqual(reply.rcode(), 0)
        self.assertEqual(reply.answer[0][0].address, "192.0.2.1")

    @defer.inlineCallbacks
    def test_dns_over_tls(self):
        require_program("openssl")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=dns.test", "-addext",
                        "subjectAltName=DNS:dns.test"], check=True, capture_output=True)
        unbound = UnboundServer(os.path.join(directory, "unbound"), RECORDS, tls=(cert, key))
        self.addCleanup(unbound.stop)
        yield unbound.start()
        server = yield self.serve(
            f". {{\n    forward . tls://127.0.0.1:{unbound.tls_port} {{\n"
            f"        tls {cert}\n        tls_servername dns.test\n    }}\n}}\n")
        for proto in ("udp", "tcp", "udp"):
            reply = yield server.query("www.example.org", "TXT", proto=proto)
            self.assertEqual(reply.answer[0][0].to_text(), '"hello world"')
        wrong_name = yield self.serve(
            f". {{\n    forward . tls://127.0.0.1:{unbound.tls_port} {{\n"
            f"        tls {cert}\n        tls_servername other.test\n    }}\n}}\n")
        reply = yield wrong_name.query("www.example.org", "TXT")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)  # the certificate does not match


class PeerTests(ForwardTestCase):
    """Forwarding to a second twisted-dns server, or to sockets the test controls."""

    @defer.inlineCallbacks
    def test_upstream_down_is_servfail(self):
        server = yield self.serve(f". {{\n    forward . 127.0.0.1:{dead_port()}\n}}\n")
        for proto in ("udp", "tcp"):
            reply = yield server.query("www.example.org", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)

    @defer.inlineCallbacks
    def test_force_tcp(self):
        upstream = yield self.serve(". {\n    whoami\n}\n")
        server = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{upstream.port} {{\n        force_tcp\n    }}\n}}\n")
        reply = yield server.query("example.org", "A", proto="udp")
        owners = {rrset.name.to_text() for rrset in reply.additional}
        self.assertIn("_tcp.example.org.", owners)  # whoami saw our query over TCP

    @defer.inlineCallbacks
    def test_client_transport_by_default(self):
        upstream = yield self.serve(". {\n    whoami\n}\n")
        server = yield self.serve(f". {{\n    forward . 127.0.0.1:{upstream.port}\n}}\n")
        for proto in ("udp", "tcp"):
            reply = yield server.query("example.org", "A", proto=proto)
            owners = {rrset.name.to_text() for rrset in reply.additional}
            self.assertIn(f"_{proto}.example.org.", owners)

    @defer.inlineCallbacks
    def test_chaos_class_and_truncation(self):
        authors = " ".join(f"author-number-{i:03d}" for i in range(60))
        upstream = yield self.serve(f". {{\n    chaos v1 {authors}\n}}\n")
        server = yield self.serve(f". {{\n    forward . 127.0.0.1:{upstream.port}\n}}\n")
        reply = yield server.query("version.bind", "TXT", "CH")
        self.assertEqual(reply.answer[0][0].to_text(), '"v1"')
        # over UDP without EDNS the upstream truncates, and without prefer_udp so do we
        reply = yield server.query("authors.bind", "TXT", "CH")
        self.assertTrue(reply.flags & dns.flags.TC)
        reply = yield server.query("authors.bind", "TXT", "CH", proto="tcp")
        self.assertEqual(len(reply.answer[0]), 60)
        preferring = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{upstream.port} {{\n        prefer_udp\n    }}\n}}\n")
        reply = yield preferring.query("authors.bind", "TXT", "CH", proto="tcp")
        self.assertFalse(reply.flags & dns.flags.TC)  # asked over UDP, then again over TCP
        self.assertEqual(len(reply.answer[0]), 60)
        self.assertEqual(reply.question[0].rdclass, dns.rdataclass.CH)

    @defer.inlineCallbacks
    def test_max_concurrent_refused(self):
        silent = reactor.listenUDP(0, protocol.DatagramProtocol(), interface="127.0.0.1")
        self.addCleanup(silent.stopListening)
        server = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{silent.getHost().port} {{\n"
            "        max_concurrent 1\n    }\n}\n")
        (forward,) = forwards(server)
        first = server.query("slow.example.org", "A", timeout=10)
        yield eventually(lambda: forward.concurrent == 1)
        reply = yield server.query("other.example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        self.assertEqual(forward.max_concurrent_rejects, 1)
        reply = yield first  # the silent upstream: our read timeout, then SERVFAIL
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)

    @defer.inlineCallbacks
    def test_health_check_marks_refusing_upstream_down(self):
        port = dead_port()
        server = yield self.serve(
            f". {{\n    forward . 127.0.0.1:{port} {{\n        max_fails 1\n"
            "        health_check 50ms\n    }\n}\n")
        (forward,) = forwards(server)
        (proxy,) = forward.proxies
        reply = yield server.query("www.example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        yield eventually(lambda: proxy.down(1))
        # the upstream comes back on that port: the next probe finds it up
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", port))
        listener.setblocking(False)
        yield eventually(lambda: _answer_one(listener))
        yield eventually(lambda: proxy.fails == 0)
        self.assertFalse(proxy.down(1))


def _answer_one(sock: socket.socket) -> bool:
    """Reply to one waiting query on ``sock`` (REFUSED, header only); False when none waits."""
    try:
        data, addr = sock.recvfrom(512)
    except BlockingIOError:
        return False
    query = dns.message.from_wire(data)
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.REFUSED)
    sock.sendto(reply.to_wire(), addr)
    return True
