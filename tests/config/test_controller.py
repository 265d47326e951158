"""The Controller: the one door a plugin's setup has to the block, the configuration and the
server that will serve it."""

from __future__ import annotations

from typing import Any

import dns.rcode
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.config import BlockConfig, Configuration, Controller
from twisted_dns.config import load as load_configuration
from twisted_dns.corefile import parser
from twisted_dns.corefile.keys import parse_key
from twisted_dns.errors import ConfigError
from twisted_dns.server.service import DNSService
from twisted_dns.testing import RunningServer, default_registry


def controller(corefile: str, directive: str = "x",
               configuration: Configuration | None = None) -> Controller:
    """A Controller over ``directive`` in the Corefile's first block (parsed, not set up)."""
    block = parser.parse(corefile, "Corefile")[0]
    keys = [addr.with_port(0) for token in block.keys for addr in parse_key(token)]
    config = BlockConfig(keys=keys, file="Corefile", line=block.line)
    return Controller(directive, block.directives[directive], config,
                      configuration or Configuration("Corefile"))


class ArgumentTests(unittest.TestCase):
    def test_no_args_accepts_the_bare_directive(self) -> None:
        c = controller(". {\n    x\n    x\n}\n")
        c.no_args()
        self.assertFalse(c.next())

    def test_no_args_rejects_an_argument(self) -> None:
        exc = self.assertRaises(ConfigError, controller(". {\n    x\n    x on\n}\n").no_args)
        self.assertEqual(str(exc),
                         "Corefile:3: wrong argument count or unexpected line ending after 'on'")

    def test_no_args_rejects_a_block(self) -> None:
        c = controller(". {\n    x {\n        y\n    }\n}\n")
        exc = self.assertRaises(ConfigError, c.no_args)
        self.assertEqual(str(exc), "Corefile:3: unknown property 'y'")

    def test_once_walks_one_occurrence(self) -> None:
        c = controller(". {\n    x a\n}\n")
        self.assertTrue(c.once())
        self.assertEqual(c.remaining_args(), ["a"])
        self.assertFalse(c.once())

    def test_once_rejects_a_second_occurrence(self) -> None:
        c = controller(". {\n    x a\n    x b\n}\n")
        self.assertTrue(c.once())
        c.remaining_args()
        exc = self.assertRaises(ConfigError, c.once)
        self.assertEqual(str(exc), "Corefile:3: this plugin can only be used once per Server Block")


class ServingTests(unittest.TestCase):
    """What a setup asks of the server it does not see: where it listens, a reload, and every
    query of every listener."""

    @defer.inlineCallbacks
    def serve(self, corefile: str, observers: list[Any] | None = None):
        configuration = load_configuration(corefile, "Corefile", default_registry(),
                                           default_port=0)
        service = DNSService(configuration)
        c = controller(corefile, "whoami", configuration)
        for factory in observers or []:
            c.observe_queries(factory)
        service.startService()
        self.addCleanup(service.stopService)
        yield service.started
        return RunningServer(service), c

    @defer.inlineCallbacks
    def test_listen_address_has_the_bound_port(self) -> None:
        configuration = Configuration("Corefile")
        address = controller(". {\n    x\n}\n", configuration=configuration).listen_address()
        self.assertEqual(address(), ("", 0))  # not serving: the Corefile's port
        server, c = yield self.serve(".:0 {\n    whoami\n}\n")
        host, port = c.listen_address()()
        self.assertEqual((host, port), ("", server.port))
        self.assertNotEqual(port, 0)

    @defer.inlineCallbacks
    def test_reload(self) -> None:
        self.assertIsNone(controller(". {\n    x\n}\n").reload())  # nothing serves it
        server, c = yield self.serve(".:0 {\n    whoami\n}\n")
        first = server.configuration
        self.assertTrue((yield c.reload()) is False)  # in-memory Corefile: no source to read
        self.assertIs(server.configuration, first)

    @defer.inlineCallbacks
    def test_observers_see_every_query_while_their_configuration_serves(self) -> None:
        seen: list[tuple[str, int]] = []

        def observer(handler: Any) -> Any:
            return lambda request, writer: seen.append((request.qname_lower, writer.rcode))

        server, _ = yield self.serve("example.org:0 {\n    whoami\n}\n", [observer])
        yield server.query("a.example.org")
        yield server.query("elsewhere.net")  # no block: REFUSED by the server itself
        self.assertEqual(seen, [("a.example.org.", dns.rcode.NOERROR),
                                ("elsewhere.net.", dns.rcode.REFUSED)])
        replacement = load_configuration("example.org:0 {\n    whoami\n}\n", "Corefile",
                                         default_registry(), default_port=0)
        self.assertTrue((yield server.service.reload(replacement)))
        yield server.query("b.example.org")
        self.assertEqual(len(seen), 2)  # the replaced configuration's observer is gone
        handler = next(iter(server.service.listeners.values())).handler
        self.assertEqual(handler.observers, [])
