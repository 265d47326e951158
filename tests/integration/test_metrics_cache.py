"""*cache*'s own metrics over real HTTP: exact counts by listener, kept across a reload."""

from __future__ import annotations

from twisted.internet import defer

from tests.integration.test_metrics import METRICS, MetricsTestCase, registry
from twisted_dns.config import load as load_configuration

COREFILE = f"""\
example.org {{
    prometheus {METRICS}
    cache
    template IN A example.org {{
        match "^nope[.]"
        rcode NXDOMAIN
        authority "example.org. 60 IN SOA ns.example.org. hostmaster.example.org. 1 60 60 60 60"
        fallthrough
    }}
    hosts {{
        192.0.2.1 a.example.org
    }}
}}
"""


class CacheMetricsTests(MetricsTestCase):
    def cache_labels(self, **labels: str) -> dict[str, str]:
        return {"server": self.label, "zones": "example.org.", "view": "", **labels}

    @defer.inlineCallbacks
    def ask_known_queries(self, server):
        for _ in range(3):
            yield server.query("a.example.org", "A")
        for _ in range(2):
            yield server.query("nope.example.org", "A", proto="tcp")

    @defer.inlineCallbacks
    def test_known_queries(self):
        server = yield self.serve(COREFILE)
        yield self.ask_known_queries(server)
        scrape = yield self.scrape()
        labels = self.cache_labels
        self.assertEqual(
            [scrape["coredns_cache_requests_total", labels()],
             scrape["coredns_cache_misses_total", labels()],
             scrape["coredns_cache_hits_total", labels(type="success")],
             scrape["coredns_cache_hits_total", labels(type="denial")],
             scrape["coredns_cache_entries", labels(type="success")],
             scrape["coredns_cache_entries", labels(type="denial")],
             scrape["coredns_cache_prefetch_total", labels()],
             scrape["coredns_cache_drops_total", labels()],
             scrape["coredns_cache_served_stale_total", labels()],
             scrape["coredns_cache_evictions_total", labels(type="success")]],
            [5, 2, 2, 1, 1, 1, 0, 0, 0, 0])
        self.assertEqual(len(scrape.names("coredns_cache_requests_total")), 1)

    @defer.inlineCallbacks
    def test_counts_survive_a_reload(self):
        """The reloaded configuration's new cache counts on from the old one's numbers; its
        entries are its own (empty at first)."""
        server = yield self.serve(COREFILE)
        yield self.ask_known_queries(server)
        reloaded = yield server.service.reload(
            load_configuration(COREFILE, "Corefile", registry(), default_port=0))
        self.assertTrue(reloaded)
        yield server.query("a.example.org", "A")
        scrape = yield self.scrape()
        self.assertEqual([scrape["coredns_cache_requests_total", self.cache_labels()],
                          scrape["coredns_cache_misses_total", self.cache_labels()],
                          scrape["coredns_cache_entries", self.cache_labels(type="denial")]],
                         [6, 3, 0])
