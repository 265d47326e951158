"""pkg.kubeapi.reflector: list then watch into a sink, against the FAKE apiserver of
test_kubeapi_fake over real HTTP, with the reflector's time (backoff, deadlines) on a
task.Clock the test advances."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.internet.error import ConnectionRefusedError
from twisted.logger import LogLevel, capturedLogs
from twisted.trial import unittest

from tests.pkg.test_kubeapi_fake import FakeAPIServer, service
from twisted_dns.pkg.kubeapi import ClusterConfig, KubeClient, Reflector
from twisted_dns.pkg.kubeapi.reflector import WATCH_GRACE, Backoff

SERVICES = "/api/v1/services"


def next_turn(queue: defer.DeferredQueue[Any], item: Any) -> None:
    """Queue ``item`` one reactor turn from now: after the reflector has acted on it."""
    reactor.callLater(0, queue.put, item)


class Observed:
    """The real client, telling the test each request's outcome once the reflector has
    seen it."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.outcomes: defer.DeferredQueue[tuple[str, Any]] = defer.DeferredQueue()

    def get(self, path: str, params: Any = None) -> defer.Deferred[dict]:
        return self._observe("list", self.client.get(path, params))

    def watch(self, path: str, params: Any, on_event: Callable[[dict], Any]) -> Any:
        return self._observe("watch", self.client.watch(path, params, on_event))

    def _observe(self, kind: str, request: defer.Deferred[Any]) -> defer.Deferred[Any]:
        def settled(result: Any) -> Any:
            next_turn(self.outcomes, (kind, result))
            return result

        return request.addBoth(settled)


