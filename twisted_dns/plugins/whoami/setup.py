"""The ``whoami`` directive: no arguments, no block."""

from __future__ import annotations

from twisted_dns.config import Controller
from twisted_dns.plugins.whoami.whoami import Whoami


def setup(c: Controller) -> None:
    c.no_args()
    handler = Whoami()
    c.add_plugin(lambda _next: handler)
