"""The ``bind ADDRESS|IFACE ... { except ADDRESS|IFACE ... }`` directive.

Fills ``BlockConfig.listen_hosts``. Every ``bind`` line of a block adds to the list; an
``except`` removes addresses from its own line only. An interface name stands for the
addresses it has now; its IPv6 link-local ones get the interface as zone (``fe80::1%eth0``),
as CoreDNS does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from twisted_dns.config import Controller

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def interface_addresses(name: str) -> list[Address] | None:
    """The addresses of interface ``name`` (None when there is no such interface).

    An IPv6 link-local address is only usable with its zone, so it gets the interface's.
    """
    import ifaddr  # only needed when a name is not an address

    for adapter in ifaddr.get_adapters():
        if name not in (adapter.name, adapter.nice_name):
            continue
        found: list[Address] = []
        for ip in adapter.ips:
            if not ip.is_IPv6:
                found.append(ipaddress.IPv4Address(ip.ip))
                continue
            address = ipaddress.IPv6Address(ip.ip[0])
            if address.is_link_local and address.scope_id is None:
                address = ipaddress.IPv6Address(f"{address}%{adapter.name}")
            found.append(address)
        return found
    return None


def resolve(c: Controller, args: Iterable[str]) -> list[Address]:
    """Addresses for the arguments: each an IP address or an interface name."""
    result: list[Address] = []
    for arg in args:
        try:
            result.append(ipaddress.ip_address(arg))
            continue
        except ValueError:
            pass
        try:
            addresses = interface_addresses(arg)
        except ImportError as exc:
            raise c.err(f'cannot look up interface "{arg}": {exc}') from exc
        except OSError as exc:
            raise c.err(f'failed to get the IP addresses of the interface "{arg}": '
                        f"{exc}") from exc
        if addresses is None:
            raise c.err(f'not a valid IP address or interface name: "{arg}"')
        result.extend(addresses)
    return result


def setup(c: Controller) -> None:
    hosts: list[Address] = []
    empty = None
    while c.next():
        args = c.remaining_args()
        if not args:
            raise c.err("at least one address or interface name is expected")
        addresses = resolve(c, args)
        excluded: set[Address] = set()
        while c.next_block():
            if c.val() != "except":
                raise c.err(f'invalid option "{c.val()}"')
            names = c.remaining_args()
            if not names:
                raise c.err("at least one address or interface must be given to except "
                            "subdirective")
            excluded.update(resolve(c, names))
        kept = [address for address in addresses if address not in excluded]
        if not kept and empty is None:
            empty = c.err("no address to bind to: the interfaces have none or every one "
                          "is excluded")
        hosts.extend(address for address in kept if address not in hosts)
    if not hosts and empty is not None:
        # an empty list would mean "every address": refuse rather than widen
        raise empty
    c.config.listen_hosts = [str(address) for address in hosts]
