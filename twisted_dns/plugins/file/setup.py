"""``file DBFILE [ZONES...] { reload DURATION; fallthrough [ZONES...]; upstream }``."""

from __future__ import annotations

import os

from twisted.logger import Logger

from twisted_dns.config import Controller
from twisted_dns.errors import ConfigError
from twisted_dns.pkg.durations import MINUTE, Duration, parse_duration
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.plugins.file.file import File
from twisted_dns.plugins.file.reload import ZoneFile
from twisted_dns.plugins.file.zone import Zones
from twisted_dns.plugins.file.zonefile import ZoneError

log = Logger(namespace="file")

DEFAULT_RELOAD = Duration(MINUTE)


def parse(c: Controller) -> tuple[Zones, list[ZoneFile], Fallthrough]:
    """Every ``file`` line of the block: the zones (loaded), their files and fallthrough."""
    zones = Zones()
    files: list[ZoneFile] = []
    fall = Fallthrough()
    reload = DEFAULT_RELOAD
    #: (path, why, Corefile, line) of the files that could not be opened
    missing: list[tuple[str, str, str, int]] = []
    while c.next():
        if not c.next_arg():
            raise c.arg_err()
        path = c.val()
        if not os.path.isabs(path) and c.config.root:
            path = os.path.join(c.config.root, path)
        path = os.path.normpath(path)
        origins = c.zone_args() or list(c.zones)
        line_files = [ZoneFile(path, origin, zones, 0.0) for origin in origins]
        for zone_file in line_files:
            zones.add(zone_file.origin)
        if not os.path.exists(path):
            missing.append((path, "No such file or directory", c.file(), c.line()))
        else:
            for zone_file in line_files:
                try:
                    zone_file.load()
                except ZoneError as e:
                    if e.line is not None:  # at the zone file's own line
                        raise ConfigError(e.reason, e.file, e.line) from None
                    raise c.err(f"plugin/file: {e}") from None  # else at this line
        while c.next_block():
            option = c.val()
            if option == "fallthrough":
                fall = Fallthrough.from_args(c.remaining_args())
            elif option == "reload":
                args = c.remaining_args()
                if not args:
                    raise c.err("reload duration value is expected")
                try:
                    reload = parse_duration(args[0])
                except ValueError as e:
                    raise c.err(str(e)) from None
            elif option == "upstream":
                c.remaining_args()  # accepted and ignored, as CoreDNS does
            else:
                raise c.err(f"unknown property '{option}'")
        for zone_file in line_files:
            zone_file.interval = reload.seconds
        files.extend(line_files)
    for path, reason, file, line in missing:
        if reload == 0:
            raise ConfigError(f"plugin/file: open {path}: {reason}", file, line)
        log.warn("Failed to open {path}: {reason}: trying again in {reload}", path=path,
                 reason=reason, reload=str(reload))
    return zones, files, fall


def setup(c: Controller) -> None:
    zones, files, fall = parse(c)
    reactor = c.reactor
    for zone_file in files:
        zone_file.reactor = reactor
        c.on_startup(zone_file.start)
        c.on_shutdown(zone_file.stop)
    c.add_plugin(lambda next_plugin: File(zones, fall, next_plugin))
