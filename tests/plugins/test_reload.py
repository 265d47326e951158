"""The *reload* plugin: its directive, the hash check on a Clock, reloads of a real server."""

from __future__ import annotations

import os
from typing import Any

import dns.rcode
from twisted.internet import defer, task
from twisted.trial import unittest

from twisted_dns.config import Source
from twisted_dns.config import load as load_configuration
from twisted_dns.config import stats as reload_stats
from twisted_dns.errors import ConfigError
from twisted_dns.pkg.durations import SECOND, Duration, parse_duration
from twisted_dns.plugins.reload.reload import SHARED_KEY, Watcher, digest, jittered
from twisted_dns.plugins.reload.setup import parse, setup
from twisted_dns.server.service import DNSService
from twisted_dns.testing import (
    ClockedReactor,
    RunningServer,
    configure,
    controller,
    corefile_examples,
    default_registry,
    eventually,
    plugin_readme,
)


def write(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


class ParseTests(unittest.TestCase):
    """CoreDNS's setup_test.go cases, with its messages."""

    def parsed(self, corefile: str) -> tuple[Duration, Duration]:
        return parse(controller("reload", corefile))

    def test_defaults(self) -> None:
        self.assertEqual(self.parsed(". {\n reload\n}\n"), (30 * SECOND, 15 * SECOND))

    def test_jitter_is_at_most_half_the_interval(self) -> None:
        self.assertEqual(self.parsed(". {\n reload 10s\n}\n"), (10 * SECOND, 5 * SECOND))
        self.assertEqual(self.parsed(". {\n reload 1m 20s\n}\n"), (60 * SECOND, 20 * SECOND))

    def test_errors(self) -> None:
        cases = {
            "reload 1s": "Corefile:2: plugin/reload: interval value must be greater or equal "
                         "to 2s",
            "reload 10s 500ms": "Corefile:2: plugin/reload: jitter value must be greater or "
                                "equal to 1s",
            "reload ten": 'Corefile:2: plugin/reload: time: invalid duration "ten"',
            "reload 10s 5s 1s": "Corefile:2: wrong argument count or unexpected line ending "
                                "after '1s'",
            "reload\n reload": "Corefile:3: plugin/reload: this plugin can only be used once "
                               "per Server Block",
        }
        for line, message in cases.items():
            with self.subTest(line=line):
                exc = self.assertRaises(ConfigError, self.parsed, f". {{\n {line}\n}}\n")
                self.assertEqual(str(exc), message)

    def test_not_a_chain_link(self) -> None:
        self.assertEqual(configure(setup, "reload", ". {\n reload\n}\n").plugins, [])

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("reload"), setup)

    def test_jitter(self) -> None:
        interval, jitter = parse_duration("30s"), parse_duration("15s")
        self.assertEqual(jittered(interval, jitter, lambda: 0.0), parse_duration("22.5s"))
        self.assertEqual(jittered(interval, jitter, lambda: 0.5), interval)
        self.assertLess(jittered(interval, jitter, lambda: 0.9999), parse_duration("37.5s"))


