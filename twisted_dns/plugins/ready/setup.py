"""``ready [ADDRESS] { monitor until-ready|continuously }``: parse, register the endpoint."""

from __future__ import annotations

from twisted_dns.pkg.http import address_arg
from twisted_dns.plugins.ready.ready import (
    DEFAULT_ADDRESS,
    MONITOR_TYPES,
    SHARED_KEY,
    UNTIL_READY,
    Readiness,
    ReadyEndpoint,
)


def parse(c) -> tuple[str, str, tuple[str, int]]:
    """The address, the monitor type and where the directive is (once per block)."""
    address = DEFAULT_ADDRESS
    monitor = UNTIL_READY
    where = None
    while c.once():
        where = (c.file(), c.line())
        address = address_arg(c, DEFAULT_ADDRESS)
        while c.next_block():
            if c.val() != "monitor":
                raise c.err(f"unknown property '{c.val()}'")
            values = c.remaining_args()
            if len(values) != 1:
                raise c.arg_err()
            if values[0] not in MONITOR_TYPES:
                raise c.err(f"monitor type '{values[0]}' not supported, expected one of "
                            + ", ".join(MONITOR_TYPES))
            monitor = values[0]
    return address, monitor, where or ("", 0)


def setup(c) -> None:
    address, monitor, (file, line) = parse(c)
    readiness: Readiness = c.shared(SHARED_KEY, Readiness)
    readiness.add_block(c.config)
    endpoint = readiness.endpoints.get(address)
    if endpoint is None:
        endpoint = readiness.endpoints[address] = ReadyEndpoint(
            address, readiness, c.reactor, monitor)
        endpoint.file, endpoint.line = file, line
        c.on_startup(endpoint.start)
        c.on_shutdown(endpoint.stop)
        # not ready from the start of the final stop (a reload runs no lame duck hook)
        c.on_lameduck(endpoint.lameduck)
    elif monitor == "continuously":
        endpoint.monitor = monitor
    # Not a link in the query chain: ready is a web server beside it (as in CoreDNS).
