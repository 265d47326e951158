"""The ``minimal`` directive: no arguments, no block."""

from __future__ import annotations

from twisted_dns.config import Controller
from twisted_dns.plugins.minimal.minimal import Minimal


def setup(c: Controller) -> None:
    c.no_args()
    reactor = c.reactor
    c.add_plugin(lambda next_: Minimal(next_, reactor))
