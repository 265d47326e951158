"""From Corefile text to a configuration ready to serve, and the service that serves it.

Loading is all-or-nothing: every block is parsed and set up before anything listens, so a
bad Corefile fails before it replaces anything (reload relies on this).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from twisted_dns.controller import Controller
from twisted_dns.corefile import parser
from twisted_dns.corefile.keys import SCHEME_PORTS, ZoneAddr, parse_key
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

    def __init__(self, filename: str, reactor: Any) -> None:
        self.filename = filename
        self.reactor = reactor
        self.blocks: list[BlockConfig] = []
        #: state shared by all blocks (one health endpoint, one metrics registry, ...)
        self.shared: dict[str, Any] = {}
        self.startup_hooks: list[Callable[[], Any]] = []
        self.shutdown_hooks: list[Callable[[], Any]] = []
        #: every file the configuration was read from (the Corefile and its imports)
        self.files: list[str] = []

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
        for key in parse_key(token):
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


class DNSService(service.MultiService):
    """Serves one Setup: a Listener per (scheme, host, port), then the startup hooks."""

    def __init__(self, setup: Setup, listener_options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.setup = setup
        self.listeners: dict[ListenerKey, Listener] = {}
        #: fires once every startup hook has finished (health endpoint up, zones loaded...)
        self.started: defer.Deferred = defer.Deferred()
        for key, entries in setup.listeners().items():
            scheme, host, port = key
            listener = Listener(scheme, host, port, ZoneRouter(entries), reactor=setup.reactor,
                                **dict(listener_options or {}))
            listener.setServiceParent(self)
            self.listeners[key] = listener

    def startService(self) -> None:  # noqa: N802 - Twisted's name
        super().startService()
        self.started = defer.gatherResults(
            [defer.maybeDeferred(hook) for hook in self.setup.startup_hooks], consumeErrors=True)
        self.started.addErrback(self._startup_failed)

    def _startup_failed(self, failure: Any) -> Any:
        log.failure("a plugin failed to start", failure.value.subFailure
                    if isinstance(failure.value, defer.FirstError) else failure)
        return failure

    @defer.inlineCallbacks
    def stopService(self):  # noqa: N802 - Twisted's name
        for hook in self.setup.shutdown_hooks:
            try:
                yield hook()
            except Exception:
                log.failure("shutdown hook failed")
        yield super().stopService()
