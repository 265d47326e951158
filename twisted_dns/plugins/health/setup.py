"""``health [ADDRESS] { lameduck DURATION }``: parse the directive, register the endpoint."""

from __future__ import annotations

from twisted_dns.pkg.durations import Duration, parse_duration
from twisted_dns.pkg.http import address_arg
from twisted_dns.plugins.health.health import DEFAULT_ADDRESS, SHARED_KEY, Health


def parse(c) -> tuple[str, Duration, tuple[str, int]]:
    """The address, the lame duck duration and where the directive is (the last one wins)."""
    address = DEFAULT_ADDRESS
    lameduck = Duration(0)
    where = ("", 0)
    while c.next():
        where = (c.file(), c.line())
        address = address_arg(c, DEFAULT_ADDRESS)
        while c.next_block():
            if c.val() != "lameduck":
                raise c.err(f"unknown property '{c.val()}'")
            values = c.remaining_args()
            if len(values) != 1:
                raise c.arg_err()
            try:
                lameduck = parse_duration(values[0])
            except ValueError as exc:
                raise c.err(f"unable to parse lameduck duration value: '{values[0]}' : {exc}"
                            ) from None
    return address, lameduck, where


def setup(c) -> None:
    address, lameduck, (file, line) = parse(c)
    endpoints: dict[str, Health] = c.shared(SHARED_KEY, dict)
    health = endpoints.get(address)
    if health is None:
        health = endpoints[address] = Health(address, c.reactor)
        health.file, health.line = file, line
        c.on_startup(health.start)
        c.on_shutdown(health.stop)
        # 503 while DNS still answers, when the server stops for good (a reload hands the
        # open port to the next configuration instead)
        c.on_lameduck(lambda: health.lameduck() if health.lameduck_duration > 0 else None)
    health.lameduck_duration = max(health.lameduck_duration, lameduck)
    # Not a link in the query chain: health is a web server beside it (as in CoreDNS).
