"""The *log* plugin: its directive, the lines it writes, and a server logging real queries."""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from twisted.internet import defer, task
from twisted.logger import globalLogPublisher
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.pkg.response import Class
from twisted_dns.plugins.log.log import (
    COMBINED_LOG_FORMAT,
    COMMON_LOG_FORMAT,
    DEFAULT_LOG_FORMAT,
    QueryLog,
    Rule,
)
from twisted_dns.plugins.log.setup import parse, setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    check_examples,
    configure,
    controller,
    default_registry,
    make_request,
    start_server,
)

NXDOMAIN = int(dns.rcode.NXDOMAIN)
SERVFAIL = int(dns.rcode.SERVFAIL)


def rules_of(corefile: str) -> list[Rule]:
    return configure(setup, "log", corefile).chain.rules


def log_lines(test: unittest.TestCase) -> list[str]:
    """The lines the log plugin emits from now on (through the global log publisher)."""
    lines: list[str] = []

    def observer(event: dict) -> None:
        if event.get("log_namespace") == "log" and "log_line" in event:
            lines.append(event["log_line"])

    globalLogPublisher.addObserver(observer)
    test.addCleanup(globalLogPublisher.removeObserver, observer)
    return lines


@implementer(IPlugin)
class Answer:
    """The rest of the chain: answers every query (``rcode``), after ``delay`` on ``clock``."""

    def __init__(self, rcode: int = 0, flags: int = dns.flags.AA, clock: Any = None,
                 delay: float = 0.0, soa: bool = False, deferred: bool = False,
                 error: Exception | None = None, write: bool = True) -> None:
        self.rcode, self.flags, self.clock, self.delay = rcode, flags, clock, delay
        self.soa, self.deferred, self.error, self.write = soa, deferred, error, write

    def Name(self) -> str:
        return "answer"

    def reply(self, request: Any) -> dns.message.Message:
        reply = dns.message.make_response(request.message())
        reply.flags |= self.flags
        reply.set_rcode(self.rcode)
        if self.rcode == 0 and not self.soa:
            reply.answer.append(dns.rrset.from_text(request.qname, 300, "IN", "A", "192.0.2.1"))
        if self.soa:
            reply.authority.append(dns.rrset.from_text(
                "example.org.", 300, "IN", "SOA", "ns. host. 1 2 3 4 5"))
        return reply

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        if self.clock is not None and self.delay:
            self.clock.advance(self.delay)
        if self.error is not None and not self.deferred:
            raise self.error
        if self.write:
            writer.write(self.reply(request))
        if self.deferred:
            d: defer.Deferred = defer.Deferred()
            if self.error is not None:
                self.clock.callLater(1, d.errback, self.error)
            else:
                self.clock.callLater(1, d.callback, self.rcode)
            return d
        return self.rcode


def logger(rules: list[Rule], answer: Answer, clock: task.Clock) -> QueryLog:
    return QueryLog(answer, rules, clock)