class DigestTests(unittest.TestCase):
    def test_changes_with_content_and_with_an_imported_file(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        corefile = write(os.path.join(directory, "Corefile"), ". {\n import extra\n}\n")
        extra = write(os.path.join(directory, "extra"), "whoami\n")
        first = digest([corefile, extra])
        self.assertEqual(len(first), 128)
        self.assertEqual(digest([corefile, extra]), first)
        write(extra, "whoami\nlog\n")
        self.assertNotEqual(digest([corefile, extra]), first)

    def test_paths_count(self) -> None:
        """The same bytes moved between files are a different configuration."""
        directory = self.mktemp()
        os.makedirs(directory)
        a = write(os.path.join(directory, "a"), "x")
        b = write(os.path.join(directory, "b"), "")
        moved_a = digest([a, b])
        write(a, "")
        write(b, "x")
        self.assertNotEqual(digest([a, b]), moved_a)


class WatcherTests(unittest.TestCase):
    """The check on a task.Clock: a changed hash reloads, an unchanged one does not."""

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.corefile = write(os.path.join(directory, "Corefile"), ". {\n whoami\n}\n")
        self.clock = task.Clock()
        self.reloads: list[str] = []
        self.watcher = Watcher([self.corefile], parse_duration("2s"), self.clock,
                               lambda: self.reloads.append(self.watcher.version))
        self.watcher.start()
        self.addCleanup(self.watcher.stop)

    def test_unchanged_never_reloads(self) -> None:
        self.clock.pump([2.0] * 10)
        self.assertEqual(self.reloads, [])

    def test_change_reloads_at_the_next_tick_once(self) -> None:
        loaded = self.watcher.version
        self.clock.advance(2)
        write(self.corefile, ". {\n whoami\n log\n}\n")
        self.clock.advance(1.9)
        self.assertEqual(self.reloads, [])
        self.clock.advance(0.1)
        self.assertEqual(self.reloads, [digest([self.corefile])])
        self.assertNotEqual(self.reloads[0], loaded)
        self.clock.pump([2.0] * 5)  # the same (maybe broken) content is not tried again
        self.assertEqual(len(self.reloads), 1)

    def test_unreadable_file_is_skipped(self) -> None:
        os.remove(self.corefile)
        self.clock.advance(2)
        self.assertEqual(self.reloads, [])
        write(self.corefile, ". {\n chaos\n}\n")
        self.clock.advance(2)
        self.assertEqual(len(self.reloads), 1)

    def test_stop(self) -> None:
        self.watcher.stop()
        write(self.corefile, "changed\n")
        self.clock.pump([2.0] * 3)
        self.assertEqual(self.reloads, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ServerTests(unittest.TestCase):
    """*reload* in a real server: its watcher reloads the service, which replaces it."""

    @defer.inlineCallbacks
    def serve(self, text: str, reactor: Any = None):
        directory = self.mktemp()
        os.makedirs(directory)
        self.path = write(os.path.join(directory, "Corefile"), text)
        self.source = Source(default_registry(), path=self.path, default_port=0,
                             reactor=reactor)
        service = DNSService(self.source.load(), source=self.source)
        service.startService()
        self.addCleanup(service.stopService)
        yield service.started
        return RunningServer(service)

    @defer.inlineCallbacks
    def test_change_reloads_the_service(self):
        server = yield self.serve("a.example {\n    reload 2s 1s\n    whoami\n}\n")
        first = server.configuration.shared[SHARED_KEY]
        write(self.path, "b.example {\n    reload 2s 1s\n    whoami\n}\n")
        reloaded = defer.Deferred()
        original = first.reload  # the Controller's reload(): asks the service
        first.reload = lambda: original().addCallback(reloaded.callback)
        first.check()  # the tick, without waiting for the real timer
        self.assertTrue((yield reloaded))
        reply = yield server.query("b.example", "A")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        second = server.service.configuration.shared[SHARED_KEY]
        self.assertIsNot(second, first)
        self.assertFalse(first._poll.running)  # the old configuration's watcher stopped
        self.assertTrue(second._poll.running)

    @defer.inlineCallbacks
    def test_timer(self):
        """End to end on the reactor's clock: the new zone answers after one period."""
        reactor = ClockedReactor()
        server = yield self.serve("a.example {\n    reload 2s 1s\n    whoami\n}\n", reactor)
        write(self.path, "b.example {\n    reload 2s 1s\n    whoami\n}\n")
        reactor.advance(1.4)  # the first check comes 1.5s to 2.5s after the start
        self.assertEqual((yield server.query("b.example", "A")).rcode(), dns.rcode.REFUSED)
        reactor.advance(1.1)
        yield eventually(lambda: server.configuration.blocks[0].zones == ["b.example."])
        self.assertEqual((yield server.query("b.example", "A")).rcode(), dns.rcode.NOERROR)

    @defer.inlineCallbacks
    def test_metrics(self):
        from twisted_dns.plugins.prometheus import metrics

        exported = metrics.fresh()
        server = yield self.serve("a.example {\n    reload\n    whoami\n}\n")
        write(self.path, "a.example {\n    reload\n    nosuch\n}\n")
        self.assertFalse((yield server.service.reload()))
        text = exported.exposition().decode()
        self.assertIn(f"coredns_reload_failed_total {float(reload_stats.failed)}\n", text)
        broken = digest([self.path])
        self.assertNotIn(broken, text)  # the running configuration is still the first one
        running = server.configuration.shared[SHARED_KEY].version
        self.assertIn(f'coredns_reload_version_info{{hash="sha512",value="{running}"}} 1.0',
                      text)

    @defer.inlineCallbacks
    def test_without_reload_no_watcher(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        self.assertNotIn(SHARED_KEY, server.configuration.shared)


class ReadmeTests(unittest.TestCase):
    def test_examples(self) -> None:
        examples = corefile_examples(plugin_readme("reload"))
        self.assertGreaterEqual(len(examples), 3)
        registry = default_registry()
        for example in examples:
            with self.subTest(example=example):
                configuration = load_configuration(example, "README.md", registry, default_port=0)
                self.assertIn(SHARED_KEY, configuration.shared)
