"""From Corefile text to a configuration ready to serve, and the service that serves it.

Loading is all-or-nothing: every block is parsed and set up before anything listens, so a
bad Corefile fails before it replaces anything.

Reload (``DNSService.reload``: SIGUSR1, the *reload* plugin, or a direct call) builds on that:

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

import os
import signal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_dns.controller import Controller
from twisted_dns.corefile import parser
from twisted_dns.corefile.keys import SCHEME_PORTS, ZoneAddr, parse_server_key
from twisted_dns.errors import ConfigError
from twisted_dns.registry import Registry
from twisted_dns.server.config import BlockConfig
from twisted_dns.server.listener import Listener
from twisted_dns.server.routing import ZoneRouter

log = Logger(namespace="server")

#: A listener's identity: (scheme, bind host, port); host "" means every address.
ListenerKey = tuple[str, str, int]


class Setup:
    """One complete configuration: every block set up, its hooks collected, nothing serving."""

    def __init__(self, filename: str, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.filename = filename
        #: where plugins get their time and timers (``task.Clock`` in tests)
        self.reactor = reactor
        self.blocks: list[BlockConfig] = []
        #: state shared by all blocks (one health endpoint, one metrics registry, ...)
        self.shared: dict[str, Any] = {}
        self.startup_hooks: list[Callable[[], Any]] = []
        self.shutdown_hooks: list[Callable[[], Any]] = []
        #: run when the server stops for good, before its listeners close (not on reload)
        self.lameduck_hooks: list[Callable[[], Any]] = []
        #: every file the configuration was read from (the Corefile and its imports)
        self.files: list[str] = []
        #: the DNSService serving (or about to serve) this configuration, for reloading it
        self.service: DNSService | None = None

    def on_lameduck(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` (it may return a Deferred) when the server starts to stop for good:
        the listeners keep answering until every such callback has finished."""
        self.lameduck_hooks.append(callback)

    def listeners(self) -> dict[ListenerKey, list[tuple[str, BlockConfig]]]:
        """Group the blocks' zones by the listener that serves them."""
        grouped: dict[ListenerKey, list[tuple[str, BlockConfig]]] = {}
        for block in self.blocks:
            for host in block.listen_hosts or [""]:
                for key in block.keys:
                    grouped.setdefault((key.scheme, host, key.port), []).append((key.zone, block))
        return grouped


def load(text: str, filename: str, registry: Registry, *, default_port: int = 53,
         reactor: Any = None, environ: Mapping[str, str] | None = None) -> Setup:
    """Parse ``text`` and set up every block; raises ConfigError with ``file:line``."""
    if reactor is None:
        from twisted.internet import reactor
    setup = Setup(filename, reactor)
    if os.path.isfile(filename):
        setup.files.append(os.path.abspath(filename))
    blocks = parser.parse(text, filename, directives=registry.names(), environ=environ,
                          imported=setup.files)
    order = registry.order()
    for block in blocks:
        keys = _block_keys(block.keys, default_port)
        config = BlockConfig(keys=keys, file=block.file, line=block.line)
        config.directives = [name for name in order if name in block.directives]
        setup.blocks.append(config)
        for name in config.directives:
            _run_setup(registry, name, block.directives[name], config, setup)
    _check_duplicates(setup)
    for config in setup.blocks:
        config.build_chain()
    return setup


def _block_keys(tokens: list, default_port: int) -> list[ZoneAddr]:
    keys = []
    for token in tokens:
        for key in parse_server_key(token):
            port = default_port if key.scheme == "dns" else SCHEME_PORTS[key.scheme]
            keys.append(key.with_port(port))
    return keys


def _run_setup(registry: Registry, name: str, tokens: list, config: BlockConfig,
               setup: Setup) -> None:
    first = tokens[0]
    try:
        setup_callable = registry.setup_for(name)
    except ConfigError as exc:
        # a broken or conflicting plugin: point at where the Corefile uses it
        raise ConfigError(exc.message, first.file, first.line) from exc
    controller = Controller(name, tokens, config, setup)
    try:
        setup_callable(controller)
    except ConfigError:
        raise
    except Exception as exc:
        # A plugin bug, not the user's: keep the traceback for us, one line for them.
        log.failure("plugin/{name}: setup failed", name=name)
        raise ConfigError(f"plugin/{name}: setup failed: {exc!r}", first.file, first.line) from exc


def _check_duplicates(setup: Setup) -> None:
    seen: set[tuple[str, str, str, int | None]] = set()
    for block in setup.blocks:
        for host in block.listen_hosts or [""]:
            for key in block.keys:
                ident = (key.scheme, key.zone, host, key.port)
                if ident in seen:
                    where = f" on {host}" if host else ""
                    raise ConfigError(f"cannot serve {key}{where} - it is already defined",
                                      key.file, key.line)
                seen.add(ident)


