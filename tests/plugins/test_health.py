"""The *health* plugin: its directive, one endpoint per address, /health over real HTTP."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, protocol, reactor, task
from twisted.trial import unittest
from twisted.web.client import Agent, readBody

from twisted_dns.config import Configuration
from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.pkg import metrics
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.plugins.health import selfcheck
from twisted_dns.plugins.health.health import SHARED_KEY, Health
from twisted_dns.plugins.health.metrics import health_metrics
from twisted_dns.plugins.health.selfcheck import SelfCheck, agent_fetch
from twisted_dns.plugins.health.setup import setup
from twisted_dns.testing import (
    configure,
    corefile_examples,
    default_registry,
    plugin_readme,
    start_server,
)


@defer.inlineCallbacks
def get(port: int, path: str = "/health", method: bytes = b"GET"):
    """(status, body) of one HTTP request to 127.0.0.1:port."""
    response = yield Agent(reactor).request(method, f"http://127.0.0.1:{port}{path}".encode())
    body = yield readBody(response)
    return response.code, body


def configure_all(corefile: str) -> Configuration:
    """Run ``health``'s setup for every block of ``corefile`` in one configuration."""
    return configure(setup, "health", corefile).configuration


class SetupTests(unittest.TestCase):
    """CoreDNS's TestSetupHealth, with the exact messages."""

    def endpoints(self, corefile: str) -> dict[str, Health]:
        return configure_all(corefile).shared[SHARED_KEY]

    def test_default(self) -> None:
        [health] = self.endpoints(". {\n    health\n}\n").values()
        self.assertEqual((health.address, health.lameduck_duration), (":8080", 0))

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("health"), setup)

    def test_not_a_chain_link(self) -> None:
        config = configure(setup, "health", ". {\n    health\n}\n")
        self.assertEqual(config.plugins, [])

    def test_address_and_lameduck(self) -> None:
        endpoints = self.endpoints(". {\n health localhost:1234 {\n  lameduck 4s\n }\n}\n")
        self.assertEqual(list(endpoints), ["localhost:1234"])
        self.assertEqual(endpoints["localhost:1234"].lameduck_duration, parse_duration("4s"))
        self.assertEqual(endpoints["localhost:1234"].line, 2)
        # CoreDNS fails only when listening; here setup checks the port (so --validate does),
        # leaving the host to start-up
        error = self.assertRaises(ConfigError, self.endpoints, ". {\n    health bla:a\n}\n")
        self.assertEqual(str(error), "Corefile:2: unknown port 'a'")
        self.assertEqual(list(self.endpoints(". {\n    health bla:80\n}\n")), ["bla:80"])

    def test_one_endpoint_per_address(self) -> None:
        configuration = configure_all(
            "com {\n health :8080\n}\n"
            "net {\n health :8080 {\n  lameduck 2s\n }\n}\n"
            "org {\n health {\n  lameduck 1s\n }\n}\n"
            "example {\n health :8081\n}\n")
        endpoints = configuration.shared[SHARED_KEY]
        self.assertEqual(sorted(endpoints), [":8080", ":8081"])
        self.assertEqual(endpoints[":8080"].lameduck_duration, parse_duration("2s"))
        self.assertEqual(len(configuration.startup_hooks), 2)
        self.assertEqual(len(configuration.shutdown_hooks), 2)

    def error(self, body: str) -> str:
        exc = self.assertRaises(ConfigError, configure, setup, "health",
                                ". {\n" + body + "\n}\n")
        return str(exc)

    def test_errors(self) -> None:
        cases = {
            "health bla": "Corefile:2: address bla: missing port in address",
            "health bla bla": "Corefile:2: wrong argument count or unexpected line ending "
                              "after 'bla'",
            "health localhost:1234 {\n lameduck a\n}":
                "Corefile:3: unable to parse lameduck duration value: 'a' : "
                'time: invalid duration "a"',
            "health localhost:1234 {\n lameduck\n}":
                "Corefile:3: wrong argument count or unexpected line ending after 'lameduck'",
            "health localhost:1234 {\n lamedudk 4\n}": "Corefile:3: unknown property 'lamedudk'",
            "health [::1:8080": "Corefile:2: address [::1:8080: missing ']' in address",
        }
        for body, message in cases.items():
            with self.subTest(body=body):
                self.assertEqual(self.error(body), message)


