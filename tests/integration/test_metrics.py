"""End to end: known queries to a served Corefile, then ``/metrics`` scraped over real HTTP.

Each test starts from fresh metrics (``prometheus.fresh()``), asks with dnspython over UDP and
TCP, scrapes with ``twisted.web.client.Agent`` and reads the text with prometheus_client's
own parser, asserting exact counts.
"""

from __future__ import annotations

import importlib.metadata
import socket
import struct

import dns.message
import dns.rcode
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer, reactor, threads
from twisted.trial import unittest
from twisted.web.client import Agent, readBody

from twisted_dns.config import load as load_configuration
from twisted_dns.plugins import prometheus
from twisted_dns.plugins.prometheus.exporter import SHARED_KEY
from twisted_dns.plugins.prometheus.metrics import version_labels
from twisted_dns.registry import GROUP, Registry
from twisted_dns.testing import corefile_examples, plugin_readme, start_server

#: a metrics address the OS picks a port for
METRICS = "127.0.0.1:0"

_registry: Registry | None = None


def registry() -> Registry:
    """The installed plugins, with *prometheus* added when its entry point is not installed."""
    global _registry
    if _registry is None:
        found = list(importlib.metadata.entry_points(group=GROUP))
        if not any(ep.name == "prometheus" for ep in found):
            found.append(importlib.metadata.EntryPoint(
                "prometheus", "twisted_dns.plugins.prometheus.setup:setup", GROUP))
        _registry = Registry.discover(found)
    return _registry


@defer.inlineCallbacks
def get(port: int, path: str = "/metrics"):
    """(status, content type, body) of ``GET path`` on 127.0.0.1:port."""
    response = yield Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}{path}".encode())
    body = yield readBody(response)
    return response.code, response.headers.getRawHeaders(b"content-type")[0], body


