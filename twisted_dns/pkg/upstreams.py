"""Upstream addresses as Corefiles write them (CoreDNS's ``parse.HostPortOrFile``/``Transport``).

    parse_upstreams(["10.0.0.1", "tls://9.9.9.9%dns.quad9.net", "/etc/resolv.conf"])

Each argument is ``[SCHEME://]IP[:PORT]`` (IPv6 as ``[::1]:53``, a bare IPv6 address too), or
the path of a resolv.conf-style file whose ``nameserver`` lines count, each as plain DNS on
port 53. A ``tls://`` address may name its TLS server with ``%NAME`` before the port. The
scheme's default port applies when none is given (53 for ``dns``, 853 for ``tls``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from twisted_dns.addresses import join_host_port, parse_port, split_optional_port

#: schemes and their default ports
PORTS = {"dns": 53, "tls": 853, "grpc": 443, "https": 443}


class UpstreamError(ValueError):
    """An address that is neither an IP address nor a readable resolv.conf file."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream server: transport scheme, IP address, port and TLS server name."""

    scheme: str
    host: str
    port: int
    server_name: str = ""

    @property
    def addr(self) -> str:
        """``host:port`` as CoreDNS prints it (IPv6 in brackets), used in logs and metrics."""
        return join_host_port(self.host, self.port)

    def __str__(self) -> str:
        return self.addr if self.scheme == "dns" else f"{self.scheme}://{self.addr}"


def split_scheme(text: str) -> tuple[str, str]:
    """``tls://1.1.1.1`` -> ``("tls", "1.1.1.1")``; no scheme means ``dns``."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return "dns", text
    return scheme.lower(), rest


def _ip(text: str) -> str | None:
    """``text`` as a normalised IP address (an IPv6 zone kept), or None."""
    address, percent, zone = text.partition("%")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return f"{ip}%{zone}" if percent and ip.version == 6 else str(ip)


def resolv_conf_servers(path: str) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf file (raises OSError when unreadable)."""
    servers = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 2 and fields[0] == "nameserver" and _ip(fields[1]):
                servers.append(_ip(fields[1]))
    return servers


def parse_upstream(text: str) -> list[Upstream]:
    """One argument: an address (one upstream) or a resolv.conf file (its nameservers)."""
    scheme, rest = split_scheme(text)
    if not rest:
        raise UpstreamError(f"invalid address: {text!r}")
    server_name = ""
    if scheme == "tls" and "%" in rest and not rest.startswith("["):
        host_part, _, name_port = rest.partition("%")
        name, colon, port_text = name_port.partition(":")
        server_name, rest = name, host_part + (colon + port_text if colon else "")
    try:
        host, port_text = split_optional_port(rest)
    except ValueError:
        raise UpstreamError(f"not an IP address or file: {rest!r}") from None
    ip = _ip(host)
    if ip is None:
        try:
            servers = resolv_conf_servers(rest)
        except OSError:
            raise UpstreamError(f"not an IP address or file: {rest!r}") from None
        return [Upstream("dns", server, PORTS["dns"]) for server in servers]
    if scheme not in PORTS:
        raise UpstreamError(f"unknown scheme {scheme!r} in {text!r}")
    port = PORTS[scheme] if port_text is None else parse_port(port_text)
    if port is None:
        raise UpstreamError(f"invalid port in {text!r}")
    return [Upstream(scheme, ip, port, server_name)]


def parse_upstreams(texts: list[str]) -> list[Upstream]:
    """Every argument's upstreams, in order; an error when there are none at all."""
    upstreams = [upstream for text in texts for upstream in parse_upstream(text)]
    if not upstreams:
        raise UpstreamError("no nameservers found")
    return upstreams