class EndpointTests(unittest.TestCase):
    def start(self, clock: Any = None, address: str = "127.0.0.1:0") -> Health:
        health = Health(address, reactor, clock)
        health.start()
        self.addCleanup(health.stop)
        return health

    @defer.inlineCallbacks
    def test_ok(self):
        health = self.start()
        self.assertNotEqual(health.port, 0)
        self.assertEqual((yield get(health.port)), (200, b"OK"))
        self.assertEqual((yield get(health.port, method=b"POST")), (200, b"OK"))
        self.assertEqual((yield get(health.port, method=b"HEAD")), (200, b""))

    @defer.inlineCallbacks
    def test_other_paths(self):
        health = self.start()
        for path in ("/", "/ready", "/health/", "/health/x", "/healthz"):
            self.assertEqual((yield get(health.port, path)), (404, b"404 page not found\n"))

    @defer.inlineCallbacks
    def test_lameduck(self):
        clock = task.Clock()
        health = self.start(clock)
        health.lameduck_duration = parse_duration("3s")
        port = health.port
        stopped = health.lameduck().addCallback(lambda _: health.stop())
        self.assertNoResult(stopped)
        # alive through lame duck, as CoreDNS's (/ready is what drains)
        self.assertEqual((yield get(port)), (200, b"OK"))
        clock.advance(2.9)
        self.assertNoResult(stopped)
        self.assertEqual((yield get(port)), (200, b"OK"))
        clock.advance(0.1)
        yield stopped
        self.assertIsNone(health.port)
        # restarted (a failed reload)
        health.start()
        self.assertEqual((yield get(health.port)), (200, b"OK"))

    @defer.inlineCallbacks
    def test_lameduck_method(self):
        clock = task.Clock()
        health = self.start(clock)
        health.lameduck_duration = parse_duration("500ms")
        waited = health.lameduck()
        self.assertEqual((yield get(health.port)), (200, b"OK"))
        self.assertNoResult(waited)
        clock.advance(0.5)
        self.assertIsNone(self.successResultOf(waited))
        self.assertIsNotNone(health.port)  # lameduck() only waits; shutdown() stops

    def test_port_in_use(self) -> None:
        first = self.start()
        second = Health(f"127.0.0.1:{first.port}", reactor)
        second.file, second.line = "Corefile", 7
        exc = self.assertRaises(ConfigError, second.start)
        self.assertTrue(str(exc).startswith(f"Corefile:7: plugin/health: listen tcp "
                                            f"127.0.0.1:{first.port}: "), str(exc))

    def test_bad_port(self) -> None:
        exc = self.assertRaises(ConfigError, Health("127.0.0.1:a", reactor).start)
        self.assertEqual(str(exc), "plugin/health: listen tcp 127.0.0.1:a: unknown port 'a'")

    @defer.inlineCallbacks
    def test_ipv6_loopback(self):
        try:
            health = self.start(address="[::1]:0")
        except ConfigError as exc:
            raise unittest.SkipTest(f"no IPv6 loopback: {exc}") from None
        response = yield Agent(reactor).request(
            b"GET", f"http://[::1]:{health.port}/health".encode())
        self.assertEqual((response.code, (yield readBody(response))), (200, b"OK"))


DURATION = "coredns_health_request_duration_seconds"
FAILURES = "coredns_health_request_failures_total"


def sample(name: str, **labels: str) -> float | None:
    return metrics.registry().get_sample_value(name, labels)


def observations() -> tuple[float | None, float | None, float | None]:
    """(count, sum, failures) of the self check so far."""
    return sample(f"{DURATION}_count"), sample(f"{DURATION}_sum"), sample(FAILURES)


def finished(d: defer.Deferred) -> defer.Deferred:
    """Fires once ``d`` (a check in flight) has, leaving its result alone."""
    done = defer.Deferred()
    d.addBoth(lambda result: (done.callback(None), result)[1])
    return done


class _Silent(protocol.Protocol):
    """Accepts a connection and never answers."""

    def connectionMade(self) -> None:
        self.factory.connected.callback(self)

    def connectionLost(self, reason: Any) -> None:
        self.factory.lost.callback(None)


