"""End to end: a query name with an escaped dot gets one answer to "which zone is it in?".

``a\\.example.org.`` is the label ``a.example`` under ``org.``: the router, *file*'s zone
match and ``fallthrough``, and *cache*'s zones must all say it is not in ``example.org.``.
"""

from __future__ import annotations

import os

import dns.rcode
import dns.rdatatype
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.testing import start_server

ORG_ZONE = """\
$ORIGIN org.
@   3600 IN SOA ns.org. hostmaster.org. 1 7200 3600 1209600 3600
@   3600 IN NS  ns.org.
ns  3600 IN A   192.0.2.1
www.example 3600 IN A 192.0.2.53
"""


class EscapedNameTests(unittest.TestCase):
    def setUp(self) -> None:
        os.mkdir(self.mktemp())
        self.zone_file = os.path.join(self.mktemp(), "db.org")
        os.makedirs(os.path.dirname(self.zone_file))
        with open(self.zone_file, "w", encoding="utf-8") as handle:
            handle.write(ORG_ZONE)

    @defer.inlineCallbacks
    def serve(self, corefile: str):
        server = yield start_server(corefile)
        self.addCleanup(server.stop)
        return server

    def assertNameError(self, reply) -> None:
        """NXDOMAIN from the org. zone: file answered, nothing else did."""
        self.assertEqual(dns.rcode.to_text(reply.rcode()), "NXDOMAIN")
        self.assertEqual([(str(r.name), r.rdtype) for r in reply.authority],
                         [("org.", dns.rdatatype.SOA)])

    @defer.inlineCallbacks
    def test_routed_outside_the_zone(self):
        server = yield self.serve(
            f"example.org {{\n    whoami\n}}\n. {{\n    file {self.zone_file} org\n}}\n")
        reply = yield server.query("www.example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertEqual(reply.authority, [])  # whoami's, from the example.org block
        for proto in ("udp", "tcp"):
            reply = yield server.query("a\\.example.org", "A", proto=proto)
            self.assertNameError(reply)

    @defer.inlineCallbacks
    def test_neither_falls_through_nor_caches(self):
        server = yield self.serve(
            f". {{\n    cache 300 example.org\n"
            f"    file {self.zone_file} org {{\n        fallthrough example.org\n    }}\n"
            f"    whoami\n}}\n")
        cache = server.configuration.blocks[0].plugin("cache")
        # in example.org.: file's answer is cached; its NXDOMAIN falls through to whoami
        reply = yield server.query("www.example.org", "A")
        self.assertEqual([rdata.address for rdata in reply.answer[0]], ["192.0.2.53"])
        for name in ("nothing.example.org", "a\\\\.example.org"):
            reply = yield server.query(name, "A")
            self.assertEqual((reply.rcode(), reply.authority), (dns.rcode.NOERROR, []), name)
        self.assertIn("www.example.org.", cached_names(cache))
        # not in example.org.: file's NXDOMAIN stands, and cache leaves it alone
        for _ in range(2):
            reply = yield server.query("a\\.example.org", "A")
            self.assertNameError(reply)
        self.assertNotIn("a\\.example.org.", cached_names(cache))


def cached_names(cache) -> set[str]:
    """The query names *cache* holds an answer or a denial for."""
    return {key[0] for store in (cache.pcache, cache.ncache) for key in store.items}
