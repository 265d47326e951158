"""The service that serves a loaded configuration and swaps it on reload.

A :class:`~twisted_dns.config.Configuration` comes from the configuration path
(:mod:`twisted_dns.config`), complete and not yet serving. Reload (``DNSService.reload``:
SIGUSR1, the *reload* plugin, or a direct call) builds on that:

1. load the new configuration completely (a ConfigError: the old one keeps serving);
2. open the listeners only the new one has, then run its startup hooks (a port in use or a
   failing hook: undo those two steps, the old one keeps serving);
3. swap: listeners on an unchanged (scheme, host, port) keep their sockets and get the new
   router (queries in flight finish with the old chain, so none is lost); listeners the new
   configuration lacks close;
4. run the old configuration's shutdown hooks (its timers and connections stop).

HTTP endpoints (health, ready, metrics) survive step 2 by taking over the old configuration's
open port (:mod:`twisted_dns.pkg.sharedports`) instead of closing and reopening it.

Stopping (SIGTERM: twistd stops the service before the reactor) is: lame duck hooks (health
answers 503 for its lame duck duration, ready at once, while DNS keeps answering), then the
listeners drain (stop reading, answer the queries in flight within their deadline) and close,
then the shutdown hooks run. A listener a reload removes drains the same way before the old
configuration's shutdown hooks run.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_dns.config import BlockConfig, Configuration, ListenerKey, Source, stats
from twisted_dns.errors import ConfigError
from twisted_dns.server.listener import Listener
from twisted_dns.server.routing import ZoneRouter

log = Logger(namespace="server")


class DNSService(service.Service):
    """Serves one Configuration at a time: a Listener per (scheme, host, port), then the hooks.

    ``source`` lets :meth:`reload` read the configuration again; ``reload_signal`` makes
    SIGUSR1 reload (twistd's service does; tests in one process leave it off).
    """

    def __init__(self, configuration: Configuration,
                 listener_options: Mapping[str, Any] | None = None, *,
                 source: Source | None = None, reload_signal: bool = False) -> None:
        self.configuration = configuration
        self.source = source
        self.reload_signal = reload_signal
        self.listener_options = dict(listener_options or {})
        self.listeners: dict[ListenerKey, Listener] = {
            key: self._listener(key, entries)
            for key, entries in configuration.listeners().items()}
        #: listeners a reload is opening, not serving yet (their ports are known already)
        self._opening: dict[ListenerKey, Listener] = {}
        #: the query observers the serving configuration attached, per listener
        self._observers: dict[ListenerKey, list[Any]] = {}
        configuration.serve_with(self.reload, self._port_of)
        #: fires once every startup hook has finished (health endpoint up, zones loaded...)
        self.started: defer.Deferred = defer.Deferred()
        self._lock = defer.DeferredLock()  # one reload (or the final stop) at a time
        self._stopped: defer.Deferred | None = None
        self._previous_handler: Any = None

    def _listener(self, key: ListenerKey, entries: list[tuple[str, BlockConfig]]) -> Listener:
        scheme, host, port = key
        return Listener(scheme, host, port, ZoneRouter(entries), reactor=self.configuration.reactor,
                        **self.listener_options)

    def _port_of(self, key: ListenerKey) -> int | None:
        listener = self.listeners.get(key) or self._opening.get(key)
        return listener.port if listener is not None else None

    def _observe(self) -> None:
        """Attach the serving configuration's query observers to every listener, taking
        the previous configuration's off."""
        for key in list(self._observers):
            listener = self.listeners.get(key)
            for observer in self._observers.pop(key):
                if listener is not None:
                    listener.handler.observers.remove(observer)
        for key, listener in self.listeners.items():
            handler = listener.handler
            observers = [factory(handler) for factory in self.configuration.query_observers]
            handler.observers.extend(observers)
            self._observers[key] = observers

    def startService(self) -> None:  # noqa: N802 - Twisted's name
        opened: list[Listener] = []
        try:
            for listener in self.listeners.values():
                listener.startService()
                opened.append(listener)
        except BaseException:
            _close(opened)
            raise
        super().startService()
        self._observe()
        if self.reload_signal:
            self._install_signal_handler()
        self.started = _startup(self.configuration)
        self.started.addErrback(self._startup_failed)

    def _startup_failed(self, failure: Any) -> Any:
        failure = _cause(failure)
        _report("a plugin failed to start", failure)
        return failure

    def stopService(self) -> defer.Deferred:  # noqa: N802 - Twisted's name
        """Lame duck, drain and close the listeners, run the shutdown hooks; calling again
        waits too."""
        if self._stopped is None:
            self._stopped = defer.ensureDeferred(self._stop())
        waiter: defer.Deferred = defer.Deferred()
        self._stopped.addBoth(lambda result: (waiter.callback(None), result)[1])
        return waiter

    async def _stop(self) -> None:
        await self._lock.acquire()  # a reload in progress finishes first; none starts after
        super().stopService()
        await _run_hooks(self.configuration.lameduck_hooks, "lame duck hook", together=True)
        await _close(self.listeners.values())
        await _run_hooks(self.configuration.shutdown_hooks, "shutdown hook")
        # only now: SIGUSR1's default action during the lame duck period would kill us
        self._restore_signal_handler()

    def reload(self, configuration: Configuration | None = None) -> defer.Deferred:
        """Replace the configuration with ``configuration`` (default: ``source`` read again).

        Fires True once the new configuration serves, False when it could not be loaded or
        started (logged as one line; the old one keeps serving).
        """
        if self._stopped is not None:
            return defer.succeed(False)  # stopping for good: the lock is never released
        return self._lock.run(lambda: defer.ensureDeferred(self._reload(configuration)))

    async def _reload(self, new: Configuration | None) -> bool:
        if not self.running:
            return False
        try:
            if new is None:
                if self.source is None:
                    raise ConfigError("nothing to reload: the configuration has no source")
                new = self.source.load()
        except Exception:
            return _failed(Failure())
        new.serve_with(self.reload, self._port_of)
        wanted = new.listeners()
        opened = self._opening = {}
        try:
            for key, entries in wanted.items():
                if key not in self.listeners:
                    opened[key] = listener = self._listener(key, entries)
                    listener.startService()
            await _startup(new)
        except Exception:
            failure = _cause(Failure())
            await _close(listener for listener in opened.values() if listener.running)
            await _run_hooks(new.shutdown_hooks, "shutdown hook")
            return _failed(failure)
        finally:
            self._opening = {}
        old, self.configuration = self.configuration, new
        for key, listener in self.listeners.items():
            if key in wanted:
                listener.router = ZoneRouter(wanted[key])
        closing = [self.listeners.pop(key) for key in list(self.listeners) if key not in wanted]
        self.listeners.update(opened)
        self._observe()
        stats.succeeded += 1
        log.info("reloaded the configuration from {files}", files=new.files or new.filename)
        await _close(closing)
        await _run_hooks(old.shutdown_hooks, "shutdown hook")
        return True

    def _install_signal_handler(self) -> None:
        """SIGUSR1 reloads, as in CoreDNS; a handler already there (twistd rotating its
        ``--logfile``) still runs too."""
        reactor = self.configuration.reactor
        previous = signal.getsignal(signal.SIGUSR1)
        if previous is None:  # installed outside Python: cannot be restored, use the default
            previous = signal.SIG_DFL

        def handler(signum: int, frame: Any) -> None:
            reactor.callFromThread(self._signalled)
            if callable(previous):
                previous(signum, frame)

        self._previous_handler = previous
        signal.signal(signal.SIGUSR1, handler)

    def _restore_signal_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGUSR1, self._previous_handler)
            self._previous_handler = None

    def _signalled(self) -> None:
        log.info("SIGUSR1 received: reloading")
        self.reload()


