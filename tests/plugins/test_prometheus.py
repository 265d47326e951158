"""The *prometheus* plugin: its directive, the chain link's counting, the metrics registry.

The link is driven with real Requests and CaptureWriters and read back through the
registry (``get_sample_value``), the way Prometheus would see it. End-to-end scrapes over
HTTP are in ``tests/integration/test_metrics.py``.
"""

from __future__ import annotations

from typing import Any

import dns.rcode
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from twisted_dns import wire
from twisted_dns.config import BlockConfig, Configuration
from twisted_dns.config import load as load_configuration
from twisted_dns.corefile import parser
from twisted_dns.corefile.keys import parse_key
from twisted_dns.errors import ConfigError
from twisted_dns.pkg import metrics
from twisted_dns.pkg.metrics import TIME_BUCKETS
from twisted_dns.plugins import prometheus
from twisted_dns.plugins.prometheus.exporter import SHARED_KEY, Exporter
from twisted_dns.plugins.prometheus.metrics import version_labels
from twisted_dns.plugins.prometheus.prometheus import Metrics
from twisted_dns.plugins.prometheus.queries import rcode_name
from twisted_dns.plugins.prometheus.setup import setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import configure, default_registry, make_request

SERVER = "dns://:53"  # make_request's server address is 127.0.0.1:53; no bind: wildcard


def configure_all(corefile: str) -> Configuration:
    """Run prometheus's setup for every block of ``corefile`` in one configuration."""
    return configure(setup, "prometheus", corefile).configuration


class SetupTests(unittest.TestCase):
    def setUp(self) -> None:
        prometheus.fresh()

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("prometheus"), setup)

    def test_default_address_and_link(self) -> None:
        configuration = configure_all(". {\n    prometheus\n}\n")
        exporter = configuration.shared[SHARED_KEY]
        self.assertEqual(list(exporter.endpoints), ["localhost:9153"])
        [link] = configuration.blocks[0].factories
        self.assertEqual(link[0], "prometheus")
        config = configure(setup, "prometheus", ". {\n    prometheus\n}\n")
        [plugin] = config.plugins
        self.assertIsInstance(plugin, Metrics)
        self.assertEqual(plugin.Name(), "prometheus")

    def test_blocks_share_an_address(self) -> None:
        configuration = configure_all(
            "a.org {\n prometheus :9253\n}\nb.org {\n prometheus :9253\n}\n"
            "c.org {\n prometheus localhost:9254\n}\n")
        exporter: Exporter = configuration.shared[SHARED_KEY]
        self.assertEqual(sorted(exporter.endpoints), [":9253", "localhost:9254"])
        self.assertEqual(len(exporter.blocks), 3)
        # one startup and one shutdown hook for the whole configuration
        self.assertEqual((len(configuration.startup_hooks), len(configuration.shutdown_hooks)),
                         (1, 1))
        self.assertIs(exporter.metrics, prometheus.current())

    def error(self, body: str) -> str:
        exc = self.assertRaises(ConfigError, configure, setup, "prometheus",
                                ". {\n" + body + "\n}\n")
        return str(exc)

    def test_errors(self) -> None:
        cases = {
            "prometheus bla": "Corefile:2: address bla: missing port in address",
            "prometheus a:1 b:2": "Corefile:2: wrong argument count or unexpected line ending "
                                  "after 'b:2'",
            "prometheus\nprometheus :9253":
                "Corefile:3: this plugin can only be used once per Server Block",
            "prometheus {\n bla\n}": "Corefile:3: unknown option: bla",
            "prometheus {\n tls web.yml\n}": "Corefile:3: option tls is not supported",
            "prometheus {\n runtime_metrics\n}":
                "Corefile:3: option runtime_metrics is not supported",
        }
        for body, message in cases.items():
            with self.subTest(body=body):
                self.assertEqual(self.error(body), message)


class Writes:
    """A plugin that answers with ``rcode`` and returns it."""

    def __init__(self, rcode: int = 0, name: str = "writer") -> None:
        self.rcode = rcode
        self.name = name

    def Name(self) -> str:
        return self.name

    def ServeDNS(self, request: Any, writer: Any) -> int:
        writer.write(wire.reply(request, self.rcode))
        return self.rcode


