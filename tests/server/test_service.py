"""The service and its reloads, in process on loopback: what changes, what stays, what fails."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
from typing import Any

import dns.message
import dns.rcode
import dns.rrset
from twisted.internet import defer, reactor, task
from twisted.logger import globalLogPublisher
from twisted.trial import unittest
from twisted.web.client import Agent, readBody

from twisted_dns.config import Source
from twisted_dns.config import load as load_configuration
from twisted_dns.config import stats as reload_stats
from twisted_dns.errors import ConfigError
from twisted_dns.pkg import sharedports
from twisted_dns.registry import GROUP, Registry
from twisted_dns.server.service import DNSService
from twisted_dns.testing import RunningServer, default_registry, free_port


@defer.inlineCallbacks
def get(port: int, path: str = "/health"):
    """(status, body) of one HTTP GET to 127.0.0.1:port, on a new connection."""
    response = yield Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}{path}".encode())
    return response.code, (yield readBody(response))


class LogCapture:
    """The events logged while it is attached (``namespace``, ``level``, formatted text)."""

    def __init__(self, test: unittest.TestCase) -> None:
        self.events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(self.events.append)
        test.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("log_namespace") == "server"
                and getattr(e.get("log_level"), "name", "") == "error"]


class ServiceTestCase(unittest.TestCase):
    """Starts a DNSService whose source is a Corefile in a temp dir (ports default to 0)."""

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.path = os.path.join(self.directory, "Corefile")
        self.stats = (reload_stats.succeeded, reload_stats.failed)

    def write(self, text: str) -> None:
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write(text)

    def counted(self) -> tuple[int, int]:
        """(succeeded, failed) reloads since setUp."""
        return (reload_stats.succeeded - self.stats[0], reload_stats.failed - self.stats[1])

    @defer.inlineCallbacks
    def serve(self, text: str):
        self.write(text)
        source = Source(default_registry(), path=self.path, default_port=0)
        service = DNSService(source.load(), source=source)
        service.startService()
        self.addCleanup(service.stopService)
        yield service.started
        return RunningServer(service)


class ReloadTests(ServiceTestCase):
    @defer.inlineCallbacks
    def test_new_zones_on_the_same_socket(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        listener = server.service.listeners[("dns", "", 0)]
        port, udp = server.port, listener._udp_port
        self.assertEqual((yield server.query("b.example")).rcode(), dns.rcode.REFUSED)
        self.write("b.example {\n    whoami\n}\n")
        self.assertTrue((yield server.service.reload()))
        self.assertEqual((yield server.query("b.example")).rcode(), dns.rcode.NOERROR)
        self.assertEqual((yield server.query("a.example", proto="tcp")).rcode(),
                         dns.rcode.REFUSED)
        self.assertIs(server.service.listeners[("dns", "", 0)], listener)
        self.assertIs(listener._udp_port, udp)  # never closed and reopened
        self.assertEqual(server.port, port)
        self.assertEqual(self.counted(), (1, 0))

    @defer.inlineCallbacks
    def test_explicit_configuration(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        new = load_configuration("c.example {\n    whoami\n}\n", "other", default_registry(),
                                 default_port=0)
        self.assertTrue((yield server.service.reload(new)))
        self.assertIs(server.service.configuration, new)
        # the service told the new configuration where it listens (the loop plugin asks)
        self.assertEqual(new.bound_port(("dns", "", 0)), server.port)
        self.assertEqual((yield server.query("c.example")).rcode(), dns.rcode.NOERROR)

    @defer.inlineCallbacks
    def test_broken_corefile_keeps_serving(self):
        logged = LogCapture(self)
        server = yield self.serve("a.example {\n    whoami\n}\n")
        old = server.service.configuration
        self.write("b.example {\n    whoami\n    nosuchplugin\n}\n")
        self.assertFalse((yield server.service.reload()))
        self.assertIs(server.service.configuration, old)
        self.assertEqual((yield server.query("a.example")).rcode(), dns.rcode.NOERROR)
        self.assertEqual(self.counted(), (0, 1))
        [error] = logged.errors()
        self.assertEqual(error["error"], f"{self.path}:3: unknown directive 'nosuchplugin'")
        self.assertNotIn("\n", error["error"])

    @defer.inlineCallbacks
    def test_unreadable_corefile_keeps_serving(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        os.remove(self.path)
        self.assertFalse((yield server.service.reload()))
        self.assertEqual((yield server.query("a.example")).rcode(), dns.rcode.NOERROR)
        self.assertEqual(self.counted(), (0, 1))

    @defer.inlineCallbacks
    def test_listeners_added_and_removed(self):
        kept, added = free_port(), free_port()
        server = yield self.serve(f"a.example:{kept} {{\n    whoami\n}}\n"
                                  f"x.example:0 {{\n    whoami\n}}\n")
        removed_port = server.service.listeners[("dns", "", 0)].port
        self.write(f"a.example:{kept} {{\n    whoami\n}}\n"
                   f"b.example:{added} {{\n    whoami\n}}\n")
        self.assertTrue((yield server.service.reload()))
        self.assertEqual(set(server.service.listeners),
                         {("dns", "", kept), ("dns", "", added)})
        reply = yield server.query("b.example", port=added)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        reply = yield server.query("a.example", port=kept, proto="tcp")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        # the removed listener's port is free again
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", removed_port))

    @defer.inlineCallbacks
    def test_port_in_use_keeps_the_old_configuration(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        old = server.service.configuration
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        self.write(f"b.example:{busy} {{\n    bind 127.0.0.1\n    whoami\n}}\n"
                   "a.example {\n    whoami\n}\n")
        self.assertFalse((yield server.service.reload()))
        self.assertIs(server.service.configuration, old)
        self.assertEqual(list(server.service.listeners), [("dns", "", 0)])
        self.assertEqual((yield server.query("a.example")).rcode(), dns.rcode.NOERROR)
        self.assertEqual(self.counted(), (0, 1))

    @defer.inlineCallbacks
    def test_failed_start_closes_what_it_opened(self):
        """A listener opened for the new configuration closes when a later step fails."""
        added = free_port()
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        server = yield self.serve("a.example {\n    whoami\n}\n")
        self.write(f"b.example:{added} {{\n    health 127.0.0.1:{busy}\n    whoami\n}}\n")
        self.assertFalse((yield server.service.reload()))
        self.assertEqual(list(server.service.listeners), [("dns", "", 0)])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", added))  # closed again

    @defer.inlineCallbacks
    def test_old_shutdown_hooks_run_after_the_swap(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        old = server.service.configuration
        seen = []
        old.shutdown_hooks.append(lambda: seen.append(server.service.configuration is old))
        self.write("b.example {\n    whoami\n}\n")
        yield server.service.reload()
        self.assertEqual(seen, [False])

    @defer.inlineCallbacks
    def test_reloads_one_at_a_time(self):
        server = yield self.serve("a.example {\n    whoami\n}\n")
        self.write("b.example {\n    whoami\n}\n")
        results = yield defer.gatherResults([server.service.reload() for _ in range(3)])
        self.assertEqual(results, [True, True, True])
        self.assertEqual(self.counted(), (3, 0))

    @defer.inlineCallbacks
    def test_without_source(self):
        setup = load_configuration(". {\n    whoami\n}\n", "Corefile", default_registry(),
                                   default_port=0)
        service = DNSService(setup)
        service.startService()
        self.addCleanup(service.stopService)
        self.assertFalse((yield service.reload()))
        self.assertEqual(self.counted(), (0, 1))

    @defer.inlineCallbacks
    def test_not_running(self):
        self.write("a.example {\n    whoami\n}\n")
        source = Source(default_registry(), path=self.path, default_port=0)
        service = DNSService(source.load(), source=source)
        self.assertFalse((yield service.reload()))
        self.assertEqual(self.counted(), (0, 0))


class EndpointHandoverTests(ServiceTestCase):
    """Health and ready stay open across reloads: no refused connection, same socket."""

    @defer.inlineCallbacks
    def test_health_and_ready_keep_their_ports(self):
        health, ready = free_port(), free_port()
        text = (f"a.example {{\n    health 127.0.0.1:{health}\n    ready 127.0.0.1:{ready}\n"
                f"    whoami\n}}\n")
        server = yield self.serve(text)
        before = server.configuration.shared["health"][f"127.0.0.1:{health}"]
        port_object = before.endpoint.listening._shared.port
        self.assertEqual((yield get(health)), (200, b"OK"))
        for zone in ("b.example", "c.example", "a.example"):
            self.write(text.replace("a.example", zone))
            self.assertTrue((yield server.service.reload()))
            self.assertEqual((yield get(health)), (200, b"OK"))
            self.assertEqual((yield get(ready, "/ready")), (200, b"OK"))
        after = server.service.configuration.shared["health"][f"127.0.0.1:{health}"]
        self.assertIsNot(after, before)
        self.assertIs(after.endpoint.listening._shared.port, port_object)
        yield server.stop()
        self.assertNotIn(after.endpoint.key, sharedports.held())

    @defer.inlineCallbacks
    def test_moving_health_to_a_busy_port_keeps_the_old_endpoint(self):
        """CoreDNS's documented failure: here the old endpoint survives the failed reload."""
        health = free_port()
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        server = yield self.serve(f". {{\n    health 127.0.0.1:{health}\n    whoami\n}}\n")
        self.write(f". {{\n    health 127.0.0.1:{busy}\n    whoami\n}}\n")
        self.assertFalse((yield server.service.reload()))
        self.assertEqual((yield get(health)), (200, b"OK"))

    @defer.inlineCallbacks
    def test_reload_does_not_lameduck(self):
        health = free_port()
        server = yield self.serve(f". {{\n    health 127.0.0.1:{health} {{\n"
                                  "        lameduck 1h\n    }\n    whoami\n}\n")
        self.write(f". {{\n    health 127.0.0.1:{health}\n    whoami\n}}\n")
        self.assertTrue((yield server.service.reload()))  # did not wait for an hour
        self.assertEqual((yield get(health)), (200, b"OK"))

    @defer.inlineCallbacks
    def test_removed_endpoint_closes(self):
        health = free_port()
        server = yield self.serve(f". {{\n    health 127.0.0.1:{health}\n    whoami\n}}\n")
        self.write(". {\n    whoami\n}\n")
        self.assertTrue((yield server.service.reload()))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", health))


