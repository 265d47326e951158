"""The ``any`` directive: no arguments, no block."""

from __future__ import annotations

from twisted_dns.config import Controller
from twisted_dns.plugins.any.any import Any


def setup(c: Controller) -> None:
    while c.next():
        if c.next_arg():
            raise c.arg_err()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
    c.add_plugin(Any)
