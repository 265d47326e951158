"""``host:port`` text, written and read as Go's ``net`` package does (and so CoreDNS).

    join_host_port("::1", 53)     -> "[::1]:53"           net.JoinHostPort
    split_host_port("[::1]:53")   -> ("::1", "53")        net.SplitHostPort: the port required
    parse_host("[::1]:5300")      -> ("::1", 5300)        an IP address, the port optional

An IPv6 address goes in brackets whenever a port follows it, zone included
(``[fe80::1%eth0]:53``); a bare IPv6 address (``::1``) has no port.
"""

from __future__ import annotations

import ipaddress


def bracketed(host: str) -> str:
    """An IPv6 address in brackets (RFC 3986's IP-literal); any other host as it is."""
    return f"[{host}]" if ":" in host else host


def join_host_port(host: str, port: int | str) -> str:
    """Go's ``net.JoinHostPort``: ``[::1]:53``, ``192.0.2.1:53``, ``:53`` (every address)."""
    return f"{bracketed(host)}:{port}"


def split_host_port(address: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``: ``"[::1]:80"`` -> ``("::1", "80")``; ValueError (with
    Go's words) otherwise."""

    def fail(why: str) -> ValueError:
        return ValueError(f"address {address}: {why}")

    colon = address.rfind(":")
    if colon < 0:
        raise fail("missing port in address")
    no_open_from, no_close_from = 0, 0
    if address[0] == "[":
        end = address.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 == len(address):
            raise fail("missing port in address")
        if end + 1 != colon:
            raise fail("too many colons in address" if address[end + 1] == ":"
                       else "missing port in address")
        host = address[1:end]
        no_open_from, no_close_from = 1, end + 1
    else:
        host = address[:colon]
        if ":" in host:
            raise fail("too many colons in address")
    if "[" in address[no_open_from:]:
        raise fail("unexpected '[' in address")
    if "]" in address[no_close_from:]:
        raise fail("unexpected ']' in address")
    return host, address[colon + 1:]


def split_optional_port(text: str) -> tuple[str, str | None]:
    """``[::1]:53`` -> ``("::1", "53")``, ``192.0.2.1:53`` -> ``("192.0.2.1", "53")``;
    ``192.0.2.1`` and a bare ``::1`` have no port (None). ValueError for a ``[`` without its
    ``]`` or with more than ``:PORT`` after it."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"not an IP address: {text!r}")
        return host, rest[1:] if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    return text, None


def parse_port(text: str) -> int | None:
    """The port ``text`` writes when it is a number in 1-65535, else None."""
    if text.isascii() and text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    return None


def parse_host(text: str, default_port: int = 53) -> tuple[str, int]:
    """``10.0.0.1``, ``10.0.0.1:5300``, ``[::1]:5300`` or ``::1`` -> (ip, port), the IP
    normalized; ValueError naming ``text`` otherwise."""
    host, port_text = split_optional_port(text)
    port = default_port
    if port_text is not None:
        port = parse_port(port_text)
        if port is None:
            raise ValueError(f"invalid port in {text!r}")
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise ValueError(f"not an IP address: {text!r}") from None