class SetupTests(unittest.TestCase):
    """CoreDNS's TestLogParse, plus the exact errors."""

    def check(self, body: str, expected: list[tuple[str, str, set[str]]]) -> list[Rule]:
        rules = rules_of(". {\n" + body + "\n}\n")
        self.assertEqual([(r.name_scope, r.format, set(r.classes)) for r in rules], expected)
        return rules

    def test_plain(self) -> None:
        self.check("log", [(".", DEFAULT_LOG_FORMAT, {"all"})])

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("log"), setup)

    def test_names_and_formats(self) -> None:
        self.check("log example.org", [("example.org.", DEFAULT_LOG_FORMAT, {"all"})])
        self.check("log Example.ORG. {common}", [("example.org.", COMMON_LOG_FORMAT, {"all"})])
        self.check("log example.org {combined}",
                   [("example.org.", COMBINED_LOG_FORMAT, {"all"})])
        self.check("log example.org.\nlog example.net {combined}",
                   [("example.org.", DEFAULT_LOG_FORMAT, {"all"}),
                    ("example.net.", COMBINED_LOG_FORMAT, {"all"})])
        self.check("log example.org {host}\nlog example.org {when}",
                   [("example.org.", "{host}", {"all"}), ("example.org.", "{when}", {"all"})])
        self.check("log example.org example.net",
                   [("example.org.", DEFAULT_LOG_FORMAT, {"all"}),
                    ("example.net.", DEFAULT_LOG_FORMAT, {"all"})])
        self.check("log example.org example.net {host}",
                   [("example.org.", "{host}", {"all"}), ("example.net.", "{host}", {"all"})])
        self.check('log . "{proto} Request: {name} {type} {>id}"',
                   [(".", "{proto} Request: {name} {type} {>id}", {"all"})])
        # the shorthands expand inside a longer format too
        self.check('log . "{common} via {local} {combined}"',
                   [(".", f"{COMMON_LOG_FORMAT} via {{local}} {COMBINED_LOG_FORMAT}", {"all"})])

    def test_one_argument_is_a_name(self) -> None:
        """As in CoreDNS, a lone argument is a name even when it looks like a format."""
        self.check("log {combined}", [("{combined}.", DEFAULT_LOG_FORMAT, {"all"})])

    def test_classes(self) -> None:
        self.check("log example.org example.net {when} {\n class denial\n}",
                   [("example.org.", "{when}", {"denial"}),
                    ("example.net.", "{when}", {"denial"})])
        self.check("log example.org {\n class all\n}", [("example.org.", COMMON_LOG_FORMAT,
                                                          {"all"})])
        self.check("log {\n class denial error\n}", [(".", COMMON_LOG_FORMAT,
                                                      {"denial", "error"})])
        self.check("log {\n class denial\n class error\n}",
                   [(".", COMMON_LOG_FORMAT, {"denial", "error"})])

    def test_min_duration(self) -> None:
        rules = self.check("log {\n minDuration\n}", [(".", COMMON_LOG_FORMAT, {"all"})])
        self.assertEqual(rules[0].min_duration, parse_duration("100ms"))
        rules = self.check("log {\n class error\n minDuration 1s\n}",
                           [(".", COMMON_LOG_FORMAT, {"error"})])
        self.assertEqual(rules[0].min_duration, parse_duration("1s"))

    def errors(self, body: str) -> str:
        exc = self.assertRaises(ConfigError, configure, setup, "log", ". {\n" + body + "\n}\n")
        return str(exc)

    def test_errors(self) -> None:
        self.assertEqual(self.errors("log {\n class abracadabra\n}"),
                         "Corefile:3: invalid Class: abracadabra")
        self.assertEqual(self.errors("log {\n class\n}"),
                         "Corefile:3: wrong argument count or unexpected line ending after "
                         "'class'")
        self.assertEqual(self.errors("log {\n minDuration 123abc\n}"),
                         "Corefile:3: Illegal duration found: '123abc'")
        self.assertEqual(self.errors("log {\n minDuration 1s 2s\n}"),
                         "Corefile:3: wrong argument count or unexpected line ending after "
                         "'2s'")
        self.assertEqual(self.errors("log {\n unknown\n}"),
                         "Corefile:3: unknown property 'unknown'")

    def test_the_formats(self) -> None:
        self.assertEqual(COMMON_LOG_FORMAT,
                         '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} '
                         '{>bufsize}" {rcode} {>rflags} {rsize} {duration}')
        self.assertEqual(COMBINED_LOG_FORMAT, COMMON_LOG_FORMAT + ' "{>opcode}"')


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.clock.advance(1000)
        self.lines = log_lines(self)

    def serve(self, rules: list[Rule], answer: Answer, *args: Any, **kwargs: Any) -> Any:
        request = make_request(*args, **kwargs)
        request.start = self.clock.seconds()
        writer = CaptureWriter(request)
        plugin = QueryLog(answer, rules, self.clock)
        self.assertEqual(plugin.Name(), "log")
        return plugin.ServeDNS(request, writer), request, writer

    def test_exact_line(self) -> None:
        answer = Answer(clock=self.clock, delay=0.037990251)
        rcode, request, writer = self.serve([Rule()], answer, "Example.org", "A",
                                            client=("10.240.0.1", 40212))
        self.assertEqual(rcode, 0)
        self.assertEqual(len(writer.sent), 1)
        self.assertEqual(self.lines, [
            f'10.240.0.1:40212 - {request.id} "A IN example.org. udp 29 false 512" NOERROR '
            f'qr,aa,rd 45 0.037990251s'])

    def test_combined_ipv6_edns(self) -> None:
        rules = rules_of(". {\n    log . {combined}\n}\n")
        _, request, writer = self.serve(rules, Answer(rcode=NXDOMAIN, flags=0, soa=True),
                                        "nothing.example.org", "AAAA", client=("::1", 50759),
                                        use_edns=0, payload=4096, want_dnssec=True)
        self.assertEqual(self.lines, [
            f'[::1]:50759 - {request.id} "AAAA IN nothing.example.org. udp '
            f'{len(request.wire)} true 4096" NXDOMAIN qr,rd {writer.size} 0s "0"'])

    def test_custom_format(self) -> None:
        rules = rules_of('. {\n    log . "{proto} Request: {name} {type} {>id}"\n}\n')
        _, request, _ = self.serve(rules, Answer(), "example.org", "MX", proto="tcp")
        self.assertEqual(self.lines, [f"tcp Request: example.org. MX {request.id}"])

    def test_event(self) -> None:
        """The line is the event's whole message, at level info, in namespace "log"."""
        from twisted.logger import LogLevel, formatEvent

        events: list[dict] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        rules = [Rule(format="{name} {class} {host}")]
        self.serve(rules, Answer(), "example.org")
        [event] = [e for e in events if e.get("log_namespace") == "log"]
        self.assertEqual(event["log_level"], LogLevel.info)
        self.assertEqual(formatEvent(event), "example.org. IN {host}")
        self.assertEqual(event["log_line"], "example.org. IN {host}")

    def test_name_scope(self) -> None:
        rules = [Rule("example.org.", "{name}")]
        self.serve(rules, Answer(), "example.org")
        self.serve(rules, Answer(), "www.Example.org")
        self.serve(rules, Answer(), "example.net")
        self.serve(rules, Answer(), "badexample.org")
        self.assertEqual(self.lines, ["example.org.", "www.example.org."])

    def test_escaped_dot_is_not_a_label_boundary(self) -> None:
        rules = [Rule("example.org.", "{name}")]
        self.serve(rules, Answer(), "a\\.example.org")
        self.serve(rules, Answer(), "a\\\\.example.org")
        self.assertEqual(self.lines, ["a\\\\.example.org."])

    def test_first_matching_rule_logs(self) -> None:
        rules = [Rule("example.org.", "first {name}"), Rule("example.net.", "second {name}"),
                 Rule(".", "third {name}")]
        self.serve(rules, Answer(), "example.net")
        self.serve(rules, Answer(), "a.example.org")
        self.assertEqual(self.lines, ["second example.net.", "first a.example.org."])

    def test_no_rule_passes_through(self) -> None:
        rcode, _, writer = self.serve([Rule("example.org.")], Answer(), "example.net")
        self.assertEqual((rcode, len(writer.sent), self.lines), (0, 1, []))

    def test_unwritten_servfail(self) -> None:
        """As CoreDNS: nothing was written when log saw the answer, so rcode and flags are -."""
        rcode, request, writer = self.serve([Rule()], Answer(rcode=SERVFAIL, write=False),
                                            "example.org", client=("10.240.0.1", 40212))
        self.assertEqual((rcode, writer.sent), (SERVFAIL, []))
        self.assertEqual(self.lines, [
            f'10.240.0.1:40212 - {request.id} "A IN example.org. udp 29 false 512" - - 0 0s'])

    def test_no_next_plugin(self) -> None:
        request = make_request("example.org")
        rcode = QueryLog(None, [Rule(format="{rcode}")], self.clock).ServeDNS(
            request, CaptureWriter(request))
        self.assertEqual((rcode, self.lines), (SERVFAIL, ["-"]))

    def test_class_denial(self) -> None:
        rules = [Rule(format="{name} {rcode}", classes=frozenset({Class.DENIAL}))]
        self.serve(rules, Answer(), "ok.example.org")
        self.serve(rules, Answer(rcode=SERVFAIL), "fail.example.org")
        self.serve(rules, Answer(rcode=NXDOMAIN, soa=True), "nx.example.org")
        self.serve(rules, Answer(soa=True), "nodata.example.org")
        self.serve(rules, Answer(rcode=NXDOMAIN), "nx-without-soa.example.org")
        self.assertEqual(self.lines, ["nx.example.org. NXDOMAIN", "nodata.example.org. NOERROR",
                                      "nx-without-soa.example.org. NXDOMAIN"])

    def test_class_error(self) -> None:
        rules = [Rule(format="{name} {rcode}", classes=frozenset({Class.ERROR}))]
        self.serve(rules, Answer(), "ok.example.org")
        self.serve(rules, Answer(rcode=SERVFAIL), "fail.example.org")
        self.serve(rules, Answer(rcode=SERVFAIL, write=False), "unwritten.example.org")
        self.serve(rules, Answer(rcode=NXDOMAIN), "nx-without-soa.example.org")
        self.assertEqual(self.lines, ["fail.example.org. SERVFAIL", "unwritten.example.org. -"])

    def test_class_success(self) -> None:
        rules = [Rule(format="{name}", classes=frozenset({Class.SUCCESS}))]
        self.serve(rules, Answer(), "ok.example.org")
        self.serve(rules, Answer(rcode=NXDOMAIN, soa=True), "nx.example.org")
        self.assertEqual(self.lines, ["ok.example.org."])

    def test_min_duration(self) -> None:
        rules = [Rule(format="{name} {duration}", classes=frozenset({Class.ERROR}),
                      min_duration=parse_duration("1s"))]
        self.serve(rules, Answer(clock=self.clock, delay=1.001), "slow.example.org")
        self.serve(rules, Answer(clock=self.clock, delay=0.001), "fast.example.org")
        self.serve(rules, Answer(rcode=SERVFAIL, clock=self.clock, delay=0.001),
                   "error.example.org")
        self.assertEqual(self.lines, ["slow.example.org. 1.001s", "error.example.org. 0.001s"])

    def test_deferred(self) -> None:
        rules = [Rule(format="{name} {rcode} {duration}")]
        result, _, _ = self.serve(rules, Answer(clock=self.clock, deferred=True), "example.org")
        self.assertIsInstance(result, defer.Deferred)
        self.assertEqual(self.lines, [])
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(result), 0)
        self.assertEqual(self.lines, ["example.org. NOERROR 1s"])

    def test_coroutine(self) -> None:
        @implementer(IPlugin)
        class Async:
            def Name(self) -> str:
                return "async"

            async def ServeDNS(self, request: Any, writer: Any) -> int:
                writer.write(Answer().reply(request))
                return 0

        result, _, _ = self.serve([Rule(format="{rcode}")], Async(), "example.org")
        self.assertEqual(self.successResultOf(result), 0)
        self.assertEqual(self.lines, ["NOERROR"])

    def test_failed_deferred(self) -> None:
        rules = [Rule(format="{name} {rcode} {rsize}")]
        answer = Answer(clock=self.clock, deferred=True, write=False,
                        error=RuntimeError("upstream gone"))
        result, _, _ = self.serve(rules, answer, "example.org")
        self.clock.advance(1)
        self.failureResultOf(result, RuntimeError)
        self.assertEqual(self.lines, ["example.org. - 0"])

    def test_exception(self) -> None:
        answer = Answer(error=RuntimeError("bug"), write=False)
        self.assertRaises(RuntimeError, self.serve, [Rule(format="{name} {rcode}")], answer,
                          "example.org")
        self.assertEqual(self.lines, ["example.org. -"])

    def test_setup_uses_the_reactor_clock(self) -> None:
        config = configure(setup, "log", ". {\n    log . {duration}\n}\n", reactor=self.clock)
        self.assertIs(config.chain.reactor, self.clock)


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_queries_are_logged(self):
        lines = log_lines(self)
        server = yield start_server(". {\n    log\n    whoami\n}\n")
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "A", proto="tcp")
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], rf'^127\.0\.0\.1:\d+ - {reply.id} "A IN example\.org\. tcp 29 '
                                   r'false 65535" NOERROR qr,aa,rd \d+ [0-9.]+s$')

    @defer.inlineCallbacks
    def test_class_filter(self):
        lines = log_lines(self)
        server = yield start_server(". {\n    log . {\n        class denial\n    }\n"
                                    "    whoami\n}\n")
        self.addCleanup(server.stop)
        yield server.query("example.org", "A")
        self.assertEqual(lines, [])


class ReadmeTests(unittest.TestCase):
    def test_examples(self) -> None:
        examples = check_examples(self, "log")
        self.assertGreaterEqual(len(examples), 6)
        for example in examples:
            with self.subTest(example=example):
                configure(setup, "log", example, filename="README.md")

    def test_parse_function_is_setup_free(self) -> None:
        rules = parse(controller("log", ". {\n    log example.org\n}\n"))
        self.assertEqual([r.name_scope for r in rules], ["example.org."])
