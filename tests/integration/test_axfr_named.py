"""Zone transfers with real peers: BIND ``named`` both ways, and pydns to pydns with NOTIFY.

- pydns *file* + *transfer* as primary, named as secondary: named's copy equals the zone (a
  zone of a few thousand records, sent in several messages);
- named as primary, pydns *secondary*: pydns answers from the transferred zone (UDP and TCP);
- pydns primary and pydns secondary: a zone file reload sends a NOTIFY and the secondary
  transfers the new version at once (its SOA refresh is an hour away);
- the *transfer* ACL and AXFR over UDP: REFUSED.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
from twisted.internet import defer, threads
from twisted.trial import unittest

from twisted_dns.plugins.file import Zone
from twisted_dns.testing import (
    corefile_examples,
    eventually,
    free_port,
    plugin_readme,
    start_server,
)
from twisted_dns.testing.peers import NamedServer

ORIGIN = "example.org."
ZONE = """\
$TTL 3600
@       IN SOA  ns hostmaster {serial} 3600 600 86400 300
        IN NS   ns
ns      IN A    127.0.0.1
www     IN A    {address}
mail    IN MX   10 ns
txt     IN TXT  "a text record"
"""
HOST = "127.0.0.1"
DEADLINE = 15.0


def zone_text(serial: int = 1, address: str = "192.0.2.80", hosts: int = 0) -> str:
    return ZONE.format(serial=serial, address=address) + "".join(
        f"host{i} IN A 10.0.{i // 256}.{i % 256}\n" for i in range(hosts))


def records(rrsets) -> set[tuple]:
    """RRsets as comparable (owner, type, TTL, rdata) records."""
    return {(rrset.name.to_text().lower(), rrset.rdtype, rrset.ttl, rdata.to_text().lower())
            for rrset in rrsets for rdata in rrset}


def axfr_messages(port: int) -> list[dns.message.Message]:
    """Every message of an AXFR of ORIGIN from HOST:port (blocking: run in a thread)."""
    return list(dns.query.xfr(HOST, ORIGIN, port=port, lifetime=10, relativize=False))


def transferred(port: int) -> set[tuple]:
    """The records an AXFR from HOST:port brings (the closing SOA folded into the first)."""
    return records(rrset for message in axfr_messages(port) for rrset in message.answer)


def answers_a(port: int, name: str, address: str, proto: str = "udp") -> bool:
    query = dns.message.make_query(name, "A")
    send = dns.query.tcp if proto == "tcp" else dns.query.udp
    try:
        reply = send(query, HOST, port=port, timeout=1)
    except (dns.exception.Timeout, OSError):
        return False
    return any(rdata.to_text() == address for rrset in reply.answer for rdata in rrset)


def until_answers(port: int, name: str, address: str) -> defer.Deferred:
    """Fire once HOST:port answers ``name A`` with ``address`` (asked from a thread)."""
    return eventually(lambda: answers_a(port, name, address), DEADLINE, in_thread=True)


class Folder(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
        return path

    @defer.inlineCallbacks
    def serve(self, corefile: str):
        server = yield start_server(corefile)
        self.addCleanup(server.stop)
        return server


class WithNamed(Folder):
    def setUp(self) -> None:
        NamedServer.require()
        super().setUp()

    @defer.inlineCallbacks
    def named(self, **kwargs):
        folder = os.path.join(self.dir, "named")
        os.mkdir(folder)
        named = NamedServer(folder, extra_zone_options="allow-transfer { any; };", **kwargs)
        self.addCleanup(named.stop)
        yield named.start()
        return named

    @defer.inlineCallbacks
    def test_named_secondary_of_pydns(self):
        """named transfers a large zone from pydns, serves exactly that zone, and takes the
        next version when pydns NOTIFYs it of a reload."""
        text = zone_text(hosts=3000)
        path = self.write("db.example.org", text)
        named_port = free_port()
        server = yield self.serve(
            f"example.org {{\n file {path} {{\n  reload 100ms\n }}\n"
            f" transfer {{\n  to * {HOST}:{named_port}\n }}\n}}\n")
        messages = yield threads.deferToThread(axfr_messages, server.port)
        self.assertGreater(len(messages), 5)  # ~500 records each
        named = yield self.named(zones={}, port=named_port,
                                 secondaries={ORIGIN: (HOST, server.port)})
        expected = records(Zone.from_text(text, ORIGIN).rrsets())
        got = yield threads.deferToThread(transferred, named.port)
        self.assertEqual(got, expected)
        ok = yield threads.deferToThread(answers_a, named.port, "host2999.example.org.",
                                         "10.0.11.183")
        self.assertTrue(ok)
        self.write("db.example.org", zone_text(serial=2, address="192.0.2.99", hosts=3000))
        # named's SOA refresh is an hour away: only the NOTIFY brings the new zone this soon
        yield until_answers(named.port, "www.example.org.", "192.0.2.99")

    @defer.inlineCallbacks
    def test_pydns_secondary_of_named(self):
        """pydns transfers the zone from named and answers from it over UDP and TCP."""
        text = zone_text(hosts=50)
        path = self.write("db.example.org", text)
        named = yield self.named(zones={ORIGIN: path})
        server = yield self.serve(
            f"example.org {{\n secondary {{\n  transfer from {HOST}:{named.port}\n }}\n"
            " transfer {\n  to *\n }\n}\n")
        yield until_answers(server.port, "www.example.org.", "192.0.2.80")
        for proto in ("udp", "tcp"):
            reply = yield server.query("host49.example.org.", "A", proto=proto)
            self.assertEqual(reply.answer[0][0].address, "10.0.0.49")
            self.assertTrue(reply.flags & dns.flags.AA)
            reply = yield server.query("nx.example.org.", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
        # and transfers it on, record for record
        got = yield threads.deferToThread(transferred, server.port)
        self.assertEqual(got, records(Zone.from_text(text, ORIGIN).rrsets()))


class PydnsToPydns(Folder):
    @defer.inlineCallbacks
    def test_notify_makes_secondary_refresh(self):
        path = self.write("db.example.org", zone_text(serial=1))
        secondary_port = free_port()
        primary = yield self.serve(
            f"example.org {{\n file {path} {{\n  reload 100ms\n }}\n"
            f" transfer {{\n  to {HOST}:{secondary_port}\n }}\n}}\n")
        yield self.serve(
            f"example.org:{secondary_port} {{\n secondary {{\n"
            f"  transfer from {HOST}:{primary.port}\n }}\n}}\n")
        yield until_answers(secondary_port, "www.example.org.", "192.0.2.80")
        self.write("db.example.org", zone_text(serial=2, address="192.0.2.99"))
        # the SOA refresh is an hour away: only the NOTIFY can bring the new zone this soon
        yield until_answers(secondary_port, "www.example.org.", "192.0.2.99")

    @defer.inlineCallbacks
    def test_secondary_servfail_until_transferred(self):
        """No primary answering: SERVFAIL, and the server says it is not ready."""
        dead = free_port()
        server = yield self.serve(
            f"example.org {{\n secondary {{\n  transfer from {HOST}:{dead}\n }}\n}}\n")
        reply = yield server.query("www.example.org.", "A")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)

    @defer.inlineCallbacks
    def test_acl_and_udp_refused(self):
        path = self.write("db.example.org", zone_text())
        server = yield self.serve(
            f"example.org {{\n file {path}\n transfer {{\n  to 10.0.0.1\n }}\n}}\n")
        query = dns.message.make_query(ORIGIN, "AXFR")
        reply = yield server.send(query, proto="tcp")
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        self.assertEqual(reply.answer, [])
        open_server = yield self.serve(
            f"example.org {{\n file {path}\n transfer {{\n  to *\n }}\n}}\n")
        reply = yield open_server.send(query, proto="udp")
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)

    @defer.inlineCallbacks
    def test_readme_examples_serve(self):
        """The *transfer* README's examples: AXFR of db.example.org from the working folder."""
        self.write("db.example.org", zone_text())
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.dir)
        for example in corefile_examples(plugin_readme("transfer")):
            server = yield start_server(example)
            try:
                reply = yield server.query("www.example.org.", "A")
                self.assertEqual(reply.answer[0][0].address, "192.0.2.80")
            finally:
                yield server.stop()
