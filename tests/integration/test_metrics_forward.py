"""End to end: *forward*'s own metrics on ``/metrics``, after known queries to a served Corefile.

The upstream is a small loopback responder in the test's reactor (UDP and TCP on ports chosen
at run time): NXDOMAIN for names under ``nx.``, NOERROR otherwise. A second *forward* points at
a port nothing listens on, so its query fails and starts a health check that fails too.
"""

from __future__ import annotations

import dns.message
import dns.rcode
from twisted.internet import defer, reactor

from tests.integration.test_forward_unbound import dead_port, forwards
from tests.integration.test_metrics import METRICS, MetricsTestCase, Scrape
from tests.plugins.test_forward import FakeUpstream, TCPResponder, listen_tcp
from twisted_dns.testing import eventually

#: CoreDNS's ``plugin.TimeBuckets`` as the exposition prints them
BUCKETS = ["0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064",
           "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"]


def answer(query: bytes) -> list[bytes]:
    """The upstream's reply: NXDOMAIN under ``nx.``, else NOERROR."""
    message = dns.message.from_wire(query)
    response = dns.message.make_response(message)
    if message.question[0].name.to_text().startswith("nx."):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return [response.to_wire()]


def per_upstream(scrape: Scrape, name: str) -> dict[tuple[str, str], float]:
    """A conn cache counter's values by (to, proto)."""
    return {(labels["to"], labels["proto"]): value
            for (sample, pairs), value in scrape.samples.items() if sample == name
            for labels in [dict(pairs)]}


class Responder(TCPResponder):
    def reply_to(self, query: bytes) -> bytes:
        return answer(query)[0]


class ForwardMetricsTests(MetricsTestCase):
    def start_upstream(self) -> int:
        """UDP and TCP upstreams on one loopback port; the port."""
        tcp = listen_tcp(self, Responder)
        udp = reactor.listenUDP(tcp.port, FakeUpstream(answer), interface="127.0.0.1")
        self.addCleanup(udp.stopListening)
        return tcp.port

    @defer.inlineCallbacks
    def test_forwarded_queries_on_metrics(self):
        up = f"127.0.0.1:{self.start_upstream()}"
        dead = f"127.0.0.1:{dead_port()}"
        server = yield self.serve(
            f". {{\n    prometheus {METRICS}\n"
            f"    forward broken.test {dead} {{\n        health_check 1h\n    }}\n"
            f"    forward . {up}\n}}\n")
        rcodes = []
        for name, proto in [("a.example.org", "udp"), ("a.example.org", "udp"),
                            ("nx.example.org", "udp"), ("b.example.org", "tcp"),
                            ("b.example.org", "tcp"), ("a.broken.test", "udp")]:
            reply = yield server.query(name, "A", proto=proto)
            rcodes.append(dns.rcode.to_text(reply.rcode()))
        self.assertEqual(rcodes, ["NOERROR"] * 2 + ["NXDOMAIN"] + ["NOERROR"] * 2 + ["SERVFAIL"])

        # the health check fails with the ICMP error, after the SERVFAIL; then an hour's pause
        health = forwards(server)[0].proxies[0].health
        yield eventually(lambda: health.failures > 0)
        scrape = yield self.scrape()
        self.assertEqual(scrape["coredns_proxy_healthcheck_failures_total",
                                {"proxy_name": "forward", "to": dead}], 1)

        def proxy(name: str, **labels: str) -> float | None:
            return scrape[f"coredns_proxy_{name}", {"proxy_name": "forward", **labels}]

        self.assertEqual([proxy("request_duration_seconds_count", to=up, rcode=rcode)
                          for rcode in ("NOERROR", "NXDOMAIN")], [4, 1])
        # only replies are measured: nothing for the dead upstream
        self.assertEqual({dict(labels)["to"] for _, labels in
                          scrape.names("coredns_proxy_request_duration_seconds_count")}, {up})
        self.assertEqual(
            sorted((dict(labels)["le"] for name, labels in scrape.samples
                    if name == "coredns_proxy_request_duration_seconds_bucket"
                    and dict(labels)["rcode"] == "NXDOMAIN"), key=float), BUCKETS)
        self.assertEqual(proxy("request_duration_seconds_bucket", to=up, rcode="NXDOMAIN",
                               le="+Inf"), 1)
        # one socket per upstream and protocol, opened by its first query
        self.assertEqual(per_upstream(scrape, "coredns_proxy_conn_cache_misses_total"),
                         {(up, "udp"): 1, (up, "tcp"): 1, (dead, "udp"): 1})
        self.assertEqual(per_upstream(scrape, "coredns_proxy_conn_cache_hits_total"),
                         {(up, "udp"): 2, (up, "tcp"): 1})
        self.assertEqual([scrape["coredns_forward_healthcheck_broken_total", {}],
                          scrape["coredns_forward_max_concurrent_rejects_total", {}]], [0, 0])
        self.assertEqual(scrape["coredns_dns_responses_total",
                                self.labels(".", rcode="NXDOMAIN", plugin="forward")], 1)