def send_raw(port: int, data: bytes) -> bytes:
    """One datagram to the server and its reply (for messages dnspython will not send)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(data, ("127.0.0.1", port))
        return sock.recv(65535)


class Scrape:
    """The samples of one scrape: ``scrape[name, {"label": "value"}]`` -> value or None."""

    def __init__(self, text: str) -> None:
        self.samples = {(s.name, frozenset(s.labels.items())): s.value
                        for family in text_string_to_metric_families(text)
                        for s in family.samples}

    def __getitem__(self, key: tuple[str, dict[str, str]]) -> float | None:
        name, labels = key
        return self.samples.get((name, frozenset(labels.items())))

    def names(self, prefix: str) -> set[tuple[str, frozenset]]:
        return {key for key in self.samples if key[0].startswith(prefix)}


class MetricsTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.metrics = prometheus.fresh()

    @defer.inlineCallbacks
    def serve(self, corefile: str):
        server = yield start_server(corefile, registry=registry())
        self.addCleanup(server.stop)
        self.server = server
        self.label = f"dns://:{server.port}"
        return server

    @defer.inlineCallbacks
    def scrape(self, address: str = METRICS):
        port = self.server.configuration.shared[SHARED_KEY].endpoints[address].port
        status, content_type, body = yield get(port)
        self.assertEqual((status, content_type), (200, b"text/plain; version=0.0.4; charset=utf-8"))
        return Scrape(body.decode())

    def labels(self, zone: str, **labels: str) -> dict[str, str]:
        return {"server": self.label, "zone": zone, "view": "", **labels}


class CountTests(MetricsTestCase):
    COREFILE = f"example.org {{\n    prometheus {METRICS}\n    whoami\n}}\n"

    @defer.inlineCallbacks
    def test_known_queries(self):
        server = yield self.serve(self.COREFILE)
        for _ in range(3):
            yield server.query("a.example.org", "A")
        for _ in range(2):
            yield server.query("a.example.org", "AAAA", proto="tcp")
        reply = yield server.query("example.com", "A")
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        yield server.query("b.example.org", "TXT", want_dnssec=True)
        scrape = yield self.scrape()

        def requests(zone: str, proto: str, qtype: str) -> float | None:
            return scrape["coredns_dns_requests_total",
                          self.labels(zone, proto=proto, family="1", type=qtype)]

        self.assertEqual([requests("example.org.", "udp", "A"),
                          requests("example.org.", "tcp", "AAAA"),
                          requests("example.org.", "udp", "TXT"),
                          requests("dropped", "udp", "A")], [3, 2, 1, 1])
        self.assertEqual(len(scrape.names("coredns_dns_requests_total")), 4)
        self.assertEqual(scrape["coredns_dns_responses_total",
                                self.labels("example.org.", rcode="NOERROR", plugin="whoami")], 6)
        self.assertEqual(scrape["coredns_dns_responses_total",
                                self.labels("dropped", rcode="REFUSED", plugin="")], 1)
        self.assertEqual(len(scrape.names("coredns_dns_responses_total")), 2)
        self.assertEqual(scrape["coredns_dns_do_requests_total", self.labels("example.org.")], 1)
        self.assertIsNone(scrape["coredns_dns_do_requests_total", self.labels("dropped")])
        self.assertEqual(scrape["coredns_dns_request_duration_seconds_count",
                                self.labels("example.org.")], 6)
        self.assertEqual([scrape["coredns_dns_response_size_bytes_count",
                                 self.labels("example.org.", proto=proto)]
                          for proto in ("udp", "tcp")], [4, 2])
        for name in ("prometheus", "whoami"):
            self.assertEqual(scrape["coredns_plugin_enabled",
                                    self.labels("example.org.", name=name)], 1)
        version, revision, python = version_labels()
        self.assertEqual(scrape["coredns_build_info", {"version": version, "revision": revision,
                                                       "goversion": python}], 1)
        self.assertEqual(scrape["coredns_panics_total", {}], 0)

    @defer.inlineCallbacks
    def test_server_answers_without_a_block(self):
        """REFUSED (class), FORMERR (two questions), NOTIMP (opcode): all zone ``dropped``."""
        server = yield self.serve(self.COREFILE)
        reply = yield server.query("a.example.org", "TXT", "CH")
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        query = dns.message.make_query("a.example.org", "A").to_wire()
        two_questions = query[:4] + struct.pack("!H", 2) + query[6:] + query[12:]
        reply = yield threads.deferToThread(send_raw, server.port, two_questions)
        self.assertEqual(reply[3] & 0xF, dns.rcode.FORMERR)
        status = bytearray(query)
        status[2] |= 2 << 3  # opcode STATUS
        reply = yield threads.deferToThread(send_raw, server.port, bytes(status))
        self.assertEqual(reply[3] & 0xF, dns.rcode.NOTIMP)
        scrape = yield self.scrape()
        self.assertEqual([scrape["coredns_dns_responses_total",
                                 self.labels("dropped", rcode=rcode, plugin="")]
                          for rcode in ("REFUSED", "FORMERR", "NOTIMP")], [1, 1, 1])
        self.assertEqual(scrape["coredns_dns_requests_total",
                                self.labels("dropped", proto="udp", family="1", type="A")], 2)
        self.assertEqual(scrape["coredns_dns_requests_total",
                                self.labels("dropped", proto="udp", family="1", type="TXT")], 1)
        self.assertEqual({dict(labels)["zone"]
                          for _, labels in scrape.names("coredns_dns_requests_total")},
                         {"dropped"})

    @defer.inlineCallbacks
    def test_server_writes_for_the_chain(self):
        """A block whose chain ends without an answer: SERVFAIL written by the server."""
        server = yield self.serve(f"example.org {{\n    prometheus {METRICS}\n}}\n")
        reply = yield server.query("a.example.org", "A", proto="tcp")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        scrape = yield self.scrape()
        self.assertEqual(scrape["coredns_dns_responses_total",
                                self.labels("example.org.", rcode="SERVFAIL", plugin="")], 1)
        self.assertEqual(scrape["coredns_dns_response_size_bytes_sum",
                                self.labels("example.org.", proto="tcp")], 0)

    @defer.inlineCallbacks
    def test_other_paths_are_not_found(self):
        yield self.serve(self.COREFILE)
        port = self.server.configuration.shared[SHARED_KEY].endpoints[METRICS].port
        status, _, _ = yield get(port, "/metrics/x")
        self.assertEqual(status, 404)

    @defer.inlineCallbacks
    def test_one_dropped_observer_per_listener_across_reloads(self):
        server = yield self.serve(self.COREFILE)
        handler = next(iter(server.service.listeners.values())).handler
        self.assertEqual(len(handler.observers), 1)
        self.assertTrue((yield server.service.reload(load_configuration(
            self.COREFILE, "Corefile", registry(), default_port=0))))
        self.assertEqual(len(handler.observers), 1)  # the old configuration's is gone
        yield server.stop()
        self.assertIsNone(server.configuration.shared[SHARED_KEY].endpoints[METRICS].port)


class SharedAddressTests(MetricsTestCase):
    @defer.inlineCallbacks
    def test_two_blocks_one_endpoint(self):
        server = yield self.serve(
            f"example.org {{\n    prometheus {METRICS}\n    whoami\n}}\n"
            f"example.net {{\n    prometheus {METRICS}\n    whoami\n}}\n"
            "example.com {\n    whoami\n}\n")
        self.assertEqual(list(server.configuration.shared[SHARED_KEY].endpoints), [METRICS])
        for name in ("a.example.org", "a.example.net", "b.example.net", "a.example.com"):
            reply = yield server.query(name, "A")
            self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        scrape = yield self.scrape()
        counts = {zone: scrape["coredns_dns_requests_total",
                               self.labels(zone, proto="udp", family="1", type="A")]
                  for zone in ("example.org.", "example.net.", "example.com.")}
        # the block without prometheus is not counted, as in CoreDNS
        self.assertEqual(counts, {"example.org.": 1, "example.net.": 2, "example.com.": None})


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        examples = corefile_examples(plugin_readme("prometheus"))
        self.assertEqual(len(examples), 3)
        addresses = []
        for text in examples:
            setup = load_configuration(text, "Corefile", registry(), default_port=0,
                                       environ={"PORT": "9253"})
            exporter = setup.shared[SHARED_KEY]
            addresses.append(sorted(exporter.endpoints))
            for block in setup.blocks:
                self.assertEqual(block.plugins[0].Name(), "prometheus")
        self.assertEqual(addresses, [["localhost:9253"], ["localhost:9253"], [":9153"]])
