"""What a plugin's setup callable receives: a cursor over its directive plus the block's config.

Mirrors caddy's ``Controller`` as CoreDNS plugins use it::

    def setup(c: Controller) -> None:
        while c.next():                 # each occurrence of the directive in the block
            args = c.remaining_args()
            while c.next_block():       # the lines of its { ... } block
                ...
            if bad:
                raise c.err("what is wrong")   # rendered as FILE:LINE: what is wrong
        c.add_plugin(lambda next_: MyPlugin(next_))

The Controller is a plugin's only door to the server: its hooks (startup, shutdown, lame
duck), shared state, the reactor, query observation, its listen address and reloading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted_dns.config.block import BlockConfig, PluginFactory
from twisted_dns.corefile.dispenser import Dispenser
from twisted_dns.corefile.keys import parse_key
from twisted_dns.corefile.lexer import Token

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from twisted_dns.config.load import Configuration

#: ``factory(query_handler) -> observer``; the observer is called with (request, writer)
#: once per finished query of that handler (``request.zone`` is None when the server itself
#: answered, without reaching a block)
ObserverFactory = Callable[[Any], Callable[[Any, Any], None]]


class Controller(Dispenser):
    """A dispenser over every occurrence of one directive in one server block."""

    def __init__(self, directive: str, tokens: list[Token], config: BlockConfig,
                 configuration: Configuration) -> None:
        super().__init__(tokens)
        self.directive = directive
        self.config = config
        #: the whole configuration being built (all blocks), for cross-block state
        self._configuration = configuration
        self._occurrences = 0

    @property
    def zones(self) -> list[str]:
        """The block's zones, lower-case and absolute (``example.org.``)."""
        return self.config.zones

    @property
    def keys(self):
        """The block's keys as :class:`~twisted_dns.corefile.keys.ZoneAddr`."""
        return self.config.keys

    @property
    def reactor(self) -> Any:
        """The reactor plugins take time and timers from (``task.Clock`` in tests)."""
        return self._configuration.reactor

    @property
    def files(self) -> list[str]:
        """Every file this configuration was read from (the Corefile and its imports)."""
        return self._configuration.files

    def zone_args(self) -> list[str]:
        """The zones left on the line, normalized as CoreDNS's ``plugin.Host().Normalize()``:
        lower-case, absolute, a CIDR expanded to its reverse zones; errors at FILE:LINE."""
        zones: list[str] = []
        while self.next_arg():
            zones.extend(self.token_zones())
        return zones

    def token_zones(self) -> list[str]:
        """The zones the current token names, read as a server block key is (lower-case,
        absolute, a CIDR expanded, a port dropped); errors at FILE:LINE."""
        return [key.zone for key in parse_key(self.token())]

    def no_args(self) -> None:
        """For a directive that takes nothing: no arguments, no block (errors at FILE:LINE)."""
        while self.next():
            if self.next_arg():
                raise self.arg_err()
            if self.next_block():
                raise self.err(f"unknown property '{self.val()}'")

    def once(self) -> bool:
        """Advance to the directive's next occurrence, like :meth:`next`, but a second one in
        the block is an error (CoreDNS's "can only be used once per Server Block")."""
        if not self.next():
            return False
        self._occurrences += 1
        if self._occurrences > 1:
            raise self.err("this plugin can only be used once per Server Block")
        return True

    def add_plugin(self, factory: PluginFactory) -> None:
        """Add this directive's link to the block's chain (``factory(next) -> IPlugin``)."""
        self.config.add_plugin(self.directive, factory)

    def on_startup(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the listeners are up (it may return a Deferred)."""
        self._configuration.startup_hooks.append(callback)

    def on_shutdown(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` when the server stops or this configuration is replaced."""
        self._configuration.shutdown_hooks.append(callback)

    def on_lameduck(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` when the server starts to stop for good (not on reload); the
        listeners keep answering until it (or the Deferred it returns) has finished."""
        self._configuration.on_lameduck(callback)

    def shared(self, key: str, default: Callable[[], Any]) -> Any:
        """State shared by every block of this configuration (e.g. one health endpoint)."""
        shared = self._configuration.shared
        if key not in shared:
            shared[key] = default()
        return shared[key]

    def observe_queries(self, factory: ObserverFactory) -> None:
        """Observe every query of every listener while this configuration serves, whatever
        block it reaches or misses (as CoreDNS's metrics count the whole process).

        ``factory(query_handler)`` makes one observer per listener; it costs the query path
        nothing beyond the observer itself.
        """
        self._configuration.query_observers.append(factory)

    def listen_address(self) -> Callable[[], tuple[str, int]]:
        """The block's first listen address, as ``() -> (host, port)``: call it once the
        listeners are up, so that a port 0 in the Corefile has its real number (host ""
        means every address)."""
        config, configuration = self.config, self._configuration

        def address() -> tuple[str, int]:
            key = config.keys[0]
            host = config.listen_hosts[0] if config.listen_hosts else ""
            bound = configuration.bound_port((key.scheme, host, key.port))
            return host, key.port if bound is None else bound

        return address

    def reload(self) -> Deferred | None:
        """Ask the server to reload its configuration (as SIGUSR1 does); fires True once
        the new one serves, False when it failed (the old one keeps serving). None while
        this configuration is not serving yet."""
        return self._configuration.request_reload()
