"""``metadata [ZONES...]``: parse the directive, add the link, find the providers at start."""

from __future__ import annotations

from twisted_dns.config import Controller
from twisted_dns.plugins.metadata.metadata import Metadata


def setup(c: Controller) -> None:
    zones: list[str] = []
    while c.once():
        zones = c.zone_args() or list(c.zones)
        if c.next_block():
            raise c.arg_err()
    block = c.config
    link = Metadata(zones, None)

    def add(next_plugin: object) -> Metadata:
        link.next = next_plugin
        return link

    c.add_plugin(add)
    c.on_startup(lambda: link.collect_providers(block.plugins))
