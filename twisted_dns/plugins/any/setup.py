"""The ``any`` directive: no arguments, no block."""

from __future__ import annotations

from twisted_dns.config import Controller
from twisted_dns.plugins.any.any import Any


def setup(c: Controller) -> None:
    c.no_args()
    c.add_plugin(Any)
