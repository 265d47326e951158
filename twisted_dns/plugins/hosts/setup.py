"""The ``hosts [FILE [ZONES...]] { [INLINE] ttl no_reverse reload fallthrough ... }`` directive.

Parsed as CoreDNS's ``hostsParse``: a block line that is not an option is an inline hosts
entry, but only until a ``fallthrough`` line (after it, an unknown word is an error).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from twisted.logger import Logger

from twisted_dns.config import Controller
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.plugins.hosts.hosts import Hosts, Reloader
from twisted_dns.plugins.hosts.hostsfile import parse

log = Logger(namespace="hosts")

DEFAULT_PATH = "/etc/hosts"
DEFAULT_TTL = 3600
DEFAULT_RELOAD = 5.0


@dataclass
class Options:
    """What one ``hosts`` directive says."""

    origins: list[str]
    path: str = DEFAULT_PATH
    ttl: int = DEFAULT_TTL
    reverse: bool = True
    reload: float = DEFAULT_RELOAD
    fall: Fallthrough = field(default_factory=Fallthrough)
    fall_unsupported: bool = False
    inline: list[str] = field(default_factory=list)


def setup(c: Controller) -> None:
    options = parse_options(c)
    hosts = Hosts(None, options.path, options.origins,
                  parse("\n".join(options.inline), options.origins, options.reverse),
                  options.ttl, options.reverse, options.fall, options.fall_unsupported)
    hosts.load()
    reloader = Reloader(hosts, options.reload, c.reactor)
    c.on_startup(reloader.start)
    c.on_shutdown(reloader.stop)

    def factory(next_plugin):
        hosts.next = next_plugin
        return hosts

    c.add_plugin(factory)


def parse_options(c: Controller) -> Options:
    options = Options(origins=list(c.zones))
    while c.once():
        if c.next_arg():
            options.path = _path(c, c.val())
        options.origins = c.zone_args() or options.origins
        while c.next_block():
            _option(c, options)
    if options.fall_unsupported and not options.fall.zones:
        raise c.err("fallthrough_unsupported requires fallthrough")
    return options


def _path(c: Controller, path: str) -> str:
    """The hosts file's path (relative to *root*); a missing file is only a warning."""
    if not os.path.isabs(path):
        path = os.path.join(c.config.root, path)
    try:
        if os.path.isdir(path):
            log.warn("Hosts file {path!r} is a directory", path=path)
        os.stat(path)
    except FileNotFoundError:
        log.warn("File does not exist: {path}", path=path)
    except OSError as exc:
        raise c.err(f"unable to access hosts file '{path}': {exc.strerror}") from None
    return path


def _option(c: Controller, options: Options) -> None:
    """One line of the block: an option, or an inline hosts entry."""
    prop = c.val()
    if prop == "fallthrough":
        options.fall = Fallthrough.from_args(c.remaining_args())
    elif prop in ("fallthrough_unsupported", "no_reverse"):
        if c.remaining_args():
            raise c.arg_err()
        if prop == "no_reverse":
            options.reverse = False
        else:
            options.fall_unsupported = True
    elif prop == "ttl":
        values = c.remaining_args()
        if not values:
            raise c.err("ttl needs a time in second")
        if not values[0].isdigit():
            raise c.err("ttl needs a number of second")
        options.ttl = int(values[0])
        if not 0 < options.ttl <= 65535:
            raise c.err("ttl provided is invalid")
    elif prop == "reload":
        values = c.remaining_args()
        if len(values) != 1:
            raise c.err("reload needs a duration (zero seconds to disable)")
        try:
            duration = parse_duration(values[0])
        except ValueError:
            raise c.err(f"invalid duration for reload '{values[0]}'") from None
        if duration < 0:
            raise c.err(f"invalid negative duration for reload '{values[0]}'")
        options.reload = duration.seconds
    elif not options.fall.zones:
        options.inline.append(" ".join([prop, *c.remaining_args()]))
    else:
        raise c.err(f"unknown property '{prop}'")
