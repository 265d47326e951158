"""The unit helpers (``twisted_dns.testing.unit``): a setup run as the server runs it."""

from __future__ import annotations

from typing import Any

import dns.rcode
from twisted.internet import task
from twisted.trial import unittest

from twisted_dns.config import Controller
from twisted_dns.errors import ConfigError
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.plugins.whoami.setup import setup as whoami_setup
from twisted_dns.testing import (
    CaptureWriter,
    NextPlugin,
    configure,
    controller,
    make_request,
    reply_of,
)


class Ticker:
    """A chain link with a timer on ``c.reactor``, started and stopped by the hooks."""

    def __init__(self, period: float, clock: Any) -> None:
        self.period = period
        self.next: Any = None
        self.ticks = 0
        self.loop = task.LoopingCall(self.tick)
        self.loop.clock = clock

    def tick(self) -> None:
        self.ticks += 1

    def start(self) -> None:
        self.loop.start(self.period, now=False)

    def stop(self) -> None:
        self.loop.stop()

    def link(self, next_plugin: Any) -> Ticker:
        self.next = next_plugin
        return self

    def Name(self) -> str:
        return "ticker"

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        return next_or_failure(self.Name(), self.next, request, writer)


def ticker_setup(c: Controller) -> None:
    """``ticker SECONDS``: counts the periods; the blocks share the list of their setups."""
    c.next()
    [seconds] = c.remaining_args()
    c.shared("setups", list).append(c.zones)
    ticker = Ticker(float(seconds), c.reactor)
    c.on_startup(ticker.start)
    c.on_shutdown(ticker.stop)
    c.add_plugin(ticker.link)


class ConfigureTests(unittest.TestCase):
    def test_timers_fire_only_when_the_clock_advances(self) -> None:
        configured = configure(ticker_setup, "ticker", ". {\n    ticker 5\n}\n")
        self.assertIsInstance(configured.reactor, task.Clock)
        ticker = configured.chain
        self.successResultOf(configured.startup())
        self.assertEqual(ticker.ticks, 0)
        configured.reactor.advance(4.9)
        self.assertEqual(ticker.ticks, 0)
        configured.reactor.advance(0.1)
        self.assertEqual(ticker.ticks, 1)
        configured.reactor.pump([5] * 3)
        self.assertEqual(ticker.ticks, 4)
        self.successResultOf(configured.shutdown())
        configured.reactor.advance(60)
        self.assertEqual(ticker.ticks, 4)
        self.assertEqual(configured.reactor.getDelayedCalls(), [])

    def test_the_given_reactor(self) -> None:
        clock = task.Clock()
        self.assertIs(configure(ticker_setup, "ticker", ". {\n ticker 1\n}\n",
                                reactor=clock).chain.loop.clock, clock)

    def test_every_block_that_uses_it_one_configuration(self) -> None:
        configured = configure(ticker_setup, "ticker",
                               "example.org example.net:1053 {\n    ticker 1\n}\n"
                               "example.com {\n    whoami\n}\n"
                               "Example.EDU {\n    ticker 2\n}\n")
        blocks = configured.configuration.blocks
        self.assertEqual([block.zones for block in blocks],
                         [["example.org.", "example.net."], ["example.com."], ["example.edu."]])
        self.assertIs(configured.block, blocks[0])
        self.assertEqual(configured.configuration.shared["setups"],
                         [["example.org.", "example.net."], ["example.edu."]])
        self.assertEqual(blocks[1].plugins, [])  # whoami's setup is not the one run
        self.assertEqual(len(configured.configuration.startup_hooks), 2)
        self.assertEqual((blocks[0].line, blocks[2].line), (1, 7))

    def test_root_and_filename(self) -> None:
        configured = configure(ticker_setup, "ticker", ". {\n ticker 1\n}\n", root="/srv/dns",
                               filename="README.md")
        self.assertEqual((configured.block.root, configured.block.file), ("/srv/dns", "README.md"))

    def test_next_plugin_ends_the_chain(self) -> None:
        following = NextPlugin(dns.rcode.NXDOMAIN)
        configured = configure(ticker_setup, "ticker", ". {\n ticker 1\n}\n",
                               next_plugin=following)
        self.assertEqual([plugin.Name() for plugin in configured.plugins], ["ticker", "next"])
        self.assertIs(configured.plugin("next"), following)
        request = make_request("example.org")
        self.assertEqual(configured.chain.ServeDNS(request, CaptureWriter(request)),
                         dns.rcode.NXDOMAIN)
        self.assertEqual((following.requests, request.plugin), ([request], "next"))

    def test_without_next_plugin_nothing_follows(self) -> None:
        configured = configure(whoami_setup, "whoami", ". {\n    whoami\n}\n")
        self.assertEqual([plugin.Name() for plugin in configured.plugins], ["whoami"])
        request = make_request("example.org", "A")
        writer = CaptureWriter(request)
        self.assertEqual(configured.chain.ServeDNS(request, writer), dns.rcode.NOERROR)
        self.assertEqual(reply_of(writer).additional[0][0].address, "127.0.0.1")

    def test_unknown_directive_at_file_line(self) -> None:
        """Parsed with the installed directives: a misspelt one is an error, as in the
        server; the directive under test need not be installed."""
        exc = self.assertRaises(ConfigError, configure, ticker_setup, "ticker",
                                ". {\n    ticker 1\n    whoamii\n}\n", filename="README.md")
        self.assertEqual(str(exc), "README.md:3: unknown directive 'whoamii'")

    def test_directive_not_used(self) -> None:
        exc = self.assertRaises(ValueError, configure, ticker_setup, "ticker",
                                ". {\n    whoami\n}\n")
        self.assertEqual(str(exc), "no server block of the Corefile uses 'ticker'")

    def test_startup_fails_with_the_hook_failure(self) -> None:
        def setup(c: Controller) -> None:
            c.next()
            c.on_startup(lambda: None)
            c.on_startup(lambda: 1 / 0)

        configured = configure(setup, "broken", ". {\n    broken\n}\n")
        self.failureResultOf(configured.startup(), ZeroDivisionError)

    def test_controller_for_a_parse_function(self) -> None:
        c = controller("ticker", "a.example {\n    ticker 1 2\n}\nb.example {\n ticker 3\n}\n")
        self.assertEqual(c.zones, ["a.example."])
        self.assertTrue(c.next())
        self.assertEqual(c.remaining_args(), ["1", "2"])
        self.assertFalse(c.next())


class RequestTests(unittest.TestCase):
    def test_request_as_the_server_builds_it(self) -> None:
        request = make_request("Example.ORG", "TXT", proto="tcp", client=("192.0.2.7", 5353))
        self.assertEqual((request.qname, request.proto, request.client_host),
                         ("Example.ORG.", "tcp", "192.0.2.7"))

    def test_reply_of_wants_exactly_one_reply(self) -> None:
        request = make_request("example.org")
        self.assertRaises(AssertionError, reply_of, CaptureWriter(request))
