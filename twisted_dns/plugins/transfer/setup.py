"""``transfer [ZONE...] { to HOST... }``: one :class:`Xfr` per line, ``to`` required."""

from __future__ import annotations

import ipaddress

from twisted_dns.config import Controller
from twisted_dns.plugins.transfer.notify import Notifier
from twisted_dns.plugins.transfer.transfer import Transfer, Xfr

DEFAULT_PORT = 53


def parse_host(text: str) -> tuple[str, int]:
    """``10.0.0.1``, ``10.0.0.1:5300``, ``[::1]:5300`` or ``::1`` -> (ip, port); ValueError."""
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"not an IP address: {text!r}")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        port_text = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"invalid port in {text!r}")
        port = int(port_text)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise ValueError(f"not an IP address: {text!r}") from None


def parse(c: Controller) -> list[Xfr]:
    xfrs = []
    while c.next():
        xfr = Xfr(c.zone_args() or list(c.zones))
        while c.next_block():
            option = c.val()
            if option != "to":
                raise c.err(f"unknown property '{option}'")
            args = c.remaining_args()
            if not args:
                raise c.arg_err()
            for arg in args:
                if arg == "*":
                    xfr.to.append("*")
                    continue
                try:
                    xfr.to.append(parse_host(arg))
                except ValueError as e:
                    raise c.err(str(e)) from None
        if not xfr.to:
            raise c.err("'to' is required")
        xfrs.append(xfr)
    return xfrs


def setup(c: Controller) -> None:
    xfrs = parse(c)
    notifier = Notifier(c.reactor)
    transfer = Transfer(xfrs, notifier=notifier)
    config = c.config

    def add(next_plugin):
        transfer.next = next_plugin
        return transfer

    c.add_plugin(add)
    c.on_startup(lambda: transfer.use_sources(config.plugins))
    c.on_shutdown(notifier.stop)
