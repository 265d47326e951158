"""``secondary [ZONES...] { transfer from ADDRESS... }``: a zone per origin, one handler."""

from __future__ import annotations

from twisted_dns.addresses import parse_host
from twisted_dns.config import Controller
from twisted_dns.plugins.file import Zones
from twisted_dns.plugins.secondary.secondary import Secondary, SecondaryZone


def parse(c: Controller) -> dict[str, list[tuple[str, int]]]:
    """origin -> the primaries to transfer it from, for every ``secondary`` line."""
    primaries: dict[str, list[tuple[str, int]]] = {}
    while c.next():
        origins = c.zone_args() or list(c.zones)
        froms: list[tuple[str, int]] = []
        while c.next_block():
            option = c.val()
            if option != "transfer":
                raise c.err(f"unknown property '{option}'")
            if not c.next_arg():
                raise c.arg_err()
            if c.val() != "from":
                raise c.err("only transfer from is supported")
            args = c.remaining_args()
            if not args:
                raise c.arg_err()
            for arg in args:
                if arg == "*":
                    raise c.err("can't use '*' in transfer from")
                try:
                    froms.append(parse_host(arg))
                except ValueError as e:
                    raise c.err(str(e)) from None
        if not froms:
            raise c.err("secondary zones require a transfer from property")
        for origin in origins:
            primaries.setdefault(origin, []).extend(froms)
    return primaries


def setup(c: Controller) -> None:
    primaries = parse(c)
    zones = Zones(primaries)
    refreshers = {origin: SecondaryZone(origin, froms, zones, reactor=c.reactor)
                  for origin, froms in primaries.items()}
    for refresher in refreshers.values():
        c.on_startup(refresher.start)
        c.on_shutdown(refresher.stop)
    c.add_plugin(lambda next_plugin: Secondary(zones, refreshers, next_plugin))
