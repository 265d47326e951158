"""Serving a Corefile from a test (``twisted_dns.testing.server``), with plugins that are not
installed."""

from __future__ import annotations

import dns.rcode
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.config import Controller
from twisted_dns.testing import NextPlugin, default_registry, registry_with, start_server


def refusing_setup(c: Controller) -> None:
    """A stand-in: every query is refused (the server writes the reply)."""
    c.no_args()
    c.add_plugin(lambda _next: NextPlugin(dns.rcode.REFUSED))


def failing_setup(c: Controller) -> None:
    """A stand-in whose start-up hook fails."""
    c.no_args()
    c.add_plugin(lambda _next: NextPlugin(dns.rcode.REFUSED))
    c.on_startup(lambda: defer.fail(RuntimeError("cannot start")))


class RegistryWithTests(unittest.TestCase):
    def test_adds_and_replaces(self) -> None:
        registry = registry_with({"refusing": refusing_setup, "whoami": refusing_setup})
        self.assertIs(registry.setup_for("refusing"), refusing_setup)
        self.assertIs(registry.setup_for("whoami"), refusing_setup)
        self.assertEqual(registry.names(), default_registry().names() | {"refusing"})
        # not in plugin.cfg and no declared place: at the end of the chain
        self.assertEqual(registry.order()[-1], "refusing")


class StartServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_serves_a_plugin_that_is_not_installed(self):
        server = yield start_server(". {\n    refusing\n}\n",
                                    plugins={"refusing": refusing_setup})
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("example.org", "A", proto=proto)
            self.assertEqual(reply.rcode(), dns.rcode.REFUSED)
        [plugin] = server.configuration.blocks[0].plugins
        self.assertEqual(len(plugin.requests), 2)

    @defer.inlineCallbacks
    def test_installed_plugins_by_default(self):
        server = yield start_server(". {\n    whoami\n}\n")
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "A")
        self.assertEqual(reply.additional[0][0].address, "127.0.0.1")

    @defer.inlineCallbacks
    def test_a_failed_start_closes_the_listeners(self):
        """(trial's dirty-reactor check fails the test if a port is left open)"""
        with self.assertRaises(RuntimeError):
            yield start_server(". {\n    failing\n}\n", plugins={"failing": failing_setup})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)  # the service logs it
