"""From Corefile text to a configuration ready to serve (the configuration path).

Loading is all-or-nothing: every block is parsed and set up before anything listens, so a
bad Corefile fails before it replaces anything. Nothing here opens a socket: a configuration
is served (and replaced on reload) by :class:`twisted_dns.server.service.DNSService`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.logger import Logger

from twisted_dns.config.block import BlockConfig
from twisted_dns.config.controller import Controller
from twisted_dns.corefile import parser
from twisted_dns.corefile.keys import SCHEME_PORTS, ZoneAddr, parse_server_key
from twisted_dns.errors import ConfigError
from twisted_dns.registry import Registry

log = Logger(namespace="config")

#: A listener's identity: (scheme, bind host, port); host "" means every address.
ListenerKey = tuple[str, str, int]


class Configuration:
    """One complete configuration: every block set up, its hooks collected, nothing serving.

    It knows nothing of the service that serves it; that service tells it, through
    :meth:`serve_with`, how to reload it and which ports its listeners got, which is all the
    plugins ask of it (through their Controller).
    """

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
        #: ``factory(query_handler) -> observer``: attached to every listener serving this
        #: configuration, detached when it is replaced (see Controller.observe_queries)
        self.query_observers: list[Callable[[Any], Callable[[Any, Any], None]]] = []
        self._reload: Callable[[], Any] | None = None
        self._port_of: Callable[[ListenerKey], int | None] = lambda key: None

    def serve_with(self, reload: Callable[[], Any],
                   port_of: Callable[[ListenerKey], int | None]) -> None:
        """Called by the service about to serve this configuration: how to reload it, and
        the port a listener got (a port 0 in the Corefile gets a real number)."""
        self._reload = reload
        self._port_of = port_of

    def bound_port(self, key: ListenerKey) -> int | None:
        """The port the listener ``key`` listens on; None before it is serving."""
        return self._port_of(key)

    def request_reload(self) -> Any:
        """Ask the service serving this configuration to reload it (nothing when none does);
        returns its Deferred (fires True once reloaded) or None."""
        return self._reload() if self._reload is not None else None

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
         reactor: Any = None, environ: Mapping[str, str] | None = None) -> Configuration:
    """Parse ``text`` and set up every block; raises ConfigError with ``file:line``."""
    if reactor is None:
        from twisted.internet import reactor
    configuration = Configuration(filename, reactor)
    if os.path.isfile(filename):
        configuration.files.append(os.path.abspath(filename))
    blocks = parser.parse(text, filename, directives=registry.names(), environ=environ,
                          imported=configuration.files)
    order = registry.order()
    for block in blocks:
        keys = _block_keys(block.keys, default_port)
        config = BlockConfig(keys=keys, file=block.file, line=block.line)
        config.directives = [name for name in order if name in block.directives]
        configuration.blocks.append(config)
        for name in config.directives:
            _run_setup(registry, name, block.directives[name], config, configuration)
    _check_duplicates(configuration)
    for config in configuration.blocks:
        config.build_chain()
    return configuration


def _block_keys(tokens: list, default_port: int) -> list[ZoneAddr]:
    keys = []
    for token in tokens:
        for key in parse_server_key(token):
            port = default_port if key.scheme == "dns" else SCHEME_PORTS[key.scheme]
            keys.append(key.with_port(port))
    return keys


def _run_setup(registry: Registry, name: str, tokens: list, config: BlockConfig,
               configuration: Configuration) -> None:
    first = tokens[0]
    try:
        setup_callable = registry.setup_for(name)
    except ConfigError as exc:
        # a broken or conflicting plugin: point at where the Corefile uses it
        raise ConfigError(exc.message, first.file, first.line) from exc
    controller = Controller(name, tokens, config, configuration)
    try:
        setup_callable(controller)
    except ConfigError:
        raise
    except Exception as exc:
        # A plugin bug, not the user's: keep the traceback for us, one line for them.
        log.failure("plugin/{name}: setup failed", name=name)
        raise ConfigError(f"plugin/{name}: setup failed: {exc!r}", first.file, first.line) from exc


def _check_duplicates(configuration: Configuration) -> None:
    seen: set[tuple[str, str, str, int | None]] = set()
    for block in configuration.blocks:
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

    def load(self) -> Configuration:
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