class RecordingSink:
    """Every replace and apply, as (call, names, version); ``calls`` waits for more."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any, str]] = []
        self._arrived: defer.DeferredQueue[None] = defer.DeferredQueue()
        self.fail_with: Exception | None = None

    def replace(self, items: list[dict], resource_version: str) -> None:
        names = [item["metadata"]["name"] for item in items]
        self._record(("replace", names, resource_version))

    def apply(self, event_type: str, obj: dict) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self._record((event_type, obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    def _record(self, call: tuple[str, Any, str]) -> None:
        self.log.append(call)
        next_turn(self._arrived, None)

    async def calls(self, count: int) -> list[tuple[str, Any, str]]:
        """The log once it holds ``count`` calls."""
        while len(self.log) < count:
            await self._arrived.get()
        return self.log


class ReflectorTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeAPIServer()
        self.url = self.fake.listen()
        self.addCleanup(self.fake.stop)
        self.clock = task.Clock()
        self.client = self.observed(self.url)
        self.sink = RecordingSink()
        for name in ("a", "b", "c"):
            self.fake.change(SERVICES, "ADDED", service(name))  # versions 101-103

    def observed(self, url: str) -> Observed:
        client = KubeClient(reactor, ClusterConfig(server=url), qps=1000, burst=1000)
        self.addCleanup(client.close)
        return Observed(client)

    def reflector(self, client: Observed | None = None, **selectors: Any) -> Reflector:
        reflector = Reflector(client or self.client, self.clock, SERVICES, self.sink,
                              **selectors)
        self.addCleanup(self.stopped, reflector)
        return reflector

    async def stopped(self, reflector: Reflector) -> None:
        await reflector.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    async def outcome(self, kind: str) -> Any:
        seen, result = await self.client.outcomes.get()
        self.assertEqual(seen, kind)
        return result

    async def started(self, **selectors: Any) -> Reflector:
        """A reflector that has listed and whose first watch is open."""
        reflector = self.reflector(**selectors)
        reflector.start()
        await reflector.synced
        await self.outcome("list")
        await self.watching(1)
        return reflector

    async def watching(self, count: int) -> None:
        """Until the fake has received ``count`` watch requests and holds one open."""
        await self.fake.when(lambda: len(self.watches()) == count
                             and len(self.fake.open_watches()) == 1)

    def lists(self) -> list[dict[str, str]]:
        return [seen.args for seen in self.fake.requests if "watch" not in seen.args]

    def watches(self) -> list[dict[str, str]]:
        return [seen.args for seen in self.fake.requests if "watch" in seen.args]

    def backoff_delay(self) -> float:
        """The one thing the reflector waits for: its backoff, from now."""
        [call] = self.clock.getDelayedCalls()
        return call.getTime() - self.clock.seconds()

    async def backs_off(self, low: float, high: float) -> None:
        """The reflector waits between ``low`` and ``high`` seconds, then tries again."""
        delay = self.backoff_delay()
        self.assertTrue(low <= delay <= high, f"{delay} not in [{low}, {high}]")
        self.clock.advance(delay)


class ListThenWatchTests(ReflectorTestCase):
    async def test_lists_in_pages_then_watches_from_the_list_version(self) -> None:
        self.fake.page_size = 2
        reflector = self.reflector()
        self.assertFalse(reflector.has_synced())
        reflector.start()
        await reflector.synced
        self.assertTrue(reflector.has_synced())
        self.assertEqual(self.sink.log, [("replace", ["a", "b", "c"], "103")])
        first, second = self.lists()
        self.assertEqual(first, {"limit": "500", "resourceVersion": "0"})
        self.assertEqual(set(second), {"limit", "continue"})
        await self.watching(1)
        [watch] = self.watches()
        self.assertTrue(300 <= int(watch.pop("timeoutSeconds")) < 600)
        self.assertEqual(watch, {"watch": "1", "resourceVersion": "103",
                                 "allowWatchBookmarks": "true"})

    async def test_events_go_to_the_sink_in_order(self) -> None:
        await self.started()
        self.fake.change(SERVICES, "ADDED", service("d"))
        self.fake.change(SERVICES, "MODIFIED", service("a", clusterIP="10.0.0.1"))
        self.fake.change(SERVICES, "DELETED", service("b"))
        self.assertEqual((await self.sink.calls(4))[1:],
                         [("ADDED", "d", "104"), ("MODIFIED", "a", "105"),
                          ("DELETED", "b", "106")])

    async def test_selectors_go_on_the_list_and_the_watch(self) -> None:
        await self.started(label_selector="app in (dns)", field_selector="metadata.name!=x")
        for args in self.lists() + self.watches():
            self.assertEqual((args["labelSelector"], args["fieldSelector"]),
                             ("app in (dns)", "metadata.name!=x"))

    async def test_a_bookmark_moves_the_version_only(self) -> None:
        await self.started()
        self.fake.change("/api/v1/namespaces", "ADDED", {"metadata": {"name": "ns"}})
        self.fake.bookmark()
        self.fake.end_watches()
        await self.outcome("watch")
        await self.watching(2)
        self.assertEqual(self.watches()[1]["resourceVersion"], "104")
        self.assertEqual(self.sink.log, [("replace", ["a", "b", "c"], "103")])
        self.assertEqual(len(self.lists()), 1)

    async def test_a_stream_the_server_ends_is_watched_again_at_once(self) -> None:
        await self.started()
        self.fake.change(SERVICES, "ADDED", service("d"))
        await self.sink.calls(2)
        self.fake.end_watches()
        await self.outcome("watch")
        await self.watching(2)
        self.assertEqual(self.watches()[1]["resourceVersion"], "104")
        self.assertEqual(len(self.lists()), 1)

    async def test_a_quiet_watch_that_ran_its_course_is_watched_again_at_once(self) -> None:
        await self.started()
        self.clock.advance(300)
        self.fake.end_watches()
        await self.outcome("watch")
        await self.watching(2)
        self.assertEqual(self.watches()[1]["resourceVersion"], "103")

    async def test_a_watch_that_ends_at_once_backs_off(self) -> None:
        await self.started()
        with capturedLogs() as events:
            self.fake.end_watches()
            await self.outcome("watch")
        self.assertEqual([e["words"] for e in events if e.get("words")],
                         ["the watch ended at once, with no event"])
        await self.backs_off(0.8, 1.6)
        await self.watching(2)


class GoneTests(ReflectorTestCase):
    """HTTP 410 Gone: the version asked for was compacted away."""

    async def test_an_error_event_410_lists_again_from_the_last_version(self) -> None:
        reflector = await self.started()
        self.fake.change(SERVICES, "ADDED", service("d"))
        await self.sink.calls(2)
        self.fake.watch_error(410)
        await self.outcome("watch")
        await self.outcome("list")
        self.assertEqual(self.lists()[1], {"limit": "500", "resourceVersion": "104",
                                           "resourceVersionMatch": "NotOlderThan"})
        self.assertEqual(self.sink.log[-1], ("replace", ["a", "b", "c", "d"], "104"))
        await self.watching(2)
        self.assertEqual(self.watches()[1]["resourceVersion"], "104")
        self.assertTrue(reflector.has_synced())
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime() - self.clock.seconds(),
                         int(self.watches()[1]["timeoutSeconds"]) + WATCH_GRACE)

    async def test_a_compacted_watch_version(self) -> None:
        """The API server's watch cache answers an old version with an ERROR event."""
        reflector = self.reflector()
        reflector.start()
        await reflector.synced
        await self.outcome("list")
        self.fake.change(SERVICES, "ADDED", service("d"))
        self.fake.compact()  # the list's version 103 is now gone
        await self.outcome("watch")
        await self.outcome("list")
        await self.watching(2)
        self.assertEqual(self.watches()[1]["resourceVersion"], "104")

    async def test_an_http_410_on_the_watch_lists_again(self) -> None:
        self.fake.fail("watch", 410)
        reflector = self.reflector()
        reflector.start()
        await self.outcome("list")
        await self.outcome("watch")
        await self.outcome("list")
        await self.watching(2)
        self.assertEqual(len(self.lists()), 2)
        self.assertEqual([call[0] for call in self.sink.log], ["replace", "replace"])

    async def test_an_expired_continue_token_starts_the_list_again(self) -> None:
        self.fake.page_size = 2
        self.fake.hold = True
        reflector = self.reflector()
        reflector.start()
        await self.fake.when(lambda: len(self.fake.held) == 1)
        self.fake.release()
        await self.fake.when(lambda: len(self.fake.held) == 1)
        self.fake.compact()
        self.fake.change("/api/v1/namespaces", "ADDED", {"metadata": {"name": "ns"}})
        self.fake.hold = False
        self.fake.release()
        await reflector.synced
        self.assertEqual([sorted(args) for args in self.lists()],
                         [["limit", "resourceVersion"], ["continue", "limit"],
                          ["limit", "resourceVersion"], ["continue", "limit"]])
        self.assertEqual(self.sink.log, [("replace", ["a", "b", "c"], "104")])

    async def test_a_second_expired_continue_token_backs_off(self) -> None:
        self.fake.page_size = 1
        self.fake.hold = True
        reflector = self.reflector()
        reflector.start()
        for _ in range(2):  # the first page, then a continue token that expires, twice
            await self.fake.when(lambda: len(self.fake.held) == 1)
            self.fake.release()
            await self.fake.when(lambda: len(self.fake.held) == 1)
            self.fake.compact()
            self.fake.release()
            await self.outcome("list")
            await self.outcome("list")
        self.assertFalse(reflector.has_synced())
        self.fake.hold = False
        self.fake.change("/api/v1/namespaces", "ADDED", {"metadata": {"name": "ns"}})
        await self.backs_off(0.8, 1.6)
        await reflector.synced
        self.assertEqual(self.sink.log, [("replace", ["a", "b", "c"], "104")])

    async def test_a_410_on_a_relist_lists_the_newest_then_backs_off(self) -> None:
        await self.started()
        self.fake.fail("list", 410)
        self.fake.fail("list", 410)
        self.fake.watch_error(410)
        await self.outcome("watch")
        await self.outcome("list")  # at the last version: gone
        await self.outcome("list")  # at no version (a quorum read): gone too
        self.assertEqual(self.lists()[1:], [
            {"limit": "500", "resourceVersion": "103", "resourceVersionMatch": "NotOlderThan"},
            {"limit": "500"}])
        await self.backs_off(0.8, 1.6)
        await self.outcome("list")
        self.assertEqual(self.lists()[3], {"limit": "500"})
        await self.watching(2)


