"""twisted_dns.pkg.metrics: one registry for the process, each plugin's metrics made once in it."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from twisted.trial import unittest

from twisted_dns.pkg import metrics


def counter(registry: CollectorRegistry) -> Counter:
    return Counter("coredns_test_things_total", "Things.", registry=registry)


class Answers:
    """A collector: its metric is computed when scraped."""

    def __init__(self) -> None:
        self.value = 0

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily("coredns_test_answer", "The answer.")
        family.add_metric([], self.value)
        yield family


class RegistryTests(unittest.TestCase):
    def setUp(self) -> None:
        metrics.fresh()
        self.addCleanup(metrics.fresh)

    def test_once_per_registry(self) -> None:
        first = metrics.plugin_metrics("test", counter)
        self.assertIs(metrics.plugin_metrics("test", counter), first)  # a reload: the same
        first.inc(2)
        self.assertEqual(metrics.registry().get_sample_value("coredns_test_things_total"), 2)

    def test_fresh_starts_from_zero(self) -> None:
        old = metrics.plugin_metrics("test", counter)
        old.inc()
        registry = metrics.fresh()
        self.assertIs(metrics.registry(), registry)
        self.assertIsNot(metrics.plugin_metrics("test", counter), old)
        self.assertEqual(registry.get_sample_value("coredns_test_things_total"), 0)

    def test_collector_registered_once(self) -> None:
        answers = metrics.plugin_collector("test", Answers)
        self.assertIs(metrics.plugin_collector("test", Answers), answers)
        answers.value = 42
        self.assertEqual(metrics.registry().get_sample_value("coredns_test_answer"), 42)

    def test_no_created_series(self) -> None:
        """As CoreDNS (Go's client): counters have no ``*_created`` companion."""
        metrics.plugin_metrics("test", counter)
        names = {sample.name for family in metrics.registry().collect()
                 for sample in family.samples}
        self.assertEqual(names, {"coredns_test_things_total"})


class LabelTests(unittest.TestCase):
    def test_server_label(self) -> None:
        self.assertEqual([metrics.server_label("dns", host, 53)
                          for host in ("", "::", "0.0.0.0", "127.0.0.1", "::1")],
                         ["dns://:53", "dns://:53", "dns://:53", "dns://127.0.0.1:53",
                          "dns://[::1]:53"])

    def test_block_server_label(self) -> None:
        """The block's scheme on that port; the listener's host only under *bind*."""
        # a server block's keys and bind hosts: tls://example.org:853 example.org:53
        block = SimpleNamespace(keys=[SimpleNamespace(scheme="tls", port=853),
                                      SimpleNamespace(scheme="dns", port=53)], listen_hosts=[])
        self.assertEqual(metrics.block_server_label(block, ("127.0.0.1", 853)), "tls://:853")
        self.assertEqual(metrics.block_server_label(block, ("127.0.0.1", 5300)),
                         "dns://:5300")
        block.listen_hosts = ["127.0.0.1"]
        self.assertEqual(metrics.block_server_label(block, ("127.0.0.1", 53)),
                         "dns://127.0.0.1:53")