def _startup(configuration: Configuration) -> defer.Deferred:
    """Run every startup hook at once; fires when all have, fails with the first failure."""
    return defer.gatherResults(
        [defer.maybeDeferred(hook) for hook in configuration.startup_hooks], consumeErrors=True)


async def _run_hooks(hooks: list[Callable[[], Any]], what: str, together: bool = False) -> None:
    """Run ``hooks`` one after the other (or all at once); a failure is logged, not raised."""

    def logged(failure: Any) -> None:
        log.failure("{what} failed", _cause(failure), what=what)

    if together:
        await defer.DeferredList([defer.maybeDeferred(hook).addErrback(logged)
                                  for hook in hooks])
        return
    for hook in hooks:
        await defer.maybeDeferred(hook).addErrback(logged)


def _close(listeners: Iterable[Listener]) -> defer.Deferred:
    """Drain and stop ``listeners`` together; fires when all are closed."""
    return defer.DeferredList([defer.maybeDeferred(listener.stopService)
                               for listener in listeners])


def _cause(failure: Failure) -> Failure:
    """The failure itself, or the first one gatherResults wrapped in a FirstError."""
    while isinstance(failure.value, defer.FirstError):
        failure = failure.value.subFailure
    return failure


def _failed(failure: Failure) -> bool:
    """Count and log a failed reload."""
    stats.failed += 1
    _report("reload failed, the previous configuration keeps serving", failure)
    return False


def _report(what: str, failure: Failure) -> None:
    """Log ``what`` went wrong: one line for a user's error, a traceback for a bug."""
    if failure.check(ConfigError):
        log.error("{what}: {error}", what=what, error=str(failure.value))
    else:
        log.failure(what, failure)
