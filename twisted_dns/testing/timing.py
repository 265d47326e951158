"""Time in tests: wait for a condition without sleeping, and drive a plugin's timers by hand.

    yield eventually(lambda: plugin.zones["example.org."].serial == 2)
    yield eventually(lambda: ask(port, "example.org") == 0, 30, in_thread=True)

``eventually`` asks again every ``interval`` seconds of reactor time, so the reactor keeps
serving meanwhile; a blocking probe (a query to another process, an HTTP GET) runs in a thread
with ``in_thread=True``. :class:`ClockedReactor` is the real reactor with a ``task.Clock`` for
its time: a server or a connection pool does real I/O while its timers fire only when the test
advances the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task, threads
from twisted.trial.unittest import FailTest


def eventually(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
               *, reactor: Any = None, in_thread: bool = False,
               message: str | Callable[[], str] | None = None) -> defer.Deferred:
    """Fire with ``condition()``'s first true result, asking every ``interval`` seconds.

    ``condition`` may return a Deferred (its result counts) and may raise (that fails at once:
    a probe that cannot work should not be retried). After ``timeout`` seconds of ``reactor``
    time (the global reactor by default) it fails the test with ``message`` (a callable is
    called then: a process's log, say) and the last result.
    """
    if reactor is None:
        from twisted.internet import reactor
    check = (lambda: threads.deferToThread(condition)) if in_thread else condition

    async def poll() -> Any:
        deadline = reactor.seconds() + timeout
        while True:
            result = await defer.maybeDeferred(check)
            if result:
                return result
            if reactor.seconds() >= deadline:
                what = message() if callable(message) else message
                raise FailTest(f"{what or getattr(condition, '__qualname__', condition)}: "
                               f"still not true after {timeout}s (last result {result!r})")
            await task.deferLater(reactor, interval, lambda: None)

    return defer.ensureDeferred(poll())


class ClockedReactor:
    """The real reactor, but with ``clock`` (a new ``task.Clock`` by default) for its time.

    Pass it where a server or a plugin takes a reactor: sockets, threads and processes are
    real, while ``callLater`` and ``seconds`` are the clock's, moved on by :meth:`advance`.
    """

    def __init__(self, clock: task.Clock | None = None, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.clock = clock if clock is not None else task.Clock()
        self._reactor = reactor

    def seconds(self) -> float:
        return self.clock.seconds()

    def callLater(self, delay: float, function: Callable[..., Any], *args: Any,  # noqa: N802
                  **kwargs: Any) -> Any:
        return self.clock.callLater(delay, function, *args, **kwargs)

    def getDelayedCalls(self) -> list[Any]:  # noqa: N802 - IReactorTime
        return self.clock.getDelayedCalls()

    def advance(self, amount: float) -> None:
        """Move the clock on by ``amount`` seconds, firing the calls that fall due."""
        self.clock.advance(amount)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)
