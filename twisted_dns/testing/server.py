"""Serve a Corefile on loopback, in this reactor, and query it as a client would.

    server = yield start_server(". { whoami }")
    reply = yield server.query("example.org", "A", proto="tcp")
    yield server.stop()

Blocks without a port listen on one OS-chosen port (the same number for UDP and TCP).
Queries use dnspython in a thread, as a real client would, so the server in this reactor keeps
serving while the client waits. The installed plugins serve; ``plugins={"echoname": setup}``
adds one that is not installed (the plugin under test, or a stand-in written for the test).
"""

from __future__ import annotations

import importlib.metadata
import socket
from collections.abc import Callable, Mapping
from typing import Any

import dns.message
import dns.query
from twisted.internet import defer, threads

from twisted_dns.config import Configuration
from twisted_dns.config import load as load_configuration
from twisted_dns.registry import GROUP, Registry
from twisted_dns.server.service import DNSService

_registry: Registry | None = None


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` right now (for peers started by tests)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both UDP and TCP on {host}")


def default_registry() -> Registry:
    """The installed plugins, discovered once per process."""
    global _registry
    if _registry is None:
        _registry = Registry.discover()
    return _registry


def registry_with(plugins: Mapping[str, Callable[..., None]]) -> Registry:
    """The installed plugins and ``plugins`` (directive -> setup, a module-level callable),
    all placed in the chain the same way; these replace installed ones of the same name."""
    installed = [entry for entry in importlib.metadata.entry_points(group=GROUP)
                 if entry.name not in plugins]
    extra = [importlib.metadata.EntryPoint(name, f"{setup.__module__}:{setup.__qualname__}",
                                           GROUP) for name, setup in plugins.items()]
    return Registry.discover([*installed, *extra])


class RunningServer:
    """A started :class:`~twisted_dns.server.DNSService` and a client for it."""

    host = "127.0.0.1"

    def __init__(self, service: DNSService) -> None:
        self.service = service

    @property
    def configuration(self) -> Configuration:
        """The configuration serving now (a reload replaces it)."""
        return self.service.configuration

    @property
    def port(self) -> int:
        """The port of the first listener (the one most tests have)."""
        return next(iter(self.service.listeners.values())).port

    def query(self, name: str, rdtype: str | int = "A", rdclass: str | int = "IN",
              proto: str = "udp", port: int | None = None, timeout: float = 5.0,
              **make_query_kwargs: Any) -> defer.Deferred:
        """Ask the server, over ``proto``, from a thread; fires with the reply Message."""
        query = dns.message.make_query(name, rdtype, rdclass, **make_query_kwargs)
        return self.send(query, proto=proto, port=port, timeout=timeout)

    def send(self, query: dns.message.Message, proto: str = "udp", port: int | None = None,
             timeout: float = 5.0) -> defer.Deferred:
        """Send a prepared Message; fires with the reply Message."""
        send = dns.query.tcp if proto == "tcp" else dns.query.udp
        return threads.deferToThread(send, query, self.host, timeout=timeout,
                                     port=port or self.port)

    def stop(self) -> defer.Deferred:
        return defer.maybeDeferred(self.service.stopService)


def start_server(corefile: str, *, registry: Registry | None = None,
                 plugins: Mapping[str, Callable[..., None]] | None = None, reactor: Any = None,
                 environ: Mapping[str, str] | None = None,
                 filename: str = "Corefile",
                 listener_options: Mapping[str, Any] | None = None) -> defer.Deferred:
    """Load ``corefile`` (ports default to 0) and start serving it; fires a RunningServer
    (or fails, with nothing left listening, when a plugin fails to start).

    The plugins are ``registry``'s, else the installed ones and ``plugins`` (see
    :func:`registry_with`). ``listener_options`` go to every
    :class:`~twisted_dns.server.listener.Listener` (``idle_timeout``, ``max_connections``...).
    """
    if registry is None:
        registry = registry_with(plugins) if plugins else default_registry()
    configuration = load_configuration(corefile, filename, registry,
                                       default_port=0, reactor=reactor, environ=environ)
    service = DNSService(configuration, listener_options)
    service.startService()

    def failed(failure: Any) -> defer.Deferred:
        """A plugin failed to start: close what did start, then fail."""
        return service.stopService().addCallback(lambda _: failure)

    return service.started.addCallbacks(lambda _: RunningServer(service), failed)
