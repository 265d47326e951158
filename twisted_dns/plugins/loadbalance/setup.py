"""``loadbalance [round_robin | weighted WEIGHTFILE] { reload DURATION; prefer CIDR... }``."""

from __future__ import annotations

import ipaddress
import os

from twisted.logger import Logger

from twisted_dns.config import Controller
from twisted_dns.errors import ConfigError
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.plugins.loadbalance.loadbalance import Balancer, LoadBalance, Network
from twisted_dns.plugins.loadbalance.weighted import Weights

log = Logger(namespace="loadbalance")

ROUND_ROBIN = "round_robin"
WEIGHTED = "weighted"
DEFAULT_RELOAD = 30.0


def _network(c: Controller, text: str) -> Network:
    """A CIDR as Go's ``net.ParseCIDR`` takes it: a prefix length is required, host bits
    may be set."""
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise c.err(f'invalid CIDR "{text}": invalid CIDR address: {text}') from None


def _weights(c: Controller, where: tuple[str, int], path: str, reload: float) -> Weights:
    """The weight file, read now: a bad line is a ConfigError at the file's line."""
    weights = Weights(path, reload, c.reactor)
    try:
        weights.load()
    except OSError as exc:
        if reload == 0:
            raise ConfigError(f"cannot open weight file {path}: {exc.strerror}",
                              *where) from None
        log.warn("plugin/loadbalance: failed to open weight file {path}: {error}. Will try "
                 "again in {reload}s", path=path, error=exc.strerror, reload=reload)
    return weights


def parse(c: Controller) -> tuple[Weights | None, list[Network]]:
    """The ``weighted`` policy's weights (None for ``round_robin``) and the preferred subnets
    of the block's lines (the last line's policy counts; the subnets add up)."""
    weights, prefer = None, []
    while c.next():
        args = c.remaining_args()
        weights, path, reload = None, None, DEFAULT_RELOAD
        if args and args[0] == ROUND_ROBIN:
            if len(args) > 1:
                raise c.err(f"unknown property for {args[0]}")
        elif args and args[0] == WEIGHTED:
            if len(args) < 2:
                raise c.err("missing weight file argument")
            if len(args) > 2:
                raise c.err("unexpected argument(s)")
            path, where = os.path.join(c.config.root, args[1]), (c.file(), c.line())
        elif args:
            raise c.err(f"unknown policy: {args[0]}")
        while c.next_block():
            option = c.val()
            if option == "reload" and path is not None:
                values = c.remaining_args()
                if not values:
                    raise c.err("reload duration value is missing")
                if len(values) > 1:
                    raise c.err("unexpected argument")
                try:
                    reload = parse_duration(values[0]).seconds
                except ValueError:
                    raise c.err(f"invalid reload duration '{values[0]}'") from None
                if reload < 0:
                    raise c.err(f"invalid reload duration '{values[0]}'")
            elif option == "prefer":
                prefer += [_network(c, text) for text in c.remaining_args()]
            else:
                raise c.err(f"unknown property '{option}'")
        if path is not None:
            weights = _weights(c, where, path, reload)
    return weights, prefer


def setup(c: Controller) -> None:
    weights, prefer = parse(c)
    if weights is not None:
        c.on_startup(weights.start)
        c.on_shutdown(weights.stop)
    balancer = Balancer(weights, prefer)
    c.add_plugin(lambda next_: LoadBalance(next_, balancer))
