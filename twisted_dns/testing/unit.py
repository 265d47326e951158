"""Unit helpers: set one plugin up from a Corefile snippet and call it with real Requests.

    configured = configure(setup, "echoname", ". {\\n    echoname 30\\n}\\n",
                           next_plugin=NextPlugin())
    request = make_request("Example.ORG", "TXT")
    writer = CaptureWriter(request)
    rcode = configured.chain.ServeDNS(request, writer)
    reply = reply_of(writer)                 # the reply as the client decodes it

``configure`` runs the directive's setup the way the server does (the parser with the
installed directives, a Controller per block that uses it, the chain built), with a
``task.Clock`` for the reactor unless one is given, so ``configured.reactor.advance(30)``
fires the plugin's timers; ``configured.startup()`` runs the hooks the server would run once
its listeners are up. ``make_request`` builds the :class:`~twisted_dns.request.Request` the
server would; the server's own ``CaptureWriter`` keeps what the plugin wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dns.message
from twisted.internet import defer, task
from zope.interface import implementer

from twisted_dns.config import BlockConfig, Configuration, Controller
from twisted_dns.corefile import parser
from twisted_dns.corefile.keys import parse_key
from twisted_dns.interfaces import IPlugin
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing.server import default_registry

__all__ = ["CaptureWriter", "Configured", "NextPlugin", "configure", "controller", "make_request",
           "reply_of"]


class Configured:
    """What :func:`configure` set up: the whole Configuration and the directive's block."""

    def __init__(self, configuration: Configuration, block: BlockConfig) -> None:
        #: every block of the Corefile, the state they share and the hooks the setups added
        self.configuration = configuration
        #: the first block that uses the directive
        self.block = block

    @property
    def reactor(self) -> Any:
        """The reactor the plugins got from ``c.reactor`` (a ``task.Clock`` by default)."""
        return self.configuration.reactor

    @property
    def chain(self) -> Any:
        """The block's first link (the directive's plugin), None when it added none."""
        return self.block.chain

    @property
    def plugins(self) -> list[Any]:
        """The block's links, first to last."""
        return self.block.plugins

    def plugin(self, name: str) -> Any:
        """The block's link called ``name``, or None."""
        return self.block.plugin(name)

    def startup(self) -> defer.Deferred:
        """Run the startup hooks together, as the server does once its listeners are up;
        fails with the first hook's failure."""
        hooks = [defer.maybeDeferred(hook) for hook in self.configuration.startup_hooks]
        return defer.gatherResults(hooks, consumeErrors=True).addErrback(
            lambda failure: failure.value.subFailure)

    def shutdown(self) -> defer.Deferred:
        """Run the shutdown hooks one after the other, as the server does when it stops;
        fails with the first hook's failure."""
        async def run() -> None:
            for hook in self.configuration.shutdown_hooks:
                await defer.maybeDeferred(hook)

        return defer.ensureDeferred(run())


def configure(setup: Callable[[Controller], None], directive: str, corefile: str, *,
              reactor: Any = None, root: str | None = None, filename: str = "Corefile",
              next_plugin: Any = None,
              environ: Mapping[str, str] | None = None) -> Configured:
    """Run ``setup`` for ``directive`` in every block of ``corefile`` that uses it.

    The Corefile is parsed with the installed directives (and ``directive``, installed or
    not); each block gets its keys, and ``root`` (default: the current directory) for relative
    paths. The chain of each block holds the directive's plugins, then ``next_plugin`` (a
    :class:`NextPlugin`, say; None ends the chain). ``reactor`` defaults to a new
    ``task.Clock``: pass the real one (or a
    :class:`~twisted_dns.testing.timing.ClockedReactor`) for a plugin that does network I/O.
    A mistake in the Corefile raises ConfigError with ``filename:line``, as the server would.
    """
    configuration = Configuration(filename, task.Clock() if reactor is None else reactor)
    blocks = parser.parse(corefile, filename, directives=default_registry().names() | {directive},
                          environ=environ)
    used: list[BlockConfig] = []
    for block in blocks:
        config = BlockConfig(keys=[key for token in block.keys for key in parse_key(token)],
                             file=block.file, line=block.line)
        if root is not None:
            config.root = root
        configuration.blocks.append(config)
        if directive in block.directives:
            used.append(config)
            setup(Controller(directive, block.directives[directive], config, configuration))
    if not used:
        raise ValueError(f"no server block of the Corefile uses {directive!r}")
    for config in used:  # as the server: every block set up first, then the chains built
        if next_plugin is not None:
            config.add_plugin(next_plugin.Name(), lambda _end: next_plugin)
        config.build_chain()
    return Configured(configuration, used[0])


def controller(directive: str, corefile: str, **options: Any) -> Controller:
    """The Controller :func:`configure` would hand to the setup of ``directive``'s first
    block: to test a plugin's parse function apart from its setup."""
    controllers: list[Controller] = []
    configure(controllers.append, directive, corefile, **options)
    return controllers[0]


def make_request(name: str, rdtype: str | int = "A", rdclass: str | int = "IN",
                 proto: str = "udp", client: tuple = ("127.0.0.1", 40212),
                 **make_query_kwargs: Any) -> Request:
    """The Request the server would build for this query, received from ``client``."""
    query = dns.message.make_query(name, rdtype, rdclass, **make_query_kwargs)
    return Request.from_wire(query.to_wire(), client, ("127.0.0.1", 53), proto)


def reply_of(writer: CaptureWriter) -> dns.message.Message:
    """The one reply sent through ``writer``, as the client would decode it."""
    assert len(writer.sent) == 1, f"{len(writer.sent)} replies sent"
    return dns.message.from_wire(writer.sent[0])


@implementer(IPlugin)
class NextPlugin:
    """The rest of the chain: records the queries it gets and returns ``rcode``."""

    def __init__(self, rcode: int = 0) -> None:
        self.rcode = rcode
        self.requests: list[Request] = []

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return "next"

    def ServeDNS(self, request: Request, writer: Any) -> int:  # noqa: N802 - the IPlugin contract
        self.requests.append(request)
        return self.rcode
