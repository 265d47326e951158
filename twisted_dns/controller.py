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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted_dns.corefile.dispenser import Dispenser
from twisted_dns.corefile.keys import parse_key
from twisted_dns.corefile.lexer import Token
from twisted_dns.server.config import BlockConfig, PluginFactory

if TYPE_CHECKING:
    from twisted_dns.server.instance import Setup


class Controller(Dispenser):
    """A dispenser over every occurrence of one directive in one server block."""

    def __init__(self, directive: str, tokens: list[Token], config: BlockConfig,
                 setup: Setup) -> None:
        super().__init__(tokens)
        self.directive = directive
        self.config = config
        #: the whole configuration being built (all blocks), for cross-block state
        self.setup = setup

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
        return self.setup.reactor

    def zone_args(self) -> list[str]:
        """The zones left on the line, normalized as CoreDNS's ``plugin.Host().Normalize()``:
        lower-case, absolute, a CIDR expanded to its reverse zones; errors at FILE:LINE."""
        zones: list[str] = []
        while self.next_arg():
            zones.extend(key.zone for key in parse_key(self.token()))
        return zones

    def add_plugin(self, factory: PluginFactory) -> None:
        """Add this directive's link to the block's chain (``factory(next) -> IPlugin``)."""
        self.config.add_plugin(self.directive, factory)

    def on_startup(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the listeners are up (it may return a Deferred)."""
        self.setup.startup_hooks.append(callback)

    def on_shutdown(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` when the server stops or this configuration is replaced."""
        self.setup.shutdown_hooks.append(callback)

    def on_lameduck(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` when the server starts to stop for good (not on reload); the
        listeners keep answering until it (or the Deferred it returns) has finished."""
        self.setup.on_lameduck(callback)

    def shared(self, key: str, default: Callable[[], Any]) -> Any:
        """State shared by every block of this configuration (e.g. one health endpoint)."""
        if key not in self.setup.shared:
            self.setup.shared[key] = default()
        return self.setup.shared[key]
