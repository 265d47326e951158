"""``errors [stdout] { stacktrace; consolidate DURATION REGEXP [LEVEL] [show_first] }``."""

from __future__ import annotations

import re

from twisted.logger import LogLevel

from twisted_dns.pkg.durations import parse_duration
from twisted_dns.plugins.errors.errors import LEVELS, ErrorHandler, Pattern

#: the longest REGEXP accepted (CoreDNS's limit)
MAX_REGEXP_LENGTH = 10000


def _consolidate(c) -> Pattern:
    args = c.remaining_args()
    if not 2 <= len(args) <= 4:
        raise c.arg_err()
    try:
        period = parse_duration(args[0])
    except ValueError as exc:
        raise c.err(str(exc)) from None
    if len(args[1]) > MAX_REGEXP_LENGTH:
        raise c.err(f"regexp too long: {len(args[1])} characters, at most "
                    f"{MAX_REGEXP_LENGTH}")
    try:
        regexp = re.compile(args[1])
    except re.error as exc:
        raise c.err(f"error parsing regexp: {exc}: `{args[1]}`") from None
    extra = args[2:]
    show_first = bool(extra) and extra[-1] == "show_first"
    if show_first:
        extra = extra[:-1]
    if len(extra) > 1:
        raise c.arg_err()
    level = LogLevel.error
    if extra:
        if extra[0] not in LEVELS:
            raise c.err(f"unknown log level argument in consolidate: {extra[0]}")
        level = LEVELS[extra[0]]
    return Pattern(period, regexp, level, show_first)


def parse(c) -> tuple[list[Pattern], bool]:
    """The consolidate patterns (in order) and whether to log stack traces."""
    patterns: list[Pattern] = []
    stacktrace = False
    while c.once():
        args = c.remaining_args()
        if len(args) > 1:
            raise c.arg_err()
        if args and args[0] != "stdout":
            raise c.err(f"invalid log file: {args[0]}")
        while c.next_block():
            option = c.val()
            if option in ("stacktrace", "panicRecoveryStacktrace"):
                if c.remaining_args():
                    raise c.arg_err()
                stacktrace = True
            elif option == "consolidate":
                patterns.append(_consolidate(c))
            else:
                raise c.err(f"unknown property '{option}'")
    return patterns, stacktrace


def setup(c) -> None:
    patterns, stacktrace = parse(c)
    reactor = c.reactor
    handlers: list[ErrorHandler] = []

    def build(next_plugin):
        handler = ErrorHandler(next_plugin, patterns, reactor, stacktrace)
        handlers.append(handler)
        return handler

    def stop() -> None:
        for handler in handlers:
            handler.stop()

    c.add_plugin(build)
    c.on_shutdown(stop)
