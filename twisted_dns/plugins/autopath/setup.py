"""``autopath [ZONE...] RESOLV-CONF`` and ``autopath [ZONE...] @PLUGIN`` (CoreDNS's
``autoPathParse``; a later line replaces an earlier one's zones, as there).

RESOLV-CONF is read at setup as miekg/dns reads a resolv.conf: the last ``search`` line's
names, or a later ``domain`` line's one name. ``@PLUGIN`` is looked up in the block's chain
at startup: a block without it does no autopath (CoreDNS starts so too), one whose plugin has
no ``AutoPath`` is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted_dns.config import Controller
from twisted_dns.errors import ConfigError
from twisted_dns.names import normalize
from twisted_dns.plugins.autopath.autopath import NAME, AutoPath
from twisted_dns.plugins.autopath.metrics import autopath_metrics


@dataclass
class Options:
    """What the block's ``autopath`` lines say."""

    zones: list[str] = field(default_factory=list)
    #: the resolv.conf's search path, normalized, "" last
    search: list[str] | None = None
    #: the plugin named by ``@PLUGIN``, and where it was named
    provider: str | None = None
    where: tuple[str, int] = ("", 0)


def search_path(text: str) -> list[str]:
    """The search list of resolv.conf ``text`` (miekg/dns's ``ClientConfigFromReader``)."""
    search: list[str] = []
    for line in text.split("\n"):
        fields = line.split()
        if fields and fields[0] == "domain":
            search = fields[1:2]
        elif fields and fields[0] == "search":
            search = fields[1:]
    return search


def parse(c: Controller) -> Options:
    options = Options()
    while c.next():
        start = c.cursor
        args = c.remaining_args()
        if not args:
            raise c.err(f"plugin/{NAME}: no resolv-conf specified")
        end = c.cursor
        resolv = args[-1]
        if resolv.startswith("@"):
            options.provider = resolv[1:]
            options.where = (c.file(), c.line())
        else:
            try:
                with open(resolv, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError as e:
                raise c.err(f'plugin/{NAME}: failed to parse "{resolv}": open {resolv}: '
                            f"{e.strerror}") from None
            options.search = [*(normalize(name) for name in search_path(text)), ""]
        zones = []
        for index in range(start + 1, end):  # the arguments before the last
            c.cursor = index
            zones.extend(c.token_zones())
        c.cursor = end
        options.zones = zones or list(c.zones)
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
    return options


def setup(c: Controller) -> None:
    options = parse(c)
    autopath = AutoPath(options.zones, options.search, c.config, autopath_metrics())
    block = c.config

    def add(next_plugin):
        autopath.next = next_plugin
        return autopath

    def find_provider() -> None:
        provider = block.plugin(options.provider)
        if provider is None:
            return
        search = getattr(provider, "AutoPath", None)
        if not callable(search):
            raise ConfigError(f"plugin/{NAME}: {options.provider} does not implement the "
                              "AutoPather interface", *options.where)
        autopath.search_func = search

    c.add_plugin(add)
    if options.provider is not None:
        c.on_startup(find_provider)
