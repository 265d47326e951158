"""The *cache* plugin served for real: a Corefile with ``cache`` in front of a counting plugin.

The plugin behind the cache (``counter``) is registered for these tests only, through a bare
entry point added to the installed ones; it is in no plugin order, so it goes last, after cache.
It answers from dnspython Messages and counts the queries that reach it.
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from twisted.internet import defer
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin
from twisted_dns.testing import start_server

PROTOS = ("udp", "tcp")


@implementer(IPlugin)
class Counter:
    """``nx*`` names: NXDOMAIN (SOA MINIMUM 30); every other name: one A record, TTL 300."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, int, bool]] = []

    def Name(self) -> str:
        return "counter"

    def ServeDNS(self, request: Any, writer: Any) -> int:
        self.queries.append((request.qname, request.qtype, request.do))
        reply = dns.message.make_response(request.message())
        if request.qname_lower.startswith("nx"):
            reply.set_rcode(dns.rcode.NXDOMAIN)
            reply.authority.append(dns.rrset.from_text(
                "example.org.", 300, "IN", "SOA",
                "ns.example.org. admin.example.org. 1 7200 3600 1209600 30"))
        else:
            reply.answer.append(dns.rrset.from_text(request.qname, 300, "IN", "A", "192.0.2.7"))
        writer.write(reply)
        return int(reply.rcode())


def setup_counter(c: Any) -> None:
    while c.next():
        pass
    c.add_plugin(lambda _next: Counter())


class CacheServingTests(unittest.TestCase):
    @defer.inlineCallbacks
    def serve(self, corefile: str):
        server = yield start_server(corefile, plugins={"counter": setup_counter})
        self.addCleanup(server.stop)
        counter = server.configuration.blocks[0].plugin("counter")
        self.assertIsNotNone(counter)
        return server, counter

    @defer.inlineCallbacks
    def test_hits_over_udp_and_tcp(self):
        server, counter = yield self.serve(". {\n    cache\n    counter\n}\n")
        first = yield server.query("www.example.org", "A")
        self.assertEqual(first.answer[0].ttl, 300)
        for proto in PROTOS:
            reply = yield server.query("WWW.Example.Org", "A", proto=proto)
            self.assertEqual(reply.question[0].name.to_text(), "WWW.Example.Org.")
            self.assertEqual([r.address for r in reply.answer[0]], ["192.0.2.7"])
            self.assertLessEqual(reply.answer[0].ttl, 300)
        self.assertEqual(counter.queries, [("www.example.org.", 1, False)])
        cache = server.configuration.blocks[0].plugin("cache")
        self.assertEqual(cache.metrics()["coredns_cache_hits_total"]["success"], 2)

    @defer.inlineCallbacks
    def test_denial_and_do_keys(self):
        server, counter = yield self.serve(". {\n    cache 60\n    counter\n}\n")
        for proto in PROTOS:
            reply = yield server.query("nx.example.org", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
            self.assertEqual(reply.authority[0].ttl, 30)
        for proto in PROTOS:
            reply = yield server.query("nx.example.org", "A", proto=proto, use_edns=0,
                                       want_dnssec=True)
            self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
            self.assertTrue(reply.ednsflags & dns.flags.DO)
        self.assertEqual(counter.queries, [("nx.example.org.", 1, False),
                                           ("nx.example.org.", 1, True)])

    @defer.inlineCallbacks
    def test_cache_zones(self):
        server, counter = yield self.serve(". {\n    cache example.org\n    counter\n}\n")
        for _ in range(2):
            yield server.query("www.example.org", "A", proto="tcp")
            yield server.query("www.example.net", "A", proto="tcp")
        self.assertEqual([q[0] for q in counter.queries],
                         ["www.example.org.", "www.example.net.", "www.example.net."])
