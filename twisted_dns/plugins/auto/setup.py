"""``auto [ZONES...] { directory DIR [REGEXP TEMPLATE]; reload D; fallthrough [ZONES...] }``.

Parsed as CoreDNS's ``autoParse``; the last ``auto`` line of a block wins, as there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from twisted.logger import Logger

from twisted_dns.config import Controller
from twisted_dns.pkg.durations import MINUTE, Duration, parse_duration
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.plugins.auto.auto import Auto
from twisted_dns.plugins.auto.scan import DEFAULT_PATTERN, DEFAULT_TEMPLATE, Scanner
from twisted_dns.plugins.file import Zones

log = Logger(namespace="auto")

DEFAULT_RELOAD = Duration(MINUTE)


@dataclass
class Options:
    """What an ``auto`` directive says."""

    origins: list[str]
    directory: str | None = None
    pattern: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_PATTERN))
    template: str = DEFAULT_TEMPLATE
    reload: Duration = DEFAULT_RELOAD
    fall: Fallthrough = field(default_factory=Fallthrough)


def parse_options(c: Controller) -> Options:
    options = Options(origins=list(c.zones))
    while c.next():
        options.origins = c.zone_args() or list(c.zones)
        while c.next_block():
            option = c.val()
            if option == "directory":
                _directory(c, options)
            elif option == "reload":
                args = c.remaining_args()
                if not args:
                    raise c.err("reload duration value is expected")
                try:
                    options.reload = parse_duration(args[0])
                except ValueError as e:
                    raise c.err(str(e)) from None
                if options.reload < 0:
                    raise c.err("invalid duration")
            elif option == "fallthrough":
                options.fall = Fallthrough.from_args(c.remaining_args())
            elif option == "upstream":
                c.remaining_args()  # accepted and ignored, as CoreDNS does
            else:
                raise c.err(f"unknown property '{option}'")
    return options


def _directory(c: Controller, options: Options) -> None:
    """``directory DIR [REGEXP TEMPLATE [TIMEOUT]]``; a missing DIR is only a warning."""
    if not c.next_arg():
        raise c.arg_err()
    directory = c.val()
    if not os.path.isabs(directory) and c.config.root:
        directory = os.path.join(c.config.root, directory)
    options.directory = directory
    if not os.path.exists(directory):
        log.warn("Directory does not exist: {directory}", directory=directory)
    elif not os.access(directory, os.R_OK | os.X_OK):
        raise c.err(f"Unable to access root path '{directory}': permission denied")
    if not c.next_arg():
        return
    try:
        options.pattern = re.compile(c.val())
    except re.error as e:
        raise c.err(f"error parsing regexp: {e}") from None
    if options.pattern.groups == 0:
        raise c.err("Need at least one sub expression")
    if not c.next_arg():
        raise c.arg_err()
    options.template = c.val()
    if c.next_arg():
        # TIMEOUT: deprecated in CoreDNS's README; ``reload`` sets the scan interval
        if not c.val().isdigit():
            raise c.arg_err()
        log.warn("auto: TIMEOUT {timeout} is deprecated and ignored: use reload",
                 timeout=c.val())
        if c.next_arg():
            raise c.arg_err()


def setup(c: Controller) -> None:
    options = parse_options(c)
    zones = Zones()
    scanner = Scanner(options.directory, options.pattern, options.template, options.origins,
                      zones, options.reload.seconds, c.reactor)
    scanner.load()
    c.on_startup(scanner.start)
    c.on_shutdown(scanner.stop)
    c.add_plugin(lambda next_plugin: Auto(zones, options.origins, options.fall, next_plugin))
