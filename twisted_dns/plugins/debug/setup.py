"""The ``debug`` directive: no arguments; sets ``BlockConfig.debug``."""

from __future__ import annotations

from twisted_dns.config import Controller


def setup(c: Controller) -> None:
    c.no_args()
    c.config.debug = True
