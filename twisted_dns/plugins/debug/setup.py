"""The ``debug`` directive: no arguments; sets ``BlockConfig.debug``."""

from __future__ import annotations

from twisted_dns.config import Controller


def setup(c: Controller) -> None:
    while c.next():
        if c.next_arg():
            raise c.arg_err()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
        c.config.debug = True
