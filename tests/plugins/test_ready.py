"""The *ready* plugin: its directive, readiness across blocks, /ready over real HTTP."""

from __future__ import annotations

import importlib.metadata
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.logger import globalLogPublisher
from twisted.trial import unittest
from twisted.web.client import Agent, readBody
from zope.interface import implementer

from twisted_dns.config import BlockConfig, Configuration
from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin, IReadiness
from twisted_dns.plugins.ready.ready import (
    CONTINUOUSLY,
    SHARED_KEY,
    UNTIL_READY,
    Readiness,
    ReadyEndpoint,
)
from twisted_dns.plugins.ready.setup import setup
from twisted_dns.registry import GROUP, Registry
from twisted_dns.testing import (
    configure,
    corefile_examples,
    default_registry,
    plugin_readme,
    start_server,
)


@defer.inlineCallbacks
def get(port: int, path: str = "/ready"):
    """(status, body) of one HTTP GET to 127.0.0.1:port."""
    response = yield Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}{path}".encode())
    body = yield readBody(response)
    return response.code, body


@implementer(IPlugin, IReadiness)
class Loading:
    """A plugin that is ready once told so; counts how often it was asked."""

    def __init__(self, name: str, ready: bool = False) -> None:
        self.name = name
        self.ready = ready
        self.asked = 0

    def Name(self) -> str:
        return self.name

    def ServeDNS(self, request: Any, writer: Any) -> int:
        return 2

    def Ready(self) -> bool:
        self.asked += 1
        return self.ready


class DuckTyped:
    """Has Ready() without declaring IReadiness: CoreDNS's duck typing counts it."""

    def Name(self) -> str:
        return "duck"

    def Ready(self) -> bool:
        return False


class NoReadiness:
    def Name(self) -> str:
        return "plain"


def block_with(*plugins: Any) -> BlockConfig:
    config = BlockConfig(keys=[])
    config.plugins = list(plugins)
    return config


def configure_all(corefile: str) -> Configuration:
    """Run ``ready``'s setup for the blocks of ``corefile`` that use it, in one configuration."""
    return configure(setup, "ready", corefile).configuration


class SetupTests(unittest.TestCase):
    """CoreDNS's TestSetupReady, with the exact messages."""

    def endpoint(self, body: str) -> ReadyEndpoint:
        [endpoint] = configure_all(". {\n" + body + "\n}\n").shared[SHARED_KEY].endpoints.values()
        return endpoint

    def test_parse(self) -> None:
        cases = {
            "ready": (":8181", UNTIL_READY),
            "ready localhost:1234": ("localhost:1234", UNTIL_READY),
            "ready {\n monitor until-ready\n}": (":8181", UNTIL_READY),
            "ready {\n monitor continuously\n}": (":8181", CONTINUOUSLY),
            "ready localhost:1234 {\n monitor continuously\n}": ("localhost:1234", CONTINUOUSLY),
        }
        for body, expected in cases.items():
            with self.subTest(body=body):
                endpoint = self.endpoint(body)
                self.assertEqual((endpoint.address, endpoint.monitor), expected)
                self.assertEqual(endpoint.line, 2)

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("ready"), setup)

    def test_not_a_chain_link(self) -> None:
        self.assertEqual(configure(setup, "ready", ". {\n    ready\n}\n").plugins, [])

    def test_errors(self) -> None:
        cases = {
            "ready localhost:1234 {\n monitor 404\n}":
                "Corefile:3: monitor type '404' not supported, expected one of until-ready, "
                "continuously",
            "ready {\n monitor\n}":
                "Corefile:3: wrong argument count or unexpected line ending after 'monitor'",
            "ready {\n watch\n}": "Corefile:3: unknown property 'watch'",
            "ready localhost:1234 b":
                "Corefile:2: wrong argument count or unexpected line ending after 'b'",
            "ready bla": "Corefile:2: address bla: missing port in address",
            "ready bla bla":
                "Corefile:2: wrong argument count or unexpected line ending after 'bla'",
            "ready\nready :8182": "Corefile:3: this plugin can only be used once per Server "
                                  "Block",
        }
        for body, message in cases.items():
            with self.subTest(body=body):
                exc = self.assertRaises(ConfigError, configure, setup, "ready",
                                        ". {\n" + body + "\n}\n")
                self.assertEqual(str(exc), message)

    def test_blocks_and_endpoints(self) -> None:
        configuration = configure_all(
            ". {\n    ready\n}\n"
            "example.org {\n    ready :8181 {\n        monitor continuously\n    }\n}\n"
            "example.net {\n    whoami\n}\n"
            "example.com {\n    ready 127.0.0.1:8182\n}\n")
        readiness = configuration.shared[SHARED_KEY]
        self.assertEqual(readiness.blocks, [configuration.blocks[i] for i in (0, 1, 3)])
        self.assertEqual(list(readiness.endpoints), [":8181", "127.0.0.1:8182"])
        self.assertEqual(readiness.endpoints[":8181"].monitor, CONTINUOUSLY)
        self.assertEqual(len(configuration.startup_hooks), 2)
        self.assertEqual(len(configuration.shutdown_hooks), 2)


