"""The *errors* plugin: its directive, the lines it logs, consolidation on a Clock."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import dns.rcode
from twisted.internet import defer, task
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.plugins.errors.errors import ErrorHandler, Pattern
from twisted_dns.plugins.errors.setup import setup
from twisted_dns.registry import GROUP, Registry
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    check_examples,
    configure,
    default_registry,
    make_request,
    start_server,
)

SERVFAIL = int(dns.rcode.SERVFAIL)
REFUSED = int(dns.rcode.REFUSED)


def error_events(test: unittest.TestCase) -> list[dict]:
    """The events the errors plugin logs from now on."""
    events: list[dict] = []

    def observer(event: dict) -> None:
        if event.get("log_namespace") == "errors":
            events.append(event)

    globalLogPublisher.addObserver(observer)
    test.addCleanup(globalLogPublisher.removeObserver, observer)
    return events


def lines(events: list[dict]) -> list[tuple[str, str]]:
    """(level name, message) of each event."""
    return [(event["log_level"].name, formatEvent(event)) for event in events]


class BoomError(Exception):
    pass


class RefusedError(Exception):
    rcode = REFUSED


@implementer(IPlugin)
class Failing:
    """The rest of the chain: raises ``error`` (or fails its Deferred with it)."""

    def __init__(self, error: BaseException | None = None, deferred: bool = False,
                 rcode: int = 0, write: bool = False) -> None:
        self.error, self.deferred, self.rcode, self.write = error, deferred, rcode, write

    def Name(self) -> str:
        return "failing"

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        if self.write:
            import dns.message

            writer.write(dns.message.make_response(request.message()))
        if self.error is None:
            return defer.succeed(self.rcode) if self.deferred else self.rcode
        if self.deferred:
            return defer.fail(self.error)
        raise self.error


def handler_of(corefile: str) -> ErrorHandler:
    return configure(setup, "errors", corefile).chain


class SetupTests(unittest.TestCase):
    """CoreDNS's TestErrorsParse, with the exact messages."""

    def patterns(self, body: str) -> list[Pattern]:
        return handler_of(". {\n" + body + "\n}\n").patterns

    def error(self, body: str) -> str:
        exc = self.assertRaises(ConfigError, configure, setup, "errors",
                                ". {\n" + body + "\n}\n")
        return str(exc)

    def test_plain(self) -> None:
        self.assertEqual(self.patterns("errors"), [])
        self.assertEqual(self.patterns("errors stdout"), [])
        self.assertFalse(handler_of(". {\n    errors\n}\n").stacktrace)

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("errors"), setup)

    def test_consolidate(self) -> None:
        [pattern] = self.patterns("errors {\n consolidate 1m ^exact$\n}")
        self.assertEqual((pattern.period, pattern.regexp.pattern, pattern.level,
                          pattern.show_first),
                         (parse_duration("1m"), "^exact$", LogLevel.error, False))
        [pattern] = self.patterns('errors {\n consolidate 1m "format error"\n}')
        self.assertEqual(pattern.regexp.pattern, "format error")
        patterns = self.patterns("errors {\n consolidate 1m error1\n consolidate 5s error2\n}")
        self.assertEqual([(str(p.period), p.regexp.pattern) for p in patterns],
                         [("1m0s", "error1"), ("5s", "error2")])

    def test_levels(self) -> None:
        for word, level in [("warning", LogLevel.warn), ("warn", LogLevel.warn),
                            ("error", LogLevel.error), ("info", LogLevel.info),
                            ("debug", LogLevel.debug)]:
            with self.subTest(word=word):
                [pattern] = self.patterns(f"errors {{\n consolidate 1m .* {word}\n}}")
                self.assertEqual(pattern.level, level)

    def test_show_first(self) -> None:
        [pattern] = self.patterns("errors {\n consolidate 1m .* info show_first\n}")
        self.assertEqual((pattern.level, pattern.show_first), (LogLevel.info, True))
        [pattern] = self.patterns("errors {\n consolidate 1m .* show_first\n}")
        self.assertEqual((pattern.level, pattern.show_first), (LogLevel.error, True))

    def test_stacktrace(self) -> None:
        self.assertTrue(handler_of(". {\n errors {\n stacktrace\n }\n}\n").stacktrace)

    def test_errors(self) -> None:
        argument = "Corefile:{}: wrong argument count or unexpected line ending after '{}'"
        cases = {
            "errors errors.txt": "Corefile:2: invalid log file: errors.txt",
            "errors visible": "Corefile:2: invalid log file: visible",
            "errors { log visible }": "Corefile:2: unknown property 'log'",
            "errors\nerrors": "Corefile:3: this plugin can only be used once per Server Block",
            "errors a b": argument.format(2, "b"),
            "errors {\n consolidate\n}": argument.format(3, "consolidate"),
            "errors {\n consolidate 1m\n}": argument.format(3, "1m"),
            "errors {\n consolidate 1m .* extra\n}":
                "Corefile:3: unknown log level argument in consolidate: extra",
            "errors {\n consolidate 1m .* info show_first extra\n}":
                argument.format(3, "extra"),
            "errors {\n consolidate abc .*\n}": 'Corefile:3: time: invalid duration "abc"',
            "errors {\n consolidate 1 .*\n}": 'Corefile:3: time: missing unit in duration "1"',
            "errors {\n consolidate 1m ())\n}":
                "Corefile:3: error parsing regexp: unbalanced parenthesis at position 2: `())`",
            "errors {\n consolidate 1m " + "a" * 10001 + "\n}":
                "Corefile:3: regexp too long: 10001 characters, at most 10000",
            "errors {\n stacktrace yes\n}": argument.format(3, "yes"),
        }
        for body, message in cases.items():
            with self.subTest(body=body[:40]):
                self.assertEqual(self.error(body), message)


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.events = error_events(self)

    def serve(self, handler: ErrorHandler, name: str = "example.org", rdtype: str = "A"
              ) -> tuple[Any, CaptureWriter]:
        request = make_request(name, rdtype)
        writer = CaptureWriter(request)
        return handler.ServeDNS(request, writer), writer

    def handler(self, next_plugin: Any, *patterns: Pattern, stacktrace: bool = False
                ) -> ErrorHandler:
        handler = ErrorHandler(next_plugin, list(patterns), self.clock, stacktrace)
        self.assertEqual(handler.Name(), "errors")
        return handler

    def test_exception(self) -> None:
        rcode, writer = self.serve(self.handler(Failing(BoomError("read udp: i/o timeout"))),
                                   "Example.org", "AAAA")
        self.assertEqual((rcode, writer.sent), (SERVFAIL, []))
        self.assertEqual(lines(self.events), [
            ("error", "plugin/errors: 2 example.org. AAAA: read udp: i/o timeout")])
        self.assertNotIn("log_failure", self.events[0])

    def test_failed_deferred(self) -> None:
        result, _ = self.serve(self.handler(Failing(BoomError("no upstream"), deferred=True)))
        self.assertEqual(self.successResultOf(result), SERVFAIL)
        self.assertEqual(lines(self.events),
                         [("error", "plugin/errors: 2 example.org. A: no upstream")])

    def test_exception_rcode(self) -> None:
        rcode, _ = self.serve(self.handler(Failing(RefusedError("not here"))))
        self.assertEqual(rcode, REFUSED)
        self.assertEqual(lines(self.events), [("error", "plugin/errors: 5 example.org. A: "
                                                        "not here")])

    def test_empty_message(self) -> None:
        self.serve(self.handler(Failing(BoomError())))
        self.assertEqual(lines(self.events),
                         [("error", "plugin/errors: 2 example.org. A: BoomError")])

    def test_written_then_failed(self) -> None:
        """A reply already went out: the server must not write a second one."""
        rcode, writer = self.serve(self.handler(Failing(BoomError("late"), write=True)))
        self.assertEqual((rcode, len(writer.sent)), (0, 1))
        self.assertEqual(len(self.events), 1)

    def test_success_passes_through(self) -> None:
        self.assertEqual(self.serve(self.handler(Failing(rcode=3)))[0], 3)
        result, _ = self.serve(self.handler(Failing(rcode=0, deferred=True)))
        self.assertEqual(self.successResultOf(result), 0)
        # an rcode is not an error: there is no message to log (as in CoreDNS)
        self.assertEqual(self.serve(self.handler(Failing(rcode=SERVFAIL)))[0], SERVFAIL)
        self.assertEqual(self.events, [])

    def test_no_next_plugin(self) -> None:
        self.assertEqual(self.serve(self.handler(None))[0], SERVFAIL)

    def test_stacktrace(self) -> None:
        self.serve(self.handler(Failing(BoomError("kaboom")), stacktrace=True))
        [event] = self.events
        self.assertEqual(event["log_level"], LogLevel.error)
        self.assertEqual(formatEvent(event), "plugin/errors: 2 example.org. A: kaboom")
        self.assertIsInstance(event["log_failure"].value, BoomError)
        self.flushLoggedErrors(BoomError)

    def pattern(self, period: str, regexp: str, level: LogLevel = LogLevel.error,
                show_first: bool = False) -> Pattern:
        import re

        return Pattern(parse_duration(period), re.compile(regexp), level, show_first)

    def test_consolidate(self) -> None:
        handler = self.handler(Failing(BoomError("no next plugin found")),
                               self.pattern("2s", "^no next", LogLevel.warn))
        for _ in range(3):
            self.assertEqual(self.serve(handler)[0], SERVFAIL)
        self.assertEqual(self.events, [])
        self.clock.advance(1.999)
        self.assertEqual(self.events, [])
        self.clock.advance(0.001)
        self.assertEqual(lines(self.events), [
            ("warn", "plugin/errors: 3 errors like '^no next' occurred in last 2s")])
        # a new period starts with the next error
        self.serve(handler)
        self.clock.advance(2)
        self.assertEqual(lines(self.events)[1:], [
            ("warn", "plugin/errors: 1 errors like '^no next' occurred in last 2s")])
        self.clock.advance(10)
        self.assertEqual(len(self.events), 2)

    def test_consolidate_prints_go_durations(self) -> None:
        handler = self.handler(Failing(BoomError("x")), self.pattern("5m", "x"))
        self.serve(handler)
        self.clock.advance(300)
        self.assertEqual(lines(self.events),
                         [("error", "plugin/errors: 1 errors like 'x' occurred in last 5m0s")])

    def test_unmatched_errors_log_at_once(self) -> None:
        handler = self.handler(Failing(BoomError("something else")), self.pattern("2s", "^no next"))
        self.serve(handler)
        self.assertEqual(lines(self.events),
                         [("error", "plugin/errors: 2 example.org. A: something else")])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_first_matching_pattern_counts(self) -> None:
        failing = Failing(BoomError("i/o timeout"))
        handler = self.handler(failing, self.pattern("1s", "timeout$", LogLevel.info),
                               self.pattern("1s", "^i/o", LogLevel.warn))
        self.serve(handler)
        self.serve(handler)
        self.clock.advance(1)
        self.assertEqual(lines(self.events), [
            ("info", "plugin/errors: 2 errors like 'timeout$' occurred in last 1s")])

    def test_show_first(self) -> None:
        handler = self.handler(Failing(BoomError("read udp: i/o timeout")),
                               self.pattern("30s", "timeout$", LogLevel.warn, show_first=True))
        self.serve(handler)
        self.assertEqual(lines(self.events), [
            ("warn", "plugin/errors: 2 example.org. A: read udp: i/o timeout")])
        self.serve(handler)
        self.serve(handler)
        self.clock.advance(30)
        self.assertEqual(lines(self.events)[1:], [
            ("warn", "plugin/errors: 3 errors like 'timeout$' occurred in last 30s")])

    def test_show_first_alone_prints_no_summary(self) -> None:
        handler = self.handler(Failing(BoomError("timeout")),
                               self.pattern("30s", "timeout$", show_first=True))
        self.serve(handler)
        self.clock.advance(30)
        self.assertEqual(lines(self.events),
                         [("error", "plugin/errors: 2 example.org. A: timeout")])

    def test_stop_flushes(self) -> None:
        handler = self.handler(Failing(BoomError("timeout")), self.pattern("1m", "timeout"))
        self.serve(handler)
        self.serve(handler)
        handler.stop()
        self.assertEqual(lines(self.events), [
            ("error", "plugin/errors: 2 errors like 'timeout' occurred in last 1m0s")])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        # stopped: errors are logged one by one again
        self.serve(handler)
        self.assertEqual(lines(self.events)[1:],
                         [("error", "plugin/errors: 2 example.org. A: timeout")])

    def test_setup_registers_shutdown(self) -> None:
        config = configure(setup, "errors", ". {\n errors {\n consolidate 10s boom\n }\n}\n",
                           reactor=self.clock, next_plugin=Failing(BoomError("boom")))
        self.serve(config.chain)
        self.assertEqual(self.events, [])
        self.assertEqual(len(config.configuration.shutdown_hooks), 1)
        self.successResultOf(config.shutdown())
        self.assertEqual(lines(self.events), [
            ("error", "plugin/errors: 1 errors like 'boom' occurred in last 10s")])


def failing_setup(c: Any) -> None:
    """A test directive: a chain link that raises."""
    while c.next():
        pass
    c.add_plugin(lambda _next: Failing(BoomError("upstream exploded")))


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_error_logged_and_answered(self):
        events = error_events(self)
        entry_points = [*importlib.metadata.entry_points(group=GROUP),
                        importlib.metadata.EntryPoint("failing", f"{__name__}:failing_setup",
                                                      GROUP)]
        registry = Registry.discover(entry_points)
        server = yield start_server(". {\n    errors\n    failing\n}\n", registry=registry)
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(lines(events),
                         [("error", "plugin/errors: 2 example.org. A: upstream exploded")])


class ReadmeTests(unittest.TestCase):
    def test_examples(self) -> None:
        examples = check_examples(self, "errors")
        self.assertGreaterEqual(len(examples), 2)
        for example in examples:
            with self.subTest(example=example):
                configure(setup, "errors", example, filename="README.md")
