"""What operators see beside the answers, CoreDNS against pydns: the *log* plugin's lines, and
the *health* and *ready* endpoints through a stop with a lame duck period."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import dns.message
from twisted.internet import defer, threads
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from tests.differential.harness import (
    Query,
    both_ways,
    exchange_tcp,
    exchange_udp,
    free_address,
    serve_both,
)
from twisted_dns.testing import eventually

#: log formats as a Corefile writes them (after ``log .``); each is served by its own pair
LOG_FORMATS = [
    "",
    "{common}",
    "{combined}",
    '"{common} tail {type} {>id}"',
    '"pre {combined} {local} {>rflags} {rsize} {/no/such/label} {host}"',
]
#: a duration as the log plugin prints it (``0.000069703s``), masked before comparing
DURATION = re.compile(r"\b\d+\.\d+s\b")
#: the reply's size, after its flags in every format here: ours is the compressed reply as
#: sent, CoreDNS's the uncompressed one before its OPT (docs/differences.md, "Reply sizes")
RSIZE = re.compile(r"\b(qr[a-z,]*) (\d+)\b")
#: a name only this test asks for, so other log lines (the start-up probe) are left out
LOGGED_NAME = "logged.example.org."


def log_queries() -> list[Query]:
    plain = Query.make(LOGGED_NAME, "A", use_edns=False)
    with_edns = Query.make(LOGGED_NAME, "AAAA", use_edns=0, payload=1232, want_dnssec=True)
    return both_ways([plain, with_edns])


def masked(line: str) -> str:
    """A log line without what differs from run to run or by design: duration, reply size."""
    return RSIZE.sub(r"\1 RSIZE", DURATION.sub("Ds", line))


def http_status(address: str, path: str) -> int | None:
    """The status of GET http://ADDRESS/PATH, None when nothing answers (blocking)."""
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=1) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def statuses(endpoints: dict[str, str]) -> tuple[int | None, int | None]:
    """(/health, /ready) of one server's endpoints (blocking)."""
    return (http_status(endpoints["HEALTH"], "/health"),
            http_status(endpoints["READY"], "/ready"))


class LogTests(unittest.TestCase):
    """The same query from the same client port, logged by both: the lines must match but
    for the duration."""

    def setUp(self) -> None:
        self.ours: list[str] = []

        def observer(event: dict) -> None:
            if event.get("log_namespace") == "log" and LOGGED_NAME in event.get("log_line", ""):
                self.ours.append(event["log_line"])

        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    @defer.inlineCallbacks
    def test_log_lines(self):
        for log_format in LOG_FORMATS:
            yield self.compare_logs(log_format)

    @defer.inlineCallbacks
    def compare_logs(self, log_format: str):
        self.ours.clear()
        pair = yield serve_both(self, f". {{\n    log . {log_format}\n    whoami\n}}\n")
        queries = log_queries()
        sizes = []
        for query in queries:
            exchange = exchange_tcp if query.proto == "tcp" else exchange_udp
            ours, _ = yield threads.deferToThread(exchange, query.wire, pair.ports)
            sizes.append(len(ours))

        def theirs() -> list[str]:
            return [line.removeprefix("[INFO] ") for line in pair.coredns.output.splitlines()
                    if LOGGED_NAME in line]

        yield eventually(lambda: len(theirs()) == len(queries), 10,
                         message=lambda: pair.coredns.output)
        self.assertEqual([int(RSIZE.search(line)[2]) for line in self.ours], sizes)
        self.maxDiff = None
        # CoreDNS logs after it replied, so its lines may come in another order
        self.assertEqual(sorted(masked(line) for line in self.ours),
                         sorted(masked(line) for line in theirs()), log_format)
        yield pair.stop()


class LameDuckTests(unittest.TestCase):
    """SIGTERM with ``health { lameduck }``: both keep answering DNS and ``/health`` (200, a
    liveness check); ``/ready`` stops answering OK at once. CoreDNS closes its ready port, we
    answer 503 ``Shutting down`` (docs/differences.md, "ready during shutdown")."""

    COREFILE = (". {\n    health {$HEALTH} {\n        lameduck 5s\n    }\n"
                "    ready {$READY}\n    whoami\n}\n")

    @defer.inlineCallbacks
    def test_lame_duck(self):
        endpoints: list[dict[str, str]] = []

        def per_server() -> dict[str, str]:
            endpoints.append({"HEALTH": free_address(), "READY": free_address()})
            return endpoints[-1]

        pair = yield serve_both(self, self.COREFILE, per_server=per_server)
        ours, theirs = endpoints  # serve_both asks for pydns's first
        self.assertEqual((yield threads.deferToThread(statuses, ours)), (200, 200))
        self.assertEqual((yield threads.deferToThread(statuses, theirs)), (200, 200))

        stopping = pair.pydns.stop()
        pair.coredns.signal("TERM")
        yield eventually(lambda: http_status(ours["READY"], "/ready") != 200, 3, in_thread=True)
        yield eventually(lambda: http_status(theirs["READY"], "/ready") != 200, 3,
                         in_thread=True)
        during = yield threads.deferToThread(lambda: (statuses(ours), statuses(theirs)))
        self.assertEqual(during, ((200, 503), (200, None)))
        query = Query.make("lameduck.example.org", "A")
        report = yield pair.compare(both_ways([query]))
        self.assertEqual(report, [], "\n".join(report))
        replies = yield threads.deferToThread(exchange_udp, query.wire, pair.ports)
        self.assertEqual([len(dns.message.from_wire(r).additional) for r in replies], [2, 2])

        yield stopping
        yield pair.coredns.exited()
        pair.pydns = pair.coredns = None
        after = yield threads.deferToThread(lambda: (statuses(ours), statuses(theirs)))
        self.assertEqual(after, ((None, None), (None, None)))