class Returns:
    """A plugin that returns ``result`` (an rcode, a Deferred) or raises it."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def Name(self) -> str:
        return "returns"

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class Later:
    """A plugin that answers after ``ServeDNS`` returned (its Deferred fired by the test)."""

    def __init__(self) -> None:
        self.deferred: defer.Deferred = defer.Deferred()
        self.request: Any = None
        self.writer: Any = None

    def Name(self) -> str:
        return "later"

    def ServeDNS(self, request: Any, writer: Any) -> defer.Deferred:
        self.request, self.writer = request, writer
        return self.deferred

    def answer(self, rcode: int) -> None:
        self.writer.write(wire.reply(self.request, rcode))


class LinkTests(unittest.TestCase):
    """What one query through the link leaves in the registry."""

    def setUp(self) -> None:
        self.metrics = prometheus.fresh()
        self.clock = task.Clock()
        self.exporter = Exporter(self.metrics, self.clock)

    def link(self, next_plugin: Any, corefile: str = "example.org:53 {\n prometheus\n}\n",
             listen_hosts: tuple[str, ...] = ()) -> Metrics:
        block = BlockConfig(keys=[key for token in parser.parse(corefile, "Corefile")[0].keys
                                  for key in parse_key(token)])
        block.listen_hosts = list(listen_hosts)
        block.add_plugin("prometheus", lambda n: Metrics(n, self.exporter, block, self.clock))
        block.add_plugin("next", lambda _: next_plugin)
        block.build_chain()
        return block.chain

    def ask(self, link: Metrics, name: str = "a.example.org.", rdtype: str = "A",
            **kwargs: Any) -> tuple[Any, CaptureWriter]:
        request = make_request(name, rdtype, **kwargs)
        request.zone = "example.org."
        request.start = self.clock.seconds()
        writer = CaptureWriter(request)
        return link.ServeDNS(request, writer), writer

    def value(self, name: str, **labels: str) -> float | None:
        if labels:  # every labelled metric here has a (still empty) view
            labels.setdefault("view", "")
        return self.metrics.registry.get_sample_value(name, labels)

    def responses(self, rcode: str, plugin: str, server: str = SERVER) -> float | None:
        return self.value("coredns_dns_responses_total", server=server, zone="example.org.",
                          rcode=rcode, plugin=plugin)

    def test_plugin_answer(self) -> None:
        result, writer = self.ask(self.link(Writes(dns.rcode.NXDOMAIN)))
        self.assertEqual(result, dns.rcode.NXDOMAIN)
        self.assertEqual(len(writer.sent), 1)
        self.assertEqual(self.responses("NXDOMAIN", "writer"), 1)
        self.assertEqual(self.value("coredns_dns_requests_total", server=SERVER,
                                    zone="example.org.", proto="udp", family="1", type="A"), 1)
        self.assertEqual(self.value("coredns_dns_response_size_bytes_sum", server=SERVER,
                                    zone="example.org.", proto="udp"), len(writer.sent[0]))

    def test_server_writes(self) -> None:
        """An rcode returned without a write is counted as the server's answer."""
        for _ in range(2):
            self.ask(self.link(Returns(dns.rcode.REFUSED)))
        self.assertEqual(self.responses("REFUSED", ""), 2)
        self.assertEqual(self.value("coredns_dns_response_size_bytes_sum", server=SERVER,
                                    zone="example.org.", proto="udp"), 0)
        self.assertEqual(self.value("coredns_dns_response_size_bytes_bucket", server=SERVER,
                                    zone="example.org.", proto="udp", le="0.0"), 2)

    def test_no_next_plugin(self) -> None:
        block = BlockConfig(keys=[])
        block.add_plugin("prometheus", lambda n: Metrics(n, self.exporter, block, self.clock))
        block.build_chain()
        result, _ = self.ask(block.chain)
        self.assertEqual(result, dns.rcode.SERVFAIL)
        self.assertEqual(self.responses("SERVFAIL", ""), 1)

    def test_exception_is_a_panic(self) -> None:
        link = self.link(Returns(ZeroDivisionError("boom")))
        self.assertRaises(ZeroDivisionError, self.ask, link)
        self.assertEqual(self.value("coredns_panics_total"), 1)
        self.assertEqual(self.responses("SERVFAIL", ""), 1)

    def test_deferred_answer_counted_when_it_fires(self) -> None:
        later = Later()
        result, writer = self.ask(self.link(later))
        self.clock.advance(0.003)
        later.answer(dns.rcode.NXDOMAIN)
        self.assertIsNone(self.responses("NXDOMAIN", "later"))  # the Deferred has not fired
        later.deferred.callback(dns.rcode.NXDOMAIN)
        self.assertEqual(self.successResultOf(result), dns.rcode.NXDOMAIN)
        self.assertEqual(len(writer.sent), 1)
        self.assertEqual(self.responses("NXDOMAIN", "later"), 1)
        # 3 ms: above the 2 ms bucket, within the 4 ms one
        duration = {"server": SERVER, "zone": "example.org."}
        self.assertEqual(self.value("coredns_dns_request_duration_seconds_bucket",
                                    le=str(TIME_BUCKETS[3]), **duration), 0)
        self.assertEqual(self.value("coredns_dns_request_duration_seconds_bucket",
                                    le=str(TIME_BUCKETS[4]), **duration), 1)
        self.assertAlmostEqual(self.value("coredns_dns_request_duration_seconds_sum",
                                          **duration), 0.003)

    def test_failed_deferred_is_a_panic(self) -> None:
        result, _ = self.ask(self.link(Returns(defer.fail(ValueError("no")))))
        self.failureResultOf(result, ValueError)
        self.assertEqual(self.value("coredns_panics_total"), 1)
        self.assertEqual(self.responses("SERVFAIL", ""), 1)

    def test_cancelled_deferred_is_no_panic(self) -> None:
        """The handler's deadline cancels the chain's Deferred: a SERVFAIL, not a panic."""
        result, _ = self.ask(self.link(Returns(defer.Deferred())))
        result.cancel()
        self.failureResultOf(result, defer.CancelledError)
        self.assertEqual(self.value("coredns_panics_total"), 0)
        self.assertEqual(self.responses("SERVFAIL", ""), 1)

    def test_labels_of_the_query(self) -> None:
        link = self.link(Writes())
        self.ask(link, rdtype="NAPTR")
        self.ask(link, rdtype="HTTPS", proto="tcp")
        self.ask(link, client=("::1", 5353))
        self.ask(link, client=("::ffff:127.0.0.1", 5353))
        self.ask(link, want_dnssec=True)

        def requests(proto: str, family: str, qtype: str) -> float | None:
            return self.value("coredns_dns_requests_total", server=SERVER, zone="example.org.",
                              proto=proto, family=family, type=qtype)

        self.assertEqual([requests("udp", "1", "other"), requests("tcp", "1", "HTTPS"),
                          requests("udp", "2", "A"), requests("udp", "1", "A")],
                         [1, 1, 1, 2])
        self.assertEqual(self.value("coredns_dns_do_requests_total", server=SERVER,
                                    zone="example.org."), 1)

    def test_no_do_series_without_do_queries(self) -> None:
        self.ask(self.link(Writes()))
        self.assertIsNone(self.value("coredns_dns_do_requests_total", server=SERVER,
                                     zone="example.org."))

    def test_request_size_is_the_wire_size(self) -> None:
        _, writer = self.ask(self.link(Writes()), want_dnssec=True)
        self.assertEqual(self.value("coredns_dns_request_size_bytes_sum", server=SERVER,
                                    zone="example.org.", proto="udp"),
                         len(writer.request.wire))

    def test_bound_listener_and_plugins_enabled(self) -> None:
        link = self.link(Writes(), "example.org:53 example.net:53 other.org:5300 {\n"
                                   " prometheus\n}\n", listen_hosts=("127.0.0.1",))
        self.ask(link)
        server = "dns://127.0.0.1:53"
        self.assertEqual(self.responses("NOERROR", "writer", server), 1)
        enabled = {(s.labels["zone"], s.labels["name"])
                   for s in self.metrics.plugin_enabled.collect()[0].samples}
        # the zones on the port the query came in on, not the one on 5300
        self.assertEqual(enabled, {(zone, name) for zone in ("example.org.", "example.net.")
                                   for name in ("prometheus", "writer")})


