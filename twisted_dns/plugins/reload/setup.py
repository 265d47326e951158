"""``reload [INTERVAL] [JITTER]``: parse the directive, watch the configuration's files."""

from __future__ import annotations

from twisted_dns.pkg.durations import Duration, parse_duration
from twisted_dns.plugins.reload.reload import (
    DEFAULT_INTERVAL,
    DEFAULT_JITTER,
    MIN_INTERVAL,
    MIN_JITTER,
    SHARED_KEY,
    Watcher,
    jittered,
)


def parse(c) -> tuple[Duration, Duration]:
    """The interval and the jitter (at most half the interval)."""
    interval, jitter = DEFAULT_INTERVAL, DEFAULT_JITTER
    seen = False
    while c.next():
        if seen:
            raise c.err("plugin/reload: this plugin can only be used once per Server Block")
        seen = True
        args = c.remaining_args()
        if len(args) > 2:
            raise c.arg_err()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
        if args:
            interval = _duration(c, args[0])
        if interval < MIN_INTERVAL:
            raise c.err(f"plugin/reload: interval value must be greater or equal to "
                        f"{MIN_INTERVAL}")
        if len(args) > 1:
            jitter = _duration(c, args[1])
        if jitter < MIN_JITTER:
            raise c.err(f"plugin/reload: jitter value must be greater or equal to {MIN_JITTER}")
    return interval, min(jitter, Duration(interval // 2))


def _duration(c, text: str) -> Duration:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise c.err(f"plugin/reload: {exc}") from None


def setup(c) -> None:
    interval, jitter = parse(c)
    period = jittered(interval, jitter)
    made = Watcher(c.files, period, c.reactor, c.reload)
    watcher = c.shared(SHARED_KEY, lambda: made)
    if watcher is not made:  # another block uses reload too: the last one sets the period
        watcher.period = period
        return
    c.on_startup(watcher.start)
    c.on_shutdown(watcher.stop)
    # Not a link in the query chain.
