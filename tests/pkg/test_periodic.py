"""pkg.periodic: a check every N seconds of the reactor's clock."""

from __future__ import annotations

from twisted.internet import defer, task
from twisted.logger import LogLevel, capturedLogs
from twisted.trial import unittest

from twisted_dns.pkg.periodic import Periodic


class PeriodicTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.calls: list[float] = []

    def check(self) -> None:
        self.calls.append(self.clock.seconds())

    def test_every_interval_from_one_interval_on(self) -> None:
        poll = Periodic(self.check, "test loop")
        poll.start(10, self.clock)
        self.clock.pump([5] * 7)
        self.assertEqual(self.calls, [10, 20, 30])
        poll.stop()
        self.clock.advance(100)
        self.assertEqual(self.calls, [10, 20, 30])
        self.assertFalse(poll.running)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_zero_never_runs_and_a_second_start_is_ignored(self) -> None:
        poll = Periodic(self.check, "test loop")
        poll.start(0, self.clock)
        self.assertFalse(poll.running)
        poll.start(10, self.clock)
        poll.start(1, self.clock)
        self.clock.pump([1] * 10)
        self.assertEqual(self.calls, [10])

    def test_waits_for_a_deferred(self) -> None:
        pending: list[defer.Deferred] = []

        def slow() -> defer.Deferred:
            pending.append(defer.Deferred())
            return pending[-1]

        poll = Periodic(slow, "test loop")
        poll.start(1, self.clock)
        self.clock.pump([1] * 5)
        self.assertEqual(len(pending), 1)
        pending[0].callback(None)
        self.clock.advance(1)
        self.assertEqual(len(pending), 2)
        poll.stop()

    def test_a_raising_check_stops_and_is_logged_once(self) -> None:
        def broken() -> None:
            raise RuntimeError("boom")

        poll = Periodic(broken, "zone reload loop for example.org.")
        poll.start(1, self.clock)
        with capturedLogs() as events:
            self.clock.pump([1] * 5)
        failures = [e for e in events if e["log_level"] == LogLevel.critical]
        self.assertEqual(len(failures), 1)
        self.assertEqual(failures[0]["what"], "zone reload loop for example.org.")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