class BackoffTests(ReflectorTestCase):
    async def test_failures_back_off_exponentially_and_a_healthy_watch_resets(self) -> None:
        for _ in range(4):
            self.fake.fail("watch", 503)
        with capturedLogs() as events:
            reflector = self.reflector()
            reflector.start()
            await self.outcome("list")
            for low in (0.8, 1.6, 3.2, 6.4):
                await self.outcome("watch")
                await self.backs_off(low, 2 * low)
            await self.watching(5)
            self.fake.change(SERVICES, "ADDED", service("d"))
            await self.sink.calls(2)
            self.fake.drop_watches()
            await self.outcome("watch")
            await self.backs_off(0.8, 1.6)
            await self.watching(6)
        self.assertEqual(self.watches()[5]["resourceVersion"], "104")
        self.assertEqual(len(self.lists()), 1)
        lines = [(e["log_level"], e.get("words")) for e in events
                 if e["log_namespace"] == "kubernetes"]
        self.assertEqual(lines, [(LogLevel.warn, "503 Service Unavailable: fake: scripted (503)"),
                                 (LogLevel.info, None),
                                 (LogLevel.warn, "Connection to the other side was lost in a "
                                                 "non-clean fashion.")])

    async def test_the_backoff_stops_at_30_seconds(self) -> None:
        for _ in range(8):
            self.fake.fail("list", 500)
        reflector = self.reflector()
        reflector.start()
        delays = []
        for _ in range(8):
            await self.outcome("list")
            delays.append(self.backoff_delay())
            self.clock.advance(delays[-1])
        await reflector.synced
        self.assertTrue(25.6 <= delays[6] <= 30, delays)
        self.assertAlmostEqual(delays[7], 30)

    async def test_connection_refused_is_logged_once(self) -> None:
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        address = port.getsockname()
        port.close()
        self.client = self.observed(f"http://{address[0]}:{address[1]}")
        with capturedLogs() as events:
            reflector = self.reflector()
            reflector.start()
            for _ in range(3):
                failure = await self.outcome("list")
                self.assertIsInstance(failure.value, ConnectionRefusedError)
                await self.backs_off(0, 30)
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn("refused", warnings[0]["words"])
        self.assertFalse(reflector.has_synced())

    async def test_an_error_event_other_than_410_backs_off_and_watches_again(self) -> None:
        await self.started()
        self.fake.watch_error(500)
        failure = await self.outcome("watch")
        self.assertEqual(failure.value.status, 500)
        await self.backs_off(0.8, 1.6)
        await self.watching(2)
        self.assertEqual(len(self.lists()), 1)
        self.assertEqual(self.watches()[1]["resourceVersion"], "103")

    async def test_unknown_events_and_bad_lines_back_off(self) -> None:
        await self.started()
        with capturedLogs() as events:
            for count, garbage in enumerate((b'{"type": "WEIRD", "object": {}}\n',
                                             b'{"type": "ADDED"}\n', b"not json\n"), 2):
                self.fake.send(garbage)
                await self.outcome("watch")
                await self.backs_off(0, 30)
                await self.watching(count)
        self.assertEqual(len([e for e in events if e["log_level"] == LogLevel.warn]), 1)
        self.assertEqual(self.sink.log, [("replace", ["a", "b", "c"], "103")])

    async def test_a_sink_that_raises_is_logged_with_its_traceback(self) -> None:
        await self.started()
        self.sink.fail_with = RuntimeError("a bug")
        self.fake.change(SERVICES, "ADDED", service("d"))
        await self.outcome("watch")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.sink.fail_with = None
        await self.backs_off(0.8, 1.6)
        await self.watching(2)
        self.assertEqual(await self.sink.calls(2), [("replace", ["a", "b", "c"], "103"),
                                                    ("ADDED", "d", "104")])


