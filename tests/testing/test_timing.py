"""``eventually`` and ``ClockedReactor`` (``twisted_dns.testing.timing``)."""

from __future__ import annotations

import threading

from twisted.internet import defer, reactor, task
from twisted.trial import unittest
from twisted.trial.unittest import FailTest

from twisted_dns.testing import ClockedReactor, eventually


class EventuallyTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()

    def test_fires_with_the_first_true_result_asking_each_interval(self) -> None:
        results = iter([0, None, "ready", "later"])
        asked: list[float] = []

        def condition():
            asked.append(self.clock.seconds())
            return next(results)

        waited = eventually(condition, 10, 2, reactor=self.clock)
        self.assertEqual(asked, [0])  # asked at once
        self.clock.advance(1.9)
        self.assertNoResult(waited)
        self.clock.pump([0.1, 2])
        self.assertEqual(self.successResultOf(waited), "ready")
        self.assertEqual(asked, [0, 2, 4])

    def test_times_out_with_a_clear_failure(self) -> None:
        log = ["starting"]
        waited = eventually(lambda: [], 5, 1, reactor=self.clock,
                            message=lambda: f"no answer; log: {' '.join(log)}")
        log.append("crashed")  # the message is made at the failure, not before
        self.clock.pump([1] * 4)
        self.assertNoResult(waited)
        self.clock.advance(1)
        failure = self.failureResultOf(waited, FailTest)
        self.assertEqual(str(failure.value),
                         "no answer; log: starting crashed: still not true after 5s "
                         "(last result [])")

    def test_the_condition_named_without_a_message(self) -> None:
        def zone_loaded() -> bool:
            return False

        waited = eventually(zone_loaded, 1, reactor=self.clock)
        self.clock.pump([0.5] * 2)
        self.assertIn("zone_loaded: still not true after 1s (last result False)",
                      str(self.failureResultOf(waited, FailTest).value))

    def test_a_deferred_result_counts(self) -> None:
        pending = defer.Deferred()
        answers = iter([defer.succeed(False), pending])
        waited = eventually(lambda: next(answers), reactor=self.clock)
        self.clock.advance(0.05)
        self.assertNoResult(waited)  # waiting for the condition's own Deferred
        pending.callback(42)
        self.assertEqual(self.successResultOf(waited), 42)

    def test_an_error_fails_at_once(self) -> None:
        waited = eventually(lambda: 1 / 0, reactor=self.clock)
        self.failureResultOf(waited, ZeroDivisionError)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    @defer.inlineCallbacks
    def test_in_thread(self):
        """A blocking probe runs outside the reactor thread."""
        main = threading.current_thread()
        where = yield eventually(threading.current_thread, in_thread=True)
        self.assertIsNot(where, main)


class ClockedReactorTests(unittest.TestCase):
    def test_time_from_the_clock_the_rest_from_the_reactor(self) -> None:
        clocked = ClockedReactor()
        fired: list[float] = []
        clocked.callLater(3, lambda: fired.append(clocked.seconds()))
        self.assertEqual(len(clocked.getDelayedCalls()), 1)
        clocked.advance(2.9)
        self.assertEqual(fired, [])
        clocked.advance(0.1)
        self.assertEqual(fired, [3])
        self.assertEqual(clocked.getDelayedCalls(), [])
        self.assertEqual(clocked.listenUDP, reactor.listenUDP)

    @defer.inlineCallbacks
    def test_real_threads(self):
        from twisted.internet import threads

        clocked = ClockedReactor()
        result = yield threads.deferToThreadPool(clocked, clocked.getThreadPool(), lambda: 7)
        self.assertEqual(result, 7)
