"""Reload and shutdown as an operator sees them: twistd processes, signals, a query load."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import dns.rcode
from twisted.internet import defer, protocol, reactor
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from tests.integration.twistd import Twistd, ask, http_status
from twisted_dns.config import Source
from twisted_dns.server.service import DNSService
from twisted_dns.testing import RunningServer, default_registry, free_port

LOADGEN = os.path.join(os.path.dirname(__file__), "loadgen.py")


class SignalTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_sigusr1_reloads(self):
        port = free_port()
        server = Twistd(self, f"a.example:{port} {{\n    whoami\n}}\n")
        yield server.until(lambda: ask(port, "a.example") == dns.rcode.NOERROR, 30)
        self.assertEqual((yield deferToThread(ask, port, "b.example")), dns.rcode.REFUSED)
        server.write(f"b.example:{port} {{\n    whoami\n}}\n")
        server.signal(signal.SIGUSR1)
        yield server.until(lambda: ask(port, "b.example") == dns.rcode.NOERROR, 10)
        self.assertEqual((yield deferToThread(ask, port, "a.example")), dns.rcode.REFUSED)
        # a broken Corefile: logged with file:line, the running one stays
        server.write(f"c.example:{port} {{\n    whoami\n    nosuch\n}}\n")
        server.signal(signal.SIGUSR1)
        failed = f"reload failed, the previous configuration keeps serving: {server.path}:3: "
        yield server.until(lambda: failed in server.log(), 10)
        self.assertEqual((yield deferToThread(ask, port, "b.example")), dns.rcode.NOERROR)
        server.signal(signal.SIGTERM)
        yield server.exited()
        self.assertIn("SIGUSR1 received: reloading", server.log())

    @defer.inlineCallbacks
    def test_sigterm_lameduck(self):
        """Lame duck: DNS and /health (200) still answer for 3s; then the process exits."""
        port, health = free_port(), free_port()
        server = Twistd(self, f".:{port} {{\n    health 127.0.0.1:{health} {{\n"
                              "        lameduck 3s\n    }\n    whoami\n}\n")
        self.assertEqual((yield server.until(lambda: http_status(health), 30)), 200)
        server.signal(signal.SIGTERM)
        yield server.until(lambda: "Going into lameduck mode for 3s" in server.log(), 3)
        self.assertEqual((yield deferToThread(http_status, health)), 200)
        self.assertEqual((yield deferToThread(ask, port, "example.org", timeout=1)),
                         dns.rcode.NOERROR)
        self.assertIsNone(server.process.poll())  # still in its lame duck period
        yield server.exited()
        self.assertIsNone((yield deferToThread(ask, port, "example.org", timeout=0.2)))


class _LoadGenerator(protocol.ProcessProtocol):
    """Runs loadgen.py; calls ``on_progress`` at each progress line; ``done`` gets totals."""

    def __init__(self, on_progress: Callable[[], Any]) -> None:
        self.on_progress = on_progress
        self.done: defer.Deferred = defer.Deferred()
        self._buffer = b""
        self._totals: dict[str, int] | None = None
        self.errors = b""

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line.startswith(b"progress"):
                self.on_progress()
            elif line.strip():
                self._totals = json.loads(line)

    def errReceived(self, data: bytes) -> None:
        self.errors += data

    def processEnded(self, reason: Any) -> None:
        self.done.callback(self._totals)


class LoadTests(unittest.TestCase):
    """3000 queries from another process, each awaited, through reloads: none lost."""

    COUNT = 3000
    EVERY = 300

    @defer.inlineCallbacks
    def test_no_query_lost_while_reloading(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "Corefile")
        configurations = [". {\n    whoami\n}\n",
                          "example.org {\n    whoami\n}\n. {\n    chaos\n}\n"]
        with open(path, "w") as handle:
            handle.write(configurations[0])
        source = Source(default_registry(), path=path, default_port=0)
        service = DNSService(source.load(), source=source)
        service.startService()
        self.addCleanup(service.stopService)
        yield service.started
        port = RunningServer(service).port
        reloads: list[defer.Deferred] = []

        def reload() -> None:
            with open(path, "w") as handle:
                handle.write(configurations[len(reloads) % 2 - 1])
            reloads.append(service.reload())

        generator = _LoadGenerator(reload)
        reactor.spawnProcess(generator, sys.executable,
                             [sys.executable, LOADGEN, "127.0.0.1", str(port), str(self.COUNT),
                              str(self.EVERY)], env=os.environ)
        totals = yield generator.done
        self.assertEqual(totals, {"NOERROR": self.COUNT}, generator.errors.decode())
        self.assertEqual((yield defer.gatherResults(reloads)), [True] * len(reloads))
        self.assertEqual(len(reloads), self.COUNT // self.EVERY)
