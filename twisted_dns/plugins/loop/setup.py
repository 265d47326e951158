"""The ``loop`` directive: no arguments, once per server block; probes at start up."""

from __future__ import annotations

from collections.abc import Callable

from twisted_dns.addresses import join_host_port
from twisted_dns.controller import Controller
from twisted_dns.plugins.loop.loop import Loop, probe_name
from twisted_dns.plugins.loop.probe import Prober, Target, udp_exchange

#: where to send a probe for a block listening on every address (Go dials ":53" locally)
_LOCAL = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def _target(c: Controller) -> Callable[[], Target]:
    """The block's first listen address and port, as bound (a port 0 gets its real number
    from the serving DNSService)."""
    config, configuration = c.config, c.setup

    def target() -> Target:
        key = config.keys[0]
        host = config.listen_hosts[0] if config.listen_hosts else ""
        port = key.port
        service = getattr(configuration, "service", None)  # set once a DNSService serves it
        listener = service.listeners.get((key.scheme, host, port)) if service else None
        if listener is not None:
            port = listener.port
        return _LOCAL.get(host, host), port, join_host_port(host, port)

    return target


def setup(c: Controller) -> None:
    seen = False
    while c.next():
        if seen:
            raise c.err("this plugin can only be used once per Server Block")
        seen = True
        if c.next_arg():
            raise c.arg_err()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
    reactor = c.reactor
    if reactor is None:
        from twisted.internet import reactor
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