class MetricsTests(unittest.TestCase):
    def test_rcode_names(self) -> None:
        self.assertEqual([rcode_name(r) for r in (0, 2, 5, 16, 23, 4095)],
                         ["NOERROR", "SERVFAIL", "REFUSED", "BADSIG", "BADCOOKIE", "RCODE4095"])

    def test_fresh_is_isolated_current_is_kept(self) -> None:
        first = prometheus.fresh()
        first.panics.inc()
        self.assertIs(prometheus.current(), first)
        second = prometheus.fresh()
        self.assertIsNot(second, first)
        self.assertIs(prometheus.current(), second)
        self.assertEqual(second.registry.get_sample_value("coredns_panics_total"), 0)

    def test_the_process_registry(self) -> None:
        """The server metrics live beside every plugin's, in pkg.metrics' registry."""
        self.assertIs(prometheus.fresh().registry, metrics.registry())
        metrics.fresh()
        self.assertIs(prometheus.current().registry, metrics.registry())

    def test_exposition(self) -> None:
        text = prometheus.fresh().exposition().decode()
        version, _, python = version_labels()
        self.assertIn(f'coredns_build_info{{goversion="{python}",revision="",'
                      f'version="{version}"}} 1.0', text)
        self.assertIn("coredns_panics_total 0.0", text)
        self.assertIn("process_cpu_seconds_total", text)
        self.assertNotIn("_created", text)


class ObserveAllTests(unittest.TestCase):
    """The QueryHandler hook the plugin counts ``dropped`` queries with."""


class ReloadOrderTests(unittest.TestCase):
    """A reload starts the new configuration, then stops the old one: nothing is lost."""

    def exporter(self, corefile: str) -> Exporter:
        setup = load_configuration(corefile, "Corefile", default_registry(), reactor=reactor)
        return setup.shared[SHARED_KEY]

    def enabled(self, metrics: Any) -> set[tuple[str, str]]:
        return {(s.labels["zone"], s.labels["name"])
                for s in metrics.plugin_enabled.collect()[0].samples}

    @defer.inlineCallbacks
    def test_new_before_old(self):
        metrics = prometheus.fresh()
        old = self.exporter("example.org {\n prometheus 127.0.0.1:0\n whoami\n}\n"
                            "example.net {\n prometheus 127.0.0.1:0\n whoami\n}\n")
        new = self.exporter("example.org {\n prometheus 127.0.0.1:0\n whoami\n}\n")
        old.start()
        self.addCleanup(old.stop)
        new.start()
        self.addCleanup(new.stop)
        yield old.stop()
        self.assertEqual(self.enabled(metrics), {("example.org.", "prometheus"),
                                                 ("example.org.", "whoami")})
        yield new.stop()
        self.assertEqual(self.enabled(metrics), set())