class SelfCheckTests(unittest.TestCase):
    """CoreDNS's self check: one GET of our /health per second, its duration observed, a
    failure counted when it errs or takes 3 s; ticks come from a task.Clock."""

    def setUp(self) -> None:
        metrics.fresh()
        self.clock = task.Clock()
        self.fetches: list[tuple[bytes, defer.Deferred]] = []

    def fake_fetch(self, url: bytes) -> defer.Deferred:
        d = defer.Deferred()
        self.fetches.append((url, d))
        return d

    def start(self, fetch: Any = None, address: str = "127.0.0.1:0") -> Health:
        health = Health(address, reactor, self.clock, fetch=fetch or self.fake_fetch)
        health.start()
        self.addCleanup(health.stop)
        return health

    def test_metric_names_and_buckets(self) -> None:
        self.start()
        buckets = [sample(f"{DURATION}_bucket", le=le)
                   for le in ("0.00025", "0.0025", "0.025", "0.25", "2.5", "+Inf")]
        self.assertEqual(buckets, [0] * 6)
        self.assertEqual(observations(), (0, 0, 0))

    def test_one_observation_per_tick(self) -> None:
        health = self.start()
        self.assertEqual(self.fetches, [])
        self.clock.advance(1)
        [(url, answered)] = self.fetches
        self.assertEqual(url, f"http://127.0.0.1:{health.port}/health".encode())
        self.clock.advance(0.015625)
        answered.callback(b"OK")
        self.assertEqual(observations(), (1, 0.015625, 0))
        self.assertEqual(sample(f"{DURATION}_bucket", le="0.025"), 1)
        self.assertEqual(sample(f"{DURATION}_bucket", le="0.0025"), 0)
        self.clock.advance(0.984375)
        self.assertEqual(len(self.fetches), 2)
        self.fetches[1][1].callback(b"OK")
        self.assertEqual(observations(), (2, 0.015625, 0))

    def test_every_address_is_checked_on_localhost(self) -> None:
        health = self.start(address=":0")  # as CoreDNS: "localhost" for an empty host
        self.clock.advance(1)
        self.assertEqual(self.fetches[0][0], f"http://localhost:{health.port}/health".encode())

    def test_timeout_is_a_failure_and_one_check_is_in_flight(self) -> None:
        warnings: list[dict] = []
        self.patch(selfcheck.log, "warn", lambda _, **fields: warnings.append(fields))
        health = self.start()
        self.clock.advance(1)
        self.clock.advance(2.5)  # two ticks passed while the first check waits
        self.assertEqual(len(self.fetches), 1)
        self.assertEqual(observations(), (0, 0, 0))
        self.clock.advance(0.5)  # 3 s after it began: cancelled
        self.assertTrue(self.fetches[0][1].called)
        self.assertEqual(observations(), (1, 3.0, 1))
        self.assertEqual(sample(f"{DURATION}_bucket", le="2.5"), 0)
        self.assertEqual(warnings, [{"url": health.url().decode(),
                                     "error": "no answer within 3s"}])
        self.clock.advance(1)
        self.assertEqual(len(self.fetches), 2)

    def test_error_is_a_failure(self) -> None:
        self.start()
        self.clock.advance(1)
        self.fetches[0][1].errback(ConnectionRefusedError())
        self.assertEqual(observations(), (1, 0, 1))

    def test_stop_drops_the_check_in_flight(self) -> None:
        health = self.start()
        self.clock.advance(1)
        health.stop()
        self.assertTrue(self.fetches[0][1].called)  # cancelled
        self.clock.advance(10)
        self.assertEqual((len(self.fetches), observations()), (1, (0, 0, 0)))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    @defer.inlineCallbacks
    def test_real_endpoint(self):
        health = self.start(agent_fetch(reactor))
        self.clock.advance(1)
        yield finished(health.self_check.checking)
        # the task.Clock stood still while the request went over TCP: a zero duration
        self.assertEqual(observations(), (1, 0, 0))
        # an HTTP error status (here a 404) is still an answer, not a failure
        health.self_check.url = lambda: f"http://127.0.0.1:{health.port}/nowhere".encode()
        self.clock.advance(1)
        yield finished(health.self_check.checking)
        self.assertEqual(observations(), (2, 0, 0))

    @defer.inlineCallbacks
    def test_endpoint_that_does_not_answer(self):
        factory = protocol.Factory.forProtocol(_Silent)
        factory.connected, factory.lost = defer.Deferred(), defer.Deferred()
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/health".encode()
        check = SelfCheck(lambda: url, health_metrics(), self.clock, agent_fetch(reactor))
        check.start()
        self.addCleanup(check.stop)
        self.clock.advance(1)
        yield factory.connected
        self.assertEqual(observations(), (0, 0, 0))
        self.clock.advance(3)
        self.assertEqual(observations(), (1, 3.0, 1))
        yield factory.lost  # the client gave up the connection


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_served_with_the_server(self):
        server = yield start_server(". {\n    health 127.0.0.1:0\n    whoami\n}\n"
                                    "example.org {\n    health 127.0.0.1:0\n    whoami\n}\n")
        endpoints = server.configuration.shared[SHARED_KEY]
        self.assertEqual(list(endpoints), ["127.0.0.1:0"])
        port = endpoints["127.0.0.1:0"].port
        self.assertEqual((yield get(port)), (200, b"OK"))
        yield server.stop()
        self.assertIsNone(endpoints["127.0.0.1:0"].port)

    @defer.inlineCallbacks
    def test_lameduck_keeps_dns_serving(self):
        clock = task.Clock()
        server = yield start_server(
            ". {\n    health 127.0.0.1:0 {\n        lameduck 5s\n    }\n    whoami\n}\n")
        self.addCleanup(server.stop)
        health = server.configuration.shared[SHARED_KEY]["127.0.0.1:0"]
        health.clock = clock
        stopping = server.stop()
        self.assertEqual((yield get(health.port)), (200, b"OK"))
        reply = yield server.query("example.org", "A")
        self.assertNoResult(stopping)
        self.assertEqual(len(reply.additional), 2)
        clock.advance(5)
        yield stopping


class ReadmeTests(unittest.TestCase):
    def test_examples(self) -> None:
        examples = corefile_examples(plugin_readme("health"))
        self.assertGreaterEqual(len(examples), 3)
        for example in examples:
            with self.subTest(example=example):
                blocks = parser.parse(example, "README.md", directives=default_registry().names())
                self.assertTrue(all("health" in block.directives for block in blocks))
                configure_all(example)
