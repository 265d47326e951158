"""The ``loop`` directive: no arguments, once per server block; probes at start up."""

from __future__ import annotations

from collections.abc import Callable

from twisted_dns.addresses import join_host_port
from twisted_dns.config import Controller
from twisted_dns.plugins.loop.loop import Loop, probe_name
from twisted_dns.plugins.loop.probe import Prober, Target, udp_exchange

#: where to send a probe for a block listening on every address (Go dials ":53" locally)
_LOCAL = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def _target(c: Controller) -> Callable[[], Target]:
    """The block's first listen address and port, as bound (a port 0 gets its real number
    once the listeners are up)."""
    address = c.listen_address()

    def target() -> Target:
        host, port = address()
        return _LOCAL.get(host, host), port, join_host_port(host, port)

    return target


def setup(c: Controller) -> None:
    while c.once():
        if c.next_arg():
            raise c.arg_err()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
    reactor = c.reactor
    zone = c.zones[0] if c.zones else "."
    loop = Loop(None, zone, probe_name(zone), reactor)
    prober = Prober(loop, _target(c), reactor,
                    lambda host, port, query: udp_exchange(reactor, host, port, query))
    c.on_startup(prober.start)
    c.on_shutdown(prober.stop)

    def link(next_plugin: object) -> Loop:
        loop.next = next_plugin
        return loop

    c.add_plugin(link)