class StopTests(ServiceTestCase):
    @defer.inlineCallbacks
    def test_lameduck_then_listeners_then_hooks(self):
        clock = task.Clock()
        health = free_port()
        server = yield self.serve(f". {{\n    health 127.0.0.1:{health} {{\n"
                                  "        lameduck 5s\n    }\n    whoami\n}\n")
        server.configuration.shared["health"][f"127.0.0.1:{health}"].clock = clock
        order = []
        server.configuration.shutdown_hooks.insert(
            0, lambda: order.append(("hooks", server.service.listeners[("dns", "", 0)]
                                     ._udp_port is None)))
        stopping = server.stop()
        self.assertEqual((yield get(health)), (200, b"OK"))  # alive through lame duck
        self.assertEqual((yield server.query("example.org")).rcode(), dns.rcode.NOERROR)
        self.assertNoResult(stopping)
        self.assertEqual(order, [])
        clock.advance(5)
        yield stopping
        self.assertEqual(order, [("hooks", True)])  # after the listeners closed

    @defer.inlineCallbacks
    def test_stop_twice(self):
        server = yield self.serve(". {\n    whoami\n}\n")
        yield defer.gatherResults([server.stop(), server.stop()])
        self.assertFalse(server.service.running)

    @defer.inlineCallbacks
    def test_no_reload_after_stop(self):
        server = yield self.serve(". {\n    whoami\n}\n")
        yield server.stop()
        self.assertFalse((yield server.service.reload()))