class DeadlineTests(ReflectorTestCase):
    """A request the server never answers (a half-open connection) is given up."""

    async def test_a_watch_open_past_its_timeout(self) -> None:
        await self.started()
        with capturedLogs() as events:
            self.clock.advance(int(self.watches()[0]["timeoutSeconds"]) + WATCH_GRACE)
            failure = await self.outcome("watch")
        self.assertIsInstance(failure.value, defer.CancelledError)
        self.assertIn("the watch had no answer in", events[0]["words"])
        await self.fake.when(lambda: not self.fake.open_watches())
        await self.backs_off(0.8, 1.6)
        await self.watching(2)

    async def test_a_list_page_unanswered_for_a_minute(self) -> None:
        self.fake.hold = True
        reflector = self.reflector()
        reflector.start()
        await self.fake.when(lambda: len(self.fake.held) == 1)
        self.clock.advance(60)
        await self.outcome("list")
        self.fake.hold, self.fake.held = False, []
        await self.backs_off(0.8, 1.6)
        await reflector.synced


class StopTests(ReflectorTestCase):
    """stop() leaves nothing running: no request, no delayed call (the cleanup checks)."""

    async def assert_stopped(self, reflector: Reflector) -> None:
        await reflector.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        await self.fake.when(lambda: not self.fake.open_watches())
        seen = len(self.fake.requests)
        self.clock.advance(3600)
        self.assertEqual(len(self.fake.requests), seen)

    async def test_while_watching(self) -> None:
        reflector = await self.started()
        await self.assert_stopped(reflector)
        failure = await self.outcome("watch")
        self.assertIsInstance(failure.value, defer.CancelledError)

    async def test_while_backing_off(self) -> None:
        self.fake.fail("list", 503)
        reflector = self.reflector()
        reflector.start()
        await self.outcome("list")
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        await self.assert_stopped(reflector)

    async def test_while_listing(self) -> None:
        self.fake.hold = True
        reflector = self.reflector()
        reflector.start()
        await self.fake.when(lambda: len(self.fake.held) == 1)
        await self.assert_stopped(reflector)
        self.fake.held = []
        self.assertFalse(reflector.has_synced())

    async def test_from_a_synced_callback(self) -> None:
        reflector = self.reflector()
        stopping: list[defer.Deferred[None]] = []
        reflector.synced.addCallback(lambda _: stopping.append(reflector.stop()))
        reflector.start()
        await reflector.synced
        await stopping[0]
        self.assertEqual((len(self.lists()), self.watches()), (1, []))

    async def test_from_the_sink(self) -> None:
        reflector = await self.started()
        stopping: list[defer.Deferred[None]] = []
        self.sink.apply = lambda *_: stopping.append(reflector.stop())
        self.fake.change(SERVICES, "ADDED", service("d"))
        await self.outcome("watch")
        await stopping[0]
        await self.assert_stopped(reflector)

    async def test_before_starting_and_twice(self) -> None:
        reflector = self.reflector()
        await reflector.stop()
        reflector.start()
        reflector.start()  # once is enough
        await reflector.synced
        await self.watching(1)
        await self.assert_stopped(reflector)
        await reflector.stop()
        self.assertEqual(len(self.lists()), 1)


class BackoffDelayTests(unittest.TestCase):
    def test_doubling_jittered_capped_and_reset(self) -> None:
        jitter = iter([0.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.99, 0.25])
        backoff = Backoff(jitter=lambda: next(jitter))
        delays = [backoff.next() for _ in range(9)]
        self.assertEqual([round(d, 3) for d in delays],
                         [0.8, 3.2, 4.8, 6.4, 12.8, 25.6, 30, 30, 30])
        backoff.reset()
        self.assertEqual(backoff.next(), 1.0)

