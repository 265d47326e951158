"""``transfer [ZONE...] { to HOST... }``: one :class:`Xfr` per line, ``to`` required."""

from __future__ import annotations

from twisted_dns.addresses import parse_host
from twisted_dns.config import Controller
from twisted_dns.plugins.transfer.notify import Notifier
from twisted_dns.plugins.transfer.transfer import Transfer, Xfr


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
