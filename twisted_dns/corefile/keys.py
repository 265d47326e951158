"""Server block keys: ``[SCHEME://]ZONE[:PORT]``, with CIDR zones turned into reverse zones.

This follows CoreDNS (``plugin.SplitHostPort``, ``plugin/pkg/cidr``): the port is what follows
the last colon when it is a number; a zone in CIDR notation becomes the ``in-addr.arpa.`` or
``ip6.arpa.`` zones that cover exactly that network, split into octet (IPv4) or nibble (IPv6)
aligned subnets when the prefix is not on such a boundary (``10.0.0.0/15`` is
``0.10.in-addr.arpa.`` and ``1.10.in-addr.arpa.``). Stricter than CoreDNS: an unknown scheme, a
port that is not a number in 0-65535, a malformed CIDR and a bare IPv6 address are errors
instead of odd zone names.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from dataclasses import dataclass, field

import dns.exception
import dns.name

from twisted_dns.corefile.lexer import Token
from twisted_dns.errors import ConfigError
from twisted_dns.names import normalize

#: The schemes a key may have and the port each listens on by default.
SCHEME_PORTS = {"dns": 53, "tls": 853, "quic": 853, "grpc": 443, "https": 443, "https3": 443}
#: The schemes the server has a transport for (:mod:`twisted_dns.server.listener`); a server
#: block key with another one is an error when the Corefile is loaded, not when it starts.
SERVED_SCHEMES = ("dns",)

_CIDR = re.compile(r"[0-9A-Fa-f:.]+/[0-9]+")
_PORT = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class ZoneAddr:
    """One zone a block serves, on one scheme and port; ``port`` None means "the default".

    Equal and hashed on scheme, zone and port only: ``file`` and ``line`` just say where the
    key was written.
    """

    scheme: str
    zone: str
    port: int | None
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.scheme}://{self.zone}{port}"

    def with_port(self, default: int | None = None) -> ZoneAddr:
        """This address with a missing port filled in: ``default``, else the scheme's port."""
        if self.port is not None:
            return self
        port = SCHEME_PORTS[self.scheme] if default is None else default
        return dataclasses.replace(self, port=port)


def parse_key(token: Token) -> list[ZoneAddr]:
    """The addresses a key stands for (several for a CIDR off an octet/nibble boundary)."""
    text = token.text
    scheme = "dns"
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme not in SCHEME_PORTS:
            known = ", ".join(SCHEME_PORTS)
            raise _error(token, f"unknown scheme '{scheme}' in '{token.text}' "
                                f"(expected one of {known})")
    host, port = _split_port(text, token)
    if not host:
        raise _error(token, f"missing zone in '{token.text}'")
    zones = _reverse_zones(host, token) if _CIDR.fullmatch(host) else [_zone(host, token)]
    return [ZoneAddr(scheme, zone, port, token.file, token.line) for zone in zones]


def parse_server_key(token: Token) -> list[ZoneAddr]:
    """A server block key's addresses (:func:`parse_key`), once its scheme is one the server
    has a transport for."""
    addresses = parse_key(token)
    scheme = addresses[0].scheme
    if scheme not in SERVED_SCHEMES:
        served = ", ".join(f"{name}://" for name in SERVED_SCHEMES)
        raise _error(token, f"cannot serve '{token.text}': no {scheme}:// transport yet "
                            f"(served: {served})")
    return addresses


def _split_port(text: str, token: Token) -> tuple[str, int | None]:
    colon = text.rfind(":")
    if colon == -1:
        return text, None
    if colon == len(text) - 1:
        raise _error(token, f"expecting data after last colon: '{token.text}'")
    host, port = text[:colon], text[colon + 1:]
    if (":" in host and "/" not in host) or "/" in port:
        return text, None  # IPv6: the colons belong to the address ("2001:db8::/32")
    if _PORT.fullmatch(port):
        number = int(port)
        if number > 65535:
            raise _error(token, f"port {port} out of range (0-65535) in '{token.text}'")
        return host, number
    raise _error(token, f"invalid port '{port}' in '{token.text}'")


def _zone(host: str, token: Token) -> str:
    """``host`` normalized (lower-case, absolute), once checked to be a domain name."""
    if ":" in host:
        raise _error(token, f"zone is not a valid domain name: {host} (use CIDR notation, "
                            f"e.g. 2001:db8::/32, for a reverse zone)")
    try:
        dns.name.from_text(host)
    except dns.exception.DNSException as exc:
        raise _error(token, f"zone is not a valid domain name: {host} ({exc})") from exc
    return normalize(host)


def _reverse_zones(cidr: str, token: Token) -> list[str]:
    """The reverse zones of ``cidr``: one per octet/nibble-aligned subnet that makes it up."""
    if cidr.startswith(":") or (cidr.startswith("0") and ":" in cidr):
        raise _error(token, f"invalid CIDR {cidr}")  # as CoreDNS
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise _error(token, f"invalid CIDR {cidr}: {exc}") from exc
    boundary = 8 if network.version == 4 else 4
    if network.prefixlen % boundary == 0:
        subnets = [network]
    else:
        aligned = math.ceil(network.prefixlen / boundary) * boundary
        subnets = list(network.subnets(new_prefix=aligned))
    zones = []
    for subnet in subnets:
        labels = subnet.network_address.reverse_pointer.split(".")
        skip = (subnet.max_prefixlen - subnet.prefixlen) // boundary
        zones.append(".".join(labels[skip:]) + ".")
    return zones


def _error(token: Token, message: str) -> ConfigError:
    return ConfigError(message, token.file, token.line)