@dataclass
class Source:
    """Where a configuration comes from, so that a reload reads it again the same way.

    With ``path`` the file is read at every :meth:`load`; without, ``text`` is used (named
    ``filename`` in errors).
    """

    registry: Registry
    path: str | None = None
    text: str = ""
    filename: str = "Corefile"
    default_port: int = 53
    reactor: Any = None
    environ: Mapping[str, str] | None = None

    def load(self) -> Setup:
        text, filename = self.text, self.filename
        if self.path is not None:
            text, filename = parser.read_corefile(self.path), self.path
        return load(text, filename, self.registry, default_port=self.default_port,
                    reactor=self.reactor, environ=self.environ)


@dataclass
class ReloadStats:
    """The process's reload outcomes (CoreDNS exports ``coredns_reload_failed_total``)."""

    #: configurations replaced
    succeeded: int = 0
    #: reloads that kept the old configuration (bad Corefile, port in use, failed hook)
    failed: int = 0


#: process-wide, like CoreDNS's counters: every DNSService of the process counts here
stats = ReloadStats()


class DNSService(service.Service):
    """Serves one Setup at a time: a Listener per (scheme, host, port), then the hooks.

    ``source`` lets :meth:`reload` read the configuration again; ``reload_signal`` makes
    SIGUSR1 reload (twistd's service does; tests in one process leave it off).
    """

    def __init__(self, setup: Setup, listener_options: Mapping[str, Any] | None = None, *,
                 source: Source | None = None, reload_signal: bool = False) -> None:
        self.setup = setup
        setup.service = self
        self.source = source
        self.reload_signal = reload_signal
        self.listener_options = dict(listener_options or {})
        self.listeners: dict[ListenerKey, Listener] = {
            key: self._listener(key, entries) for key, entries in setup.listeners().items()}
        #: fires once every startup hook has finished (health endpoint up, zones loaded...)
        self.started: defer.Deferred = defer.Deferred()
        self._lock = defer.DeferredLock()  # one reload (or the final stop) at a time
        self._stopped: defer.Deferred | None = None
        self._previous_handler: Any = None

    def _listener(self, key: ListenerKey, entries: list[tuple[str, BlockConfig]]) -> Listener:
        scheme, host, port = key
        return Listener(scheme, host, port, ZoneRouter(entries), reactor=self.setup.reactor,
                        **self.listener_options)

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
        if self.reload_signal:
            self._install_signal_handler()
        self.started = _startup(self.setup)
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
        await _run_hooks(self.setup.lameduck_hooks, "lame duck hook", together=True)
        await _close(self.listeners.values())
        await _run_hooks(self.setup.shutdown_hooks, "shutdown hook")
        # only now: SIGUSR1's default action during the lame duck period would kill us
        self._restore_signal_handler()

    def reload(self, setup: Setup | None = None) -> defer.Deferred:
        """Replace the configuration with ``setup`` (default: ``source`` read again).

        Fires True once the new configuration serves, False when it could not be loaded or
        started (logged as one line; the old one keeps serving).
        """
        if self._stopped is not None:
            return defer.succeed(False)  # stopping for good: the lock is never released
        return self._lock.run(lambda: defer.ensureDeferred(self._reload(setup)))

    async def _reload(self, new: Setup | None) -> bool:
        if not self.running:
            return False
        try:
            if new is None:
                if self.source is None:
                    raise ConfigError("nothing to reload: the configuration has no source")
                new = self.source.load()
        except Exception:
            return _failed(Failure())
        new.service = self
        wanted = new.listeners()
        opened: dict[ListenerKey, Listener] = {}
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
        old, self.setup = self.setup, new
        for key, listener in self.listeners.items():
            if key in wanted:
                listener.router = ZoneRouter(wanted[key])
        closing = [self.listeners.pop(key) for key in list(self.listeners) if key not in wanted]
        self.listeners.update(opened)
        stats.succeeded += 1
        log.info("reloaded the configuration from {files}", files=new.files or new.filename)
        await _close(closing)
        await _run_hooks(old.shutdown_hooks, "shutdown hook")
        return True

    def _install_signal_handler(self) -> None:
        """SIGUSR1 reloads, as in CoreDNS; a handler already there (twistd rotating its
        ``--logfile``) still runs too."""
        reactor = self.setup.reactor
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


def _startup(setup: Setup) -> defer.Deferred:
    """Run every startup hook at once; fires when all have, fails with the first failure."""
    return defer.gatherResults(
        [defer.maybeDeferred(hook) for hook in setup.startup_hooks], consumeErrors=True)


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