class ReadinessTests(unittest.TestCase):
    def endpoint(self, *blocks: BlockConfig, monitor: str = UNTIL_READY) -> ReadyEndpoint:
        readiness = Readiness()
        for block in blocks:
            readiness.add_block(block)
        endpoint = ReadyEndpoint("127.0.0.1:0", readiness, reactor, monitor)
        endpoint.serving = True
        return endpoint

    def test_names_sorted_once_each(self) -> None:
        erratic, file_a, file_b = Loading("erratic"), Loading("file"), Loading("file", True)
        endpoint = self.endpoint(block_with(file_a, NoReadiness(), erratic),
                                 block_with(file_b, Loading("auto", True)))
        self.assertEqual(endpoint.answer(), (503, "erratic,file"))
        erratic.ready = True
        self.assertEqual(endpoint.answer(), (503, "file"))
        file_a.ready = True
        self.assertEqual(endpoint.answer(), (200, "OK"))

    def test_duck_typing(self) -> None:
        self.assertEqual(self.endpoint(block_with(DuckTyped())).answer(), (503, "duck"))

    def test_nothing_to_wait_for(self) -> None:
        self.assertEqual(self.endpoint(block_with(NoReadiness())).answer(), (200, "OK"))
        self.assertEqual(self.endpoint().answer(), (200, "OK"))

    def test_until_ready(self) -> None:
        plugin = Loading("file", ready=True)
        endpoint = self.endpoint(block_with(plugin))
        self.assertEqual(endpoint.answer(), (200, "OK"))
        plugin.ready = False
        self.assertEqual(endpoint.answer(), (200, "OK"))
        self.assertEqual(plugin.asked, 1)

    def test_continuously(self) -> None:
        plugin = Loading("file", ready=True)
        endpoint = self.endpoint(block_with(plugin), monitor=CONTINUOUSLY)
        self.assertEqual(endpoint.answer(), (200, "OK"))
        plugin.ready = False
        self.assertEqual(endpoint.answer(), (503, "file"))
        self.assertEqual(plugin.asked, 2)

    def test_shutting_down(self) -> None:
        endpoint = self.endpoint(block_with(Loading("file", ready=True)))
        endpoint.serving = False
        self.assertEqual(endpoint.answer(), (503, "Shutting down"))

    def test_not_ready_is_logged(self) -> None:
        events: list[dict] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.endpoint(block_with(Loading("b"), Loading("a"))).answer()
        from twisted.logger import formatEvent

        self.assertEqual([formatEvent(e) for e in events if e.get("log_namespace") == "ready"],
                         ["Plugins not ready: 'a,b'"])

    def test_chain_built_after_setup(self) -> None:
        """The blocks' plugins are read when asked, so a chain built after setup counts."""
        block = BlockConfig(keys=[])
        endpoint = self.endpoint(block)
        self.assertEqual(endpoint.answer(), (200, "OK"))
        block.plugins = [Loading("late")]
        endpoint.monitor = CONTINUOUSLY
        self.assertEqual(endpoint.answer(), (503, "late"))


class EndpointTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_http(self):
        plugin = Loading("file")
        readiness = Readiness()
        readiness.add_block(block_with(plugin))
        endpoint = ReadyEndpoint("127.0.0.1:0", readiness, reactor)
        self.assertEqual(endpoint.answer(), (503, "Shutting down"))  # before start
        endpoint.start()
        self.addCleanup(endpoint.stop)
        self.assertEqual((yield get(endpoint.port)), (503, b"file"))
        plugin.ready = True
        self.assertEqual((yield get(endpoint.port)), (200, b"OK"))
        self.assertEqual((yield get(endpoint.port, "/health")), (404, b"404 page not found\n"))
        yield endpoint.stop()
        self.assertIsNone(endpoint.port)
        self.assertEqual(endpoint.answer(), (503, "Shutting down"))

    def test_port_in_use(self) -> None:
        first = ReadyEndpoint("127.0.0.1:0", Readiness(), reactor)
        first.start()
        self.addCleanup(first.stop)
        second = ReadyEndpoint(f"127.0.0.1:{first.port}", Readiness(), reactor)
        second.file, second.line = "Corefile", 3
        exc = self.assertRaises(ConfigError, second.start)
        self.assertTrue(str(exc).startswith(f"Corefile:3: plugin/ready: listen tcp "
                                            f"127.0.0.1:{first.port}: "), str(exc))
        self.assertFalse(second.serving)


LOADING = Loading("loading")


def loading_setup(c: Any) -> None:
    """A test directive whose plugin is ready when the test says so."""
    while c.next():
        pass
    c.add_plugin(lambda _next: LOADING)


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_ready_flips(self):
        LOADING.ready = False
        entry_points = [*importlib.metadata.entry_points(group=GROUP),
                        importlib.metadata.EntryPoint("loading", f"{__name__}:loading_setup",
                                                      GROUP)]
        server = yield start_server(
            ". {\n    ready 127.0.0.1:0\n    whoami\n    loading\n}\n"
            "example.org {\n    ready 127.0.0.1:0\n    whoami\n}\n",
            registry=Registry.discover(entry_points))
        self.addCleanup(server.stop)
        endpoints = server.configuration.shared[SHARED_KEY].endpoints
        self.assertEqual(list(endpoints), ["127.0.0.1:0"])
        port = endpoints["127.0.0.1:0"].port
        self.assertEqual((yield get(port)), (503, b"loading"))
        LOADING.ready = True
        self.assertEqual((yield get(port)), (200, b"OK"))


class ShutdownTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_shutting_down_from_the_start_of_lameduck(self):
        """CoreDNS's ready stops saying OK once shutdown begins: here from the lame duck
        hooks on, while the endpoint (and DNS) still answer."""
        clock = task.Clock()
        server = yield start_server(
            ". {\n    health 127.0.0.1:0 {\n        lameduck 5s\n    }\n"
            "    ready 127.0.0.1:0\n    whoami\n}\n")
        self.addCleanup(server.stop)
        server.configuration.shared["health"]["127.0.0.1:0"].clock = clock
        endpoint = server.configuration.shared[SHARED_KEY].endpoints["127.0.0.1:0"]
        port = endpoint.port
        self.assertEqual((yield get(port)), (200, b"OK"))
        stopping = server.stop()
        self.assertEqual((yield get(port)), (503, b"Shutting down"))
        self.assertEqual((yield server.query("example.org")).rcode(), 0)  # DNS still served
        self.assertNoResult(stopping)
        clock.advance(5)
        yield stopping
        self.assertIsNone(endpoint.port)  # the shutdown hooks stopped it

    def test_lameduck_hook_registered_once_per_endpoint(self) -> None:
        configuration = configure_all(". {\n    ready\n}\nexample.org {\n    ready\n}\n")
        self.assertEqual(len(configuration.lameduck_hooks), 1)
        [endpoint] = configuration.shared[SHARED_KEY].endpoints.values()
        endpoint.serving = True
        configuration.lameduck_hooks[0]()
        self.assertEqual(endpoint.answer(), (503, "Shutting down"))


class ReadmeTests(unittest.TestCase):
    def test_examples(self) -> None:
        examples = corefile_examples(plugin_readme("ready"))
        self.assertGreaterEqual(len(examples), 2)
        for example in examples:
            with self.subTest(example=example):
                parser.parse(example, "README.md", directives=default_registry().names())
                configuration = configure_all(example)
                self.assertTrue(configuration.shared[SHARED_KEY].endpoints)
