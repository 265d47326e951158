"""End to end: the *health*, *hosts* and *template* plugins' own metrics on ``/metrics``.

Each test serves a Corefile with ``prometheus 127.0.0.1:0`` from fresh metrics, asks with
dnspython over UDP and TCP, scrapes over real HTTP and asserts exact values (helpers from
``test_metrics``).
"""

from __future__ import annotations

import os
import tempfile

import dns.rcode
from twisted.internet import defer

from tests.integration.test_metrics import METRICS, MetricsTestCase
from twisted_dns.testing import eventually

#: how long a condition may take to come true (the self check ticks once a second)
DEADLINE = 10.0
#: a hosts file's modification time (exact in a float)
MTIME_NS = 1_700_000_000_250_000_000


class PluginMetricsTestCase(MetricsTestCase):
    def scrape_until(self, condition, what: str) -> defer.Deferred:
        """Scrape until ``condition(scrape)`` holds (fires with that scrape); fail after
        :data:`DEADLINE` seconds."""
        return eventually(lambda: self.scrape().addCallback(
            lambda scrape: scrape if condition(scrape) else None), DEADLINE, message=f"no {what}")


class TemplateTests(PluginMetricsTestCase):
    COREFILE = (
        "example.org {\n"
        "    prometheus " + METRICS + "\n"
        "    template IN A {\n"
        "        match ^ok[.]\n"
        '        answer "{{ .Name }} 60 IN A 10.0.0.1"\n'
        "        fallthrough\n"
        "    }\n"
        "    template IN A {\n"
        '        answer "{{ .Name }} 60 IN A 10.0.0"\n'
        "    }\n"
        "    template IN TXT {\n"
        '        answer "{{ .Name }} 60 IN TXT {{ index .Match 5 }}"\n'
        "    }\n"
        "}\n")

    def labels(self, zone: str = "example.org.", **labels: str) -> dict[str, str]:
        return super().labels(zone, **{"class": "IN", "type": "A", **labels})

    @defer.inlineCallbacks
    def test_matches_and_failures(self):
        server = yield self.serve(self.COREFILE)
        for proto in ("udp", "udp", "tcp"):
            reply = yield server.query("ok.example.org", "A", proto=proto)
            self.assertEqual([rr.to_text() for rrset in reply.answer for rr in rrset],
                             ["10.0.0.1"])
        for name, rdtype in (("bad.example.org", "A"), ("bad.example.org", "TXT")):
            reply = yield server.query(name, rdtype)
            self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        scrape = yield self.scrape()
        self.assertEqual(scrape["coredns_template_matches_total", self.labels()], 4)
        self.assertEqual(scrape["coredns_template_matches_total", self.labels(type="TXT")], 1)
        self.assertEqual(len(scrape.names("coredns_template_matches_total")), 2)
        self.assertEqual(scrape["coredns_template_rr_failures_total",
                                self.labels(section="answer",
                                            template="{{.Name}} 60 IN A 10.0.0")], 1)
        self.assertEqual(len(scrape.names("coredns_template_rr_failures_total")), 1)
        self.assertEqual(scrape["coredns_template_template_failures_total",
                                self.labels(type="TXT", section="answer",
                                            template="{{.Name}} 60 IN TXT {{index .Match 5}}")],
                         1)
        self.assertEqual(len(scrape.names("coredns_template_template_failures_total")), 1)


class HostsTests(PluginMetricsTestCase):
    def setUp(self) -> None:
        super().setUp()
        directory = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(directory))
        self.path = os.path.join(directory, "hosts")
        self.write("10.0.0.1 a.example.org b.example.org\n::1 c.example.org\n", MTIME_NS)

    def write(self, text: str, mtime_ns: int) -> None:
        with open(self.path, "w") as handle:
            handle.write(text)
        os.utime(self.path, ns=(mtime_ns, mtime_ns))

    @defer.inlineCallbacks
    def test_entries_and_reload(self):
        server = yield self.serve(f". {{\n    prometheus {METRICS}\n"
                                  f"    hosts {self.path} {{\n        reload 50ms\n"
                                  "        10.0.0.2 d.example.org\n    }\n}\n")
        reply = yield server.query("a.example.org", "A", proto="tcp")
        self.assertEqual(reply.answer[0][0].to_text(), "10.0.0.1")
        scrape = yield self.scrape()
        entries = "coredns_hosts_entries", {"hostsfile": self.path}
        # file: 3 addresses and 3 names of addresses (PTR); inline: 1 and 1
        self.assertEqual(scrape[entries], 8)
        self.assertEqual(scrape["coredns_hosts_reload_timestamp_seconds", {}], 1_700_000_000.25)
        self.write("10.0.0.3 a.example.org\n", MTIME_NS + 10**9)
        scrape = yield self.scrape_until(lambda s: s[entries] != 8, "reload")
        self.assertEqual(scrape[entries], 4)
        self.assertEqual(scrape["coredns_hosts_reload_timestamp_seconds", {}], 1_700_000_001.25)
        reply = yield server.query("a.example.org", "A")
        self.assertEqual(reply.answer[0][0].to_text(), "10.0.0.3")


class HealthTests(PluginMetricsTestCase):
    DURATION = "coredns_health_request_duration_seconds"

    @defer.inlineCallbacks
    def test_self_check(self):
        server = yield self.serve(f". {{\n    prometheus {METRICS}\n    health 127.0.0.1:0\n"
                                  "    whoami\n}\n")
        reply = yield server.query("example.org", "A")
        self.assertEqual(len(reply.additional), 2)
        scrape = yield self.scrape_until(lambda s: s[f"{self.DURATION}_count", {}] > 0,
                                         "self check")
        count = scrape[f"{self.DURATION}_count", {}]
        # a local request is answered well within 2.5 s, and none failed
        self.assertEqual([scrape[f"{self.DURATION}_bucket", {"le": le}] for le in ("2.5", "+Inf")],
                         [count, count])
        self.assertEqual(scrape["coredns_health_request_failures_total", {}], 0)
        self.assertEqual({name for name, _ in scrape.names("coredns_health_")},
                         {f"{self.DURATION}_bucket", f"{self.DURATION}_count",
                          f"{self.DURATION}_sum", "coredns_health_request_failures_total"})
        self.assertEqual(len(scrape.names(f"{self.DURATION}_bucket")), 6)
