"""The *loop* plugin: setup, counting the probe, the prober on a fake clock, real loops."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
from twisted.internet import defer, error, reactor, task, threads
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.config import load as load_configuration
from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.plugins.loop import process
from twisted_dns.plugins.loop.loop import Loop, probe_name
from twisted_dns.plugins.loop.probe import PROBE_PERIOD, Prober, udp_exchange
from twisted_dns.plugins.loop.setup import setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    NextPlugin,
    configure,
    corefile_examples,
    default_registry,
    eventually,
    free_port,
    make_request,
    plugin_readme,
    start_server,
)

QNAME = "1234.5678."


def loop_events(test: unittest.TestCase) -> list[dict]:
    events: list[dict] = []

    def observer(event: dict) -> None:
        if event.get("log_namespace") == "loop":
            events.append(event)

    globalLogPublisher.addObserver(observer)
    test.addCleanup(globalLogPublisher.removeObserver, observer)
    return events


class SetupTests(unittest.TestCase):
    def test_plain(self) -> None:
        config = configure(setup, "loop", ". {\n    loop\n}\n")
        self.assertIsInstance(config.chain, Loop)
        self.assertEqual(config.chain.zone, ".")
        self.assertRegex(config.chain.qname, r"^\d+\.\d+\.$")
        self.assertFalse(config.chain.disabled)

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("loop"), setup)

    def test_zone_and_hooks(self) -> None:
        """The probe name is in the block's first zone; start and stop hooks are registered."""
        loaded = load_configuration("Example.ORG example.net {\n    loop\n    whoami\n}\n",
                                    "Corefile", default_registry(), default_port=0,
                                    reactor=task.Clock())
        loop = loaded.blocks[0].plugin("loop")
        self.assertEqual(loop.zone, "example.org.")
        self.assertRegex(loop.qname, r"^\d+\.\d+\.example\.org\.$")
        self.assertEqual(loop.next.Name(), "whoami")
        self.assertEqual((len(loaded.startup_hooks), len(loaded.shutdown_hooks)), (1, 1))

    def test_errors(self) -> None:
        cases = {
            ". {\n    loop 1\n}\n":
                "Corefile:2: wrong argument count or unexpected line ending after '1'",
            ". {\n    loop {\n        fast\n    }\n}\n": "Corefile:3: unknown property 'fast'",
            ". {\n    loop\n    loop\n}\n":
                "Corefile:3: this plugin can only be used once per Server Block",
        }
        for corefile, message in cases.items():
            exc = self.assertRaises(ConfigError, configure, setup, "loop", corefile)
            self.assertEqual(str(exc), message)

    def test_probe_names_differ(self) -> None:
        self.assertNotEqual(probe_name("."), probe_name("."))
        self.assertRegex(probe_name("example.org."), r"^\d+\.\d+\.example\.org\.$")


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.next = NextPlugin(dns.rcode.NOERROR)
        self.fatal: list[str] = []
        self.loop = Loop(self.next, ".", QNAME, task.Clock(), self.fatal.append)
        self.loop.address = ":1053"

    def serve(self, name: str = QNAME, rdtype: str = "HINFO", **kwargs: Any) -> int:
        request = make_request(name, rdtype, **kwargs)
        return self.loop.ServeDNS(request, CaptureWriter(request))

    def test_third_sighting_is_fatal(self) -> None:
        self.assertEqual([self.serve(), self.serve()], [0, 0])
        self.assertEqual(len(self.next.requests), 2)
        self.assertEqual(self.fatal, [])
        self.assertEqual(self.serve(client=("127.0.0.1", 55953)), dns.rcode.SERVFAIL)
        self.assertEqual(self.fatal, [
            'Loop (127.0.0.1:55953 -> :1053) detected for zone ".", see '
            'https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO 1234.5678."'])
        # stopping: the probe goes no further, and the fatal action is not repeated
        self.assertEqual(self.serve(), dns.rcode.SERVFAIL)
        self.assertEqual((len(self.next.requests), len(self.fatal)), (2, 1))

    def test_ipv6_client_in_brackets(self) -> None:
        for _ in range(3):
            self.serve(client=("::1", 4000, 0, 0))
        self.assertIn("Loop ([::1]:4000 -> :1053)", self.fatal[0])

    def test_other_queries_not_counted(self) -> None:
        for _ in range(3):
            self.serve(rdtype="A")
            self.serve(name="1.2.", rdtype="HINFO")
        self.assertEqual((self.loop.seen, self.fatal, len(self.next.requests)), (0, [], 6))

    def test_name_case_ignored(self) -> None:
        self.loop = Loop(self.next, "example.org.", "1.2.example.org.", None, self.fatal.append)
        self.serve("1.2.EXAMPLE.org", "HINFO")
        self.assertEqual(self.loop.seen, 1)

    def test_reset_and_disabled(self) -> None:
        self.serve()
        self.serve()
        self.loop.reset()
        self.serve()
        self.assertEqual(self.fatal, [])
        self.loop.disable()
        for _ in range(3):
            self.assertEqual(self.serve(), 0)
        self.assertEqual((self.loop.seen, self.fatal), (1, []))

    def test_default_fatal_logs_and_exits(self) -> None:
        events = loop_events(self)
        exits: list[tuple[Any, int]] = []
        self.patch(process, "exit_process", lambda r, status: exits.append((r, status)))
        clock = task.Clock()
        loop = Loop(self.next, ".", QNAME, clock)
        loop.address = ":53"
        for _ in range(3):
            request = make_request(QNAME, "HINFO", client=("127.0.0.1", 1))
            loop.ServeDNS(request, CaptureWriter(request))
        self.assertEqual(exits, [(clock, 1)])
        self.assertEqual([(e["log_level"].name, formatEvent(e)) for e in events], [
            ("critical", 'plugin/loop: Loop (127.0.0.1:1 -> :53) detected for zone ".", see '
                         'https://coredns.io/plugins/loop#troubleshooting. Query: '
                         '"HINFO 1234.5678."')])