#: the queries the ``hold`` test plugin holds: (request, writer, Deferred), and who waits
HELD: list[tuple[Any, Any, defer.Deferred]] = []
ARRIVED: list[defer.Deferred] = []


class Hold:
    """Holds every query until the test answers it."""

    def Name(self) -> str:
        return "hold"

    def ServeDNS(self, request: Any, writer: Any) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        HELD.append((request, writer, d))
        for waiter in ARRIVED:  # after the handler queued the query, not from inside
            reactor.callLater(0, waiter.callback, None)
        ARRIVED.clear()
        return d


def hold_setup(c: Any) -> None:
    while c.next():
        pass
    c.add_plugin(lambda _next: Hold())


class ReloadDrainTests(ServiceTestCase):
    @defer.inlineCallbacks
    def test_removed_listener_answers_its_queries_before_closing(self):
        self.addCleanup(HELD.clear)
        entry_points = [*importlib.metadata.entry_points(group=GROUP),
                        importlib.metadata.EntryPoint("hold", f"{__name__}:hold_setup", GROUP)]
        registry = Registry.discover(entry_points)
        kept = free_port()
        self.write(f"a.example:{kept} {{\n    whoami\n}}\nx.example:0 {{\n    hold\n}}\n")
        source = Source(registry, path=self.path, default_port=0)
        service = DNSService(source.load(), source=source)
        service.startService()
        self.addCleanup(service.stopService)
        yield service.started
        server = RunningServer(service)
        removed = service.listeners[("dns", "", 0)]
        arrived: defer.Deferred = defer.Deferred()
        ARRIVED.append(arrived)
        asked = server.query("x.example", "TXT", port=removed.port)
        yield arrived
        self.write(f"a.example:{kept} {{\n    whoami\n}}\n")
        reloading = service.reload()
        self.assertEqual(set(service.listeners), {("dns", "", kept)})  # swapped already
        self.assertEqual((yield server.query("a.example", port=kept)).rcode(),
                         dns.rcode.NOERROR)
        self.assertNoResult(reloading)  # the removed listener drains
        [(request, writer, d)] = HELD
        reply = dns.message.make_response(request.message())
        reply.answer.append(dns.rrset.from_text(request.qname, 0, "IN", "TXT", "held"))
        writer.write(reply)
        d.callback(dns.rcode.NOERROR)
        self.assertEqual((yield asked).answer, reply.answer)
        self.assertTrue((yield reloading))
        self.assertFalse(removed.running)


