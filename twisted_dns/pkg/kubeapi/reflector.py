"""List, then watch, one collection of the Kubernetes API into a sink: client-go's Reflector.

    reflector = Reflector(client, reactor, "/api/v1/services", sink, label_selector="a=b")
    reflector.start()
    await reflector.synced              # the first sink.replace(items, resource_version)
    ...                                 # sink.apply("ADDED" | "MODIFIED" | "DELETED", obj)
    await reflector.stop()

Theory of operation (client-go's ``tools/cache/reflector.go``, one coroutine, no thread):

- **List** in pages of LIST_PAGE with ``continue`` tokens: the first list at
  ``resourceVersion=0`` (served from the API server's watch cache), a relist at the last
  version seen (``NotOlderThan``), and after a 410 on a list at no version (a quorum read).
  A 410 on a ``continue`` token (the snapshot was compacted between pages) starts the list
  again. The whole list goes to ``sink.replace`` at once, with its resourceVersion.
- **Watch** from that version with bookmarks and a random ``timeoutSeconds`` of 300-600 (so
  that watches of many replicas do not end together). Events go to ``sink.apply`` in order;
  BOOKMARK only moves the version; an ERROR with code 410 (or an HTTP 410) means the version
  is gone: list again. A stream the server ends is watched again from the last version.
- **Failures** (refused or broken connections, 5xx, 429, any other error, a watch that ends
  at once with no event, a request left unanswered past its deadline) wait on ``clock`` for
  an exponential, jittered backoff (0.8 s doubling to 30 s), then resume where they were:
  the list if it had not completed, else the watch from the last version. A watch that
  delivers an event, or ends cleanly, resets the backoff. Each kind of failure is logged
  once (namespace "kubernetes"), not once per retry, and recovery once.
- ``stop()`` cancels whatever is in flight or waiting; it leaves no delayed call.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import defer, task
from twisted.internet.error import ConnectError, ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from twisted_dns.pkg.kubeapi.client import APIError, KubeClient

log = Logger(namespace="kubernetes")

LIST_PAGE = 500
#: client-go's defaultMinWatchTimeout: a watch asks the server to end it after 300-600 s
MIN_WATCH_TIMEOUT = 300
#: a list page still unanswered after this long is abandoned (a half-open connection)
LIST_DEADLINE = 60.0
#: a watch still open this long after its timeoutSeconds is abandoned, for the same reason
WATCH_GRACE = 60.0
#: a watch that ends sooner than this, with no event, is a failure (client-go's rule)
SHORT_WATCH = 1.0


class Sink(Protocol):
    """Where a Reflector puts what it reads (the kubernetes plugin's indexes)."""

    def replace(self, items: list[dict], resource_version: str) -> None: ...

    def apply(self, event_type: str, obj: dict) -> None: ...


class Backoff:
    """client-go's ExponentialBackoffManager delays: ``initial`` doubling up to ``cap``, each
    stretched by up to its own length at random (and never past ``cap``)."""

    def __init__(self, initial: float = 0.8, cap: float = 30.0, factor: float = 2.0,
                 jitter: Callable[[], float] = random.random) -> None:
        self.initial, self.cap, self.factor, self._jitter = initial, cap, factor, jitter
        self._failures = 0

    def next(self) -> float:
        delay = min(self.cap, self.initial * self.factor ** self._failures)
        self._failures += 1
        return min(self.cap, delay * (1 + self._jitter()))

    def reset(self) -> None:
        self._failures = 0


class _GoneError(Exception):
    """The resource version asked for is older than the server keeps (HTTP 410)."""


class _ShortWatchError(Exception):
    """A watch the server ended at once, with no event (client-go backs off too)."""


#: what ends a request in the ordinary course of a network's life (logged without traceback)
_EXPECTED = (APIError, ConnectError, ConnectionLost, ResponseFailed, ResponseNeverReceived,
             TimeoutError, ValueError, _ShortWatchError)


class Reflector:
    """Keeps ``sink`` a copy of the objects at ``path`` (a collection such as
    ``/api/v1/services``), optionally narrowed by label and field selectors."""

    def __init__(self, client: KubeClient, clock: Any, path: str, sink: Sink,
                 label_selector: str | None = None, field_selector: str | None = None) -> None:
        self._client, self._clock, self._path, self._sink = client, clock, path, sink
        self._selectors = {key: value for key, value in (("labelSelector", label_selector),
                                                         ("fieldSelector", field_selector))
                           if value}
        #: fires once, after the first sink.replace
        self.synced: defer.Deferred[None] = defer.Deferred()
        self._backoff = Backoff()
        self._version = ""
        self._version_gone = False
        self._events = 0
        self._reported: str | None = None
        self._running: defer.Deferred[None] | None = None
        self._stopping = False
        self._waiting_on: defer.Deferred[Any] | None = None

    def has_synced(self) -> bool:
        return self.synced.called

    def start(self) -> None:
        if self._running is None:
            self._stopping = False
            running = defer.Deferred.fromCoroutine(self._run())
            self._running = running.addErrback(lambda failure: failure.trap(defer.CancelledError))

    def stop(self) -> defer.Deferred[None]:
        """Cancel the request or wait in progress; fires when the reflector has stopped.
        Safe from the sink or a ``synced`` callback too (nothing more is sent then)."""
        running, self._running = self._running, None
        if running is None:
            return defer.succeed(None)
        self._stopping = True
        if self._waiting_on is not None:
            self._waiting_on.cancel()
        return running

    async def _run(self) -> None:
        listed = False
        while not self._stopping:
            try:
                if listed:
                    await self._watch()
                else:
                    await self._list()
                    listed = True
            except _GoneError:
                log.debug("{path}: resource version {version} is gone, listing again",
                          path=self._path, version=self._version)
                listed = False
            except Exception:
                if self._stopping:  # whatever cancelling left behind
                    return
                self._failed(Failure())
                await self._until(task.deferLater(self._clock, self._backoff.next()))

    async def _until(self, waiting: defer.Deferred[Any]) -> Any:
        """``waiting``'s result; what stop() cancels."""
        self._waiting_on = waiting
        try:
            return await waiting
        finally:
            self._waiting_on = None

    def _first_page(self) -> dict[str, str]:
        params = {**self._selectors, "limit": str(LIST_PAGE)}
        if self._version_gone:
            return params
        if not self._version:
            return {**params, "resourceVersion": "0"}
        return {**params, "resourceVersion": self._version,
                "resourceVersionMatch": "NotOlderThan"}

    async def _list(self) -> None:
        items: list[dict] = []
        params = self._first_page()
        restarted = False
        while True:
            try:
                page = await self._within(self._client.get(self._path, params), LIST_DEADLINE,
                                          "list")
            except APIError as error:
                if error.status != 410:
                    raise
                if "continue" in params:  # the snapshot was compacted between pages
                    if restarted:
                        raise
                    restarted = True
                elif self._version_gone:  # even the newest version is gone
                    raise
                else:
                    self._version_gone = True
                items, params = [], self._first_page()
                continue
            metadata = page.get("metadata") or {}
            items.extend(page.get("items") or [])
            if not metadata.get("continue"):
                break
            params = {**self._selectors, "limit": str(LIST_PAGE),
                      "continue": str(metadata["continue"])}
        if not metadata.get("resourceVersion"):
            raise ValueError(f"the list of {self._path} has no resourceVersion")
        self._version, self._version_gone = str(metadata["resourceVersion"]), False
        self._sink.replace(items, self._version)
        if not self.synced.called:
            self.synced.callback(None)

    async def _watch(self) -> None:
        timeout = int(MIN_WATCH_TIMEOUT * (1 + random.random()))
        params = {**self._selectors, "watch": "1", "resourceVersion": self._version,
                  "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout)}
        self._events = 0
        started = self._clock.seconds()
        try:
            await self._within(self._client.watch(self._path, params, self._on_event),
                               timeout + WATCH_GRACE, "watch")
        except APIError as error:
            if error.status == 410:
                raise _GoneError() from None
            raise
        if not self._events and self._clock.seconds() - started < SHORT_WATCH:
            raise _ShortWatchError("the watch ended at once, with no event")
        self._healthy()

    def _on_event(self, event: dict) -> None:
        kind, obj = event.get("type"), event.get("object")
        if not isinstance(obj, dict):
            raise ValueError(f"a watch event ({kind}) has no object")
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410 or obj.get("reason") in ("Expired", "Gone"):
                raise _GoneError()
            raise APIError(code if isinstance(code, int) else 500, str(obj.get("reason", "")),
                           json.dumps(obj).encode())
        if kind not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
            raise ValueError(f"unknown watch event type {kind!r}")
        if kind != "BOOKMARK":
            self._sink.apply(kind, obj)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self._version = str(version)
        self._events += 1
        if self._events == 1:
            self._healthy()

    async def _within(self, request: defer.Deferred[Any], seconds: float, what: str) -> Any:
        """``request``'s result, or TimeoutError when ``seconds`` of ``clock`` pass first."""
        timer = self._clock.callLater(seconds, request.cancel)
        try:
            return await self._until(request)
        except defer.CancelledError:
            if timer.called:
                raise TimeoutError(f"the {what} had no answer in {seconds:g} s") from None
            raise
        finally:
            if timer.active():
                timer.cancel()

    def _healthy(self) -> None:
        self._backoff.reset()
        if self._reported is not None:
            self._reported = None
            log.info("{path}: watching again", path=self._path)

    def _failed(self, failure: Failure) -> None:
        error = failure.value
        kind = f"HTTP {error.status}" if isinstance(error, APIError) else type(error).__name__
        if kind == self._reported:
            return
        self._reported = kind
        if not isinstance(error, _EXPECTED):
            log.failure("{path}: unexpected failure, retrying with backoff", failure,
                        path=self._path)
            return
        reasons = getattr(error, "reasons", None)  # ResponseFailed and its kin
        words = reasons[0].getErrorMessage() if reasons else str(error) or kind
        log.warn("{path}: {words}; retrying with backoff", path=self._path, words=words)
