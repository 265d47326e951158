"""``log [NAMES...] [FORMAT] { class CLASSES...; minDuration [DURATION] }``: parse, add the link."""

from __future__ import annotations

from twisted_dns.names import normalize
from twisted_dns.pkg.durations import Duration, parse_duration
from twisted_dns.pkg.response import Class, class_from_string
from twisted_dns.plugins.log.log import (
    COMBINED_LOG_FORMAT,
    COMMON_LOG_FORMAT,
    DEFAULT_LOG_FORMAT,
    DEFAULT_MIN_DURATION,
    QueryLog,
    Rule,
)


def parse(c) -> list[Rule]:
    """Every rule of every ``log`` line of the block, in order (the first match logs)."""
    rules: list[Rule] = []
    while c.next():
        args = c.remaining_args()
        fmt = DEFAULT_LOG_FORMAT
        if len(args) == 0:
            scopes = ["."]
        elif len(args) == 1:
            scopes = [normalize(args[0])]
        else:
            # names, and a format when the last argument has a placeholder in it
            if "{" in args[-1]:
                # the shorthands expand wherever they appear, as CoreDNS's ReplaceAll
                fmt = args[-1].replace("{common}", COMMON_LOG_FORMAT)
                fmt = fmt.replace("{combined}", COMBINED_LOG_FORMAT)
                args = args[:-1]
            scopes = [normalize(arg) for arg in args]

        classes: set[Class] = set()
        min_duration = Duration(0)
        while c.next_block():
            option = c.val()
            if option == "class":
                values = c.remaining_args()
                if not values:
                    raise c.arg_err()
                for value in values:
                    try:
                        classes.add(class_from_string(value))
                    except ValueError as exc:
                        raise c.err(str(exc)) from None
            elif option == "minDuration":
                values = c.remaining_args()
                if len(values) > 1:
                    raise c.arg_err()
                if not values:
                    min_duration = parse_duration(DEFAULT_MIN_DURATION)
                    continue
                try:
                    min_duration = parse_duration(values[0])
                except ValueError:
                    raise c.err(f"Illegal duration found: '{values[0]}'") from None
            else:
                raise c.err(f"unknown property '{option}'")
        frozen = frozenset(classes or {Class.ALL})
        rules.extend(Rule(scope, fmt, frozen, min_duration) for scope in scopes)
    return rules


def setup(c) -> None:
    rules = parse(c)
    reactor = c.reactor
    c.add_plugin(lambda next_plugin: QueryLog(next_plugin, rules, reactor))