class ExitTests(unittest.TestCase):
    def test_stops_reactor_then_exits_with_status(self) -> None:
        registered: list[tuple] = []
        self.patch(process.atexit, "register", lambda *args: registered.append(args))

        class Reactor:
            stopped = 0

            def stop(self) -> None:
                self.stopped += 1

        fake = Reactor()
        process.exit_process(fake, 1)
        self.assertEqual((fake.stopped, registered), (1, [(process._exit, 1)]))


class FakeExchange:
    """Records probes; each returns a Deferred the test fires."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, dns.message.Message, defer.Deferred]] = []
        self.cancelled: list[defer.Deferred] = []

    def __call__(self, host: str, port: int, query: bytes) -> defer.Deferred:
        waiting: defer.Deferred = defer.Deferred(self.cancelled.append)
        self.sent.append((host, port, dns.message.from_wire(query), waiting))
        return waiting


class ProberTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.loop = Loop(NextPlugin(), ".", QNAME, self.clock, lambda message: None)
        self.exchange = FakeExchange()
        self.targets = iter([("127.0.0.1", 1053, ":1053")] * 100)
        self.prober = Prober(self.loop, lambda: next(self.targets), self.clock, self.exchange)

    def test_reply_disables(self) -> None:
        self.prober.start()
        self.assertEqual(self.exchange.sent, [])  # first try on the next turn
        self.clock.advance(0)
        [(host, port, query, waiting)] = self.exchange.sent
        self.assertEqual((host, port, self.loop.address), ("127.0.0.1", 1053, ":1053"))
        self.assertEqual(query.question[0].to_text(), "1234.5678. IN HINFO")
        self.assertFalse(self.loop.disabled)
        waiting.callback(b"reply")
        self.assertTrue(self.loop.disabled)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_retries_each_second_until_the_deadline(self) -> None:
        self.prober.start()
        self.clock.advance(0)
        tries = 0
        while self.exchange.sent:
            self.loop.seen = 2
            *_, waiting = self.exchange.sent.pop()
            waiting.errback(Failure(TimeoutError("no reply")))
            tries += 1
            self.assertEqual(self.loop.seen, 0)  # forgotten with the failed probe
            self.assertFalse(self.loop.disabled)
            self.clock.advance(1)
        self.assertEqual(tries, PROBE_PERIOD)  # exchanges fail at once here: one a second
        self.assertTrue(self.loop.disabled)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_cancels(self) -> None:
        self.prober.start()
        self.clock.advance(0)
        *_, waiting = self.exchange.sent[0]
        self.prober.stop()
        self.assertEqual(self.exchange.cancelled, [waiting])
        self.assertFalse(self.loop.disabled)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.prober.stop()  # twice is harmless

    def test_stop_before_first_try(self) -> None:
        self.prober.start()
        self.prober.stop()
        self.assertEqual((self.clock.getDelayedCalls(), self.exchange.sent), ([], []))


@implementer(IPlugin)
class Bounce:
    """A test link that forwards every query to the listener it came in on: a loop."""

    def Name(self) -> str:
        return "bounce"

    def ServeDNS(self, request: Any, writer: Any) -> defer.Deferred:
        host = request.server_host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        d = udp_exchange(reactor, host, request.server_port, request.wire)

        def relay(data: bytes) -> int:
            writer.write(data)
            return data[3] & 0xF

        return d.addCallbacks(relay, lambda _failure: int(dns.rcode.SERVFAIL))


def bounce_setup(c: Any) -> None:
    while c.next():
        pass
    c.add_plugin(lambda _next: Bounce())




class ServerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.exits: list[int] = []
        self.exited: defer.Deferred = defer.Deferred()

        def exit_process(_reactor: Any, status: int) -> None:
            self.exits.append(status)
            if not self.exited.called:
                self.exited.callback(status)

        self.patch(process, "exit_process", exit_process)
        self.events = loop_events(self)

    @defer.inlineCallbacks
    def start(self, corefile: str):
        server = yield start_server(corefile, plugins={"bounce": bounce_setup})
        self.addCleanup(server.stop)
        return server

    def messages(self) -> list[str]:
        return [formatEvent(e) for e in self.events if e["log_level"].name == "critical"]

    @defer.inlineCallbacks
    def test_self_loop_detected(self):
        server = yield self.start(". {\n    loop\n    bounce\n}\n")
        status = yield self.exited.addTimeout(10, reactor)
        self.assertEqual((status, self.exits), (1, [1]))
        [message] = self.messages()
        loop = server.configuration.blocks[0].plugin("loop")
        self.assertRegex(message, re.escape("plugin/loop: Loop (127.0.0.1:") + r"\d+"
                         + re.escape(f' -> :{server.port}) detected for zone ".", see '
                                     'https://coredns.io/plugins/loop#troubleshooting. Query: '
                                     f'"HINFO {loop.qname}"'))
        self.assertRegex(loop.qname, r"^\d+\.\d+\.$")
        # the probe stops going round: it gets SERVFAIL and loop disables itself
        yield eventually(lambda: loop.disabled)
        self.assertEqual(loop.seen, 3)

    @defer.inlineCallbacks
    def test_no_loop_disables(self):
        server = yield self.start(". {\n    loop\n    whoami\n}\n")
        loop = server.configuration.blocks[0].plugin("loop")
        yield eventually(lambda: loop.disabled)
        self.assertEqual((loop.seen, self.exits, loop.address), (1, [], f":{server.port}"))
        # from now on the probe name passes through, over UDP and TCP alike
        for proto in ("udp", "tcp"):
            for _ in range(3):
                reply = yield server.query(loop.qname, "HINFO", proto=proto)
                self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertEqual((loop.seen, self.exits), (1, []))

    @defer.inlineCallbacks
    def test_two_servers_forwarding_to_each_other(self):
        try:
            default_registry().setup_for("forward")
        except ConfigError as exc:
            raise unittest.SkipTest(f"forward is not usable: {exc}") from None
        port = free_port()
        other = yield self.start(f". {{\n    forward . 127.0.0.1:{port}\n}}\n")
        server = yield self.start(f".:{port} {{\n    loop\n    forward . 127.0.0.1:{other.port}"
                                  "\n}\n")
        status = yield self.exited.addTimeout(10, reactor)
        self.assertEqual(status, 1)
        loop = server.configuration.blocks[0].plugin("loop")
        [message] = self.messages()
        self.assertIn(f' -> :{port}) detected for zone ".", see https://coredns.io/plugins/'
                      f'loop#troubleshooting. Query: "HINFO {loop.qname}"', message)


class ExchangeTests(unittest.TestCase):
    def test_refused(self):
        port = free_port()  # nobody listens there
        return self.assertFailure(udp_exchange(reactor, "127.0.0.1", port, b"\x12\x34" + bytes(10)),
                                  error.ConnectionRefusedError)

    def test_timeout(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        return self.assertFailure(udp_exchange(reactor, "127.0.0.1", silent.getsockname()[1],
                                               b"\x12\x34" + bytes(10), timeout=0.1),
                                  error.TimeoutError)


class TwistdTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_process_exits_with_status_1(self):
        """The real thing: ``twistd -n pydns`` on a Corefile that forwards to itself."""
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        if not os.path.exists(twistd):
            raise unittest.SkipTest("no twistd next to the Python running the tests")
        try:
            default_registry().setup_for("forward")
        except ConfigError as exc:
            raise unittest.SkipTest(f"forward is not usable: {exc}") from None
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        port = free_port()
        with open(os.path.join(directory, "Corefile"), "w") as handle:
            handle.write(f".:{port} {{\n    loop\n    forward . 127.0.0.1:{port}\n}}\n")
        done = yield threads.deferToThread(
            subprocess.run, [twistd, "-n", "--pidfile", "twistd.pid", "pydns", "-c", "Corefile"],
            cwd=directory, capture_output=True, text=True, timeout=60)
        output = done.stdout + done.stderr
        self.assertEqual(done.returncode, 1, output)
        self.assertRegex(output, r"\[loop#critical\] plugin/loop: Loop \(127\.0\.0\.1:\d+ -> "
                                 rf':{port}\) detected for zone "\."')
        self.assertIn("Server Shut Down.", output)  # a clean stop, not a crash
        self.assertFalse(os.path.exists(os.path.join(directory, "twistd.pid")))


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        examples = corefile_examples(plugin_readme("loop"))
        self.assertEqual(len(examples), 1)
        block = parser.parse(examples[0], "README.md", directives=default_registry().names())[0]
        self.assertEqual(sorted(block.directives), ["forward", "loop"])

    def test_example_sets_up(self) -> None:
        config = configure(setup, "loop", corefile_examples(plugin_readme("loop"))[0])
        self.assertIsInstance(config.chain, Loop)
