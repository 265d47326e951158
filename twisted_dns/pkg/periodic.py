"""A check a plugin runs every N seconds on the reactor's clock (reload a file, rescan...).

    self.poll = Periodic(self.check, "zone reload loop for example.org.")
    poll.start(interval, clock)   # first call one interval from now; 0 or less: never
    poll.stop()

A check returning a Deferred is waited for before the next one is due. A check that raises
stops the loop and is logged once, with ``what``: a broken check must not spin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import task
from twisted.logger import Logger

log = Logger(namespace="periodic")


class Periodic:
    """``call`` every ``interval`` seconds between :meth:`start` and :meth:`stop`."""

    def __init__(self, call: Callable[[], Any], what: str) -> None:
        self.call = call
        self.what = what
        self._loop: task.LoopingCall | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self, interval: float, clock: Any = None) -> None:
        """Call every ``interval`` seconds of ``clock`` (the reactor by default), the first
        time one interval from now; nothing when it is 0 or less, or already started."""
        if interval <= 0 or self._loop is not None:
            return
        if clock is None:
            from twisted.internet import reactor as clock
        self._loop = task.LoopingCall(self.call)
        self._loop.clock = clock
        self._loop.start(interval, now=False).addErrback(
            lambda failure: log.failure("{what} stopped", failure, what=self.what))

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and loop.running:
            loop.stop()