class SignalTests(ServiceTestCase):
    @defer.inlineCallbacks
    def test_sigusr1_reloads_and_chains_the_previous_handler(self):
        """twistd's log rotation (a handler installed before) still runs on SIGUSR1."""
        rotated = []

        def previous(signum: int, frame: Any) -> None:
            rotated.append(signum)

        original = signal.signal(signal.SIGUSR1, previous)
        self.addCleanup(signal.signal, signal.SIGUSR1, original)
        self.write("a.example {\n    whoami\n}\n")
        source = Source(default_registry(), path=self.path, default_port=0)
        service = DNSService(source.load(), source=source, reload_signal=True)
        service.startService()
        self.addCleanup(service.stopService)
        self.write("b.example {\n    whoami\n}\n")
        replaced = defer.Deferred()
        service.configuration.shutdown_hooks.append(lambda: replaced.callback(None))
        os.kill(os.getpid(), signal.SIGUSR1)
        yield replaced  # the old configuration was replaced
        self.assertEqual(self.counted(), (1, 0))
        self.assertEqual(rotated, [signal.SIGUSR1])
        yield service.stopService()
        self.assertIs(signal.getsignal(signal.SIGUSR1), previous)


class SourceTests(unittest.TestCase):
    def test_missing_file(self) -> None:
        source = Source(default_registry(), path="/nonexistent/Corefile")
        exc = self.assertRaises(ConfigError, source.load)
        self.assertEqual(str(exc), "/nonexistent/Corefile: cannot read Corefile: "
                                   "No such file or directory")

    def test_text(self) -> None:
        source = Source(default_registry(), text=". {\n    whoami\n}\n",
                        filename="<default>", default_port=0)
        self.assertEqual(source.load().filename, "<default>")
