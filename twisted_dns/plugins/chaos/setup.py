"""The ``chaos [VERSION] [AUTHORS...]`` directive."""

from __future__ import annotations

import twisted_dns
from twisted_dns.config import Controller
from twisted_dns.plugins.chaos.chaos import Chaos

#: what ``version.bind`` and ``version.server`` say when the directive gives no VERSION
DEFAULT_VERSION = f"twisted-dns-{twisted_dns.__version__}"
#: what ``authors.bind`` says when the directive gives no AUTHORS
DEFAULT_AUTHORS = ("twisted-dns developers",)


def parse(c: Controller) -> tuple[str, list[str]]:
    """The version and the authors; as in CoreDNS, the block's first ``chaos`` line counts."""
    found: tuple[str, list[str]] | None = None
    while c.next():
        args = c.remaining_args()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
        if found is not None:
            continue
        version = args[0] if args else DEFAULT_VERSION
        # several AUTHORS: each once, sorted (the reply shuffles them anyway)
        authors = sorted(set(args[1:])) if len(args) > 1 else list(DEFAULT_AUTHORS)
        found = (version, authors)
    return found or (DEFAULT_VERSION, list(DEFAULT_AUTHORS))


def setup(c: Controller) -> None:
    version, authors = parse(c)
    c.add_plugin(lambda next_plugin: Chaos(next_plugin, version, authors))
