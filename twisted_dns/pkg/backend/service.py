"""CoreDNS's ``msg.Service`` (``plugin/etcd/msg``): one discoverable thing a backend found.

A Service is the RDATA of an SRV record with a twist: ``host`` is a name, or an IP address,
and then it stands for an address record whose owner is made from ``key``, the path where the
backend found it (``/skydns/org/example/www`` is ``www.example.org.``: :func:`path` and
:func:`domain`). What ``host`` holds decides what it answers (:meth:`Service.host_type`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

TYPE_A, TYPE_CNAME, TYPE_TXT, TYPE_AAAA = 1, 5, 16, 28
_MAPPED = b"\0" * 10 + b"\xff\xff"


@dataclass(slots=True)
class Service:
    """What a backend found for a name (the fields of ``msg.Service``)."""

    host: str = ""
    port: int = 0
    priority: int = 0
    weight: int = 0
    text: str = ""
    #: an MX record: ``priority`` is its preference
    mail: bool = False
    ttl: int = 0
    #: labels stripped from the left of the name an SRV, MX or NS target is made from
    target_strip: int = 0
    #: where the backend found it, a path (see :func:`path`)
    key: str = ""

    def host_type(self) -> tuple[int, bytes | None]:
        """(TYPE_A or TYPE_AAAA, the address as 4 or 16 octets) when ``host`` is an IP
        address, as Go's ``net.ParseIP`` reads one (an IPv4-mapped IPv6 address is A);
        (TYPE_TXT, None) for a name with ``text``, else (TYPE_CNAME, None)."""
        address = parse_ip(self.host)
        if address is None:
            return (TYPE_TXT if self.text else TYPE_CNAME), None
        return (TYPE_A if len(address) == 4 else TYPE_AAAA), address


def parse_ip(text: str) -> bytes | None:
    """``text`` as an IPv4 (4 octets) or IPv6 address (16; an IPv4-mapped one as 4), None
    when it is not one (Go's ``net.ParseIP``: no zone, no leading zeros in IPv4)."""
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except OSError:
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None
    return packed[12:] if packed[:12] == _MAPPED else packed


def ip_text(packed: bytes) -> str:
    """An address as Go's ``net.IP.String`` prints it."""
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)


def split_name(name: str) -> list[str]:
    """The labels of ``name`` (escaped dots stay inside their label: ``dns.SplitDomainName``),
    none for the root."""
    if name in ("", "."):
        return []
    if "\\" not in name:
        labels = name.split(".")
    else:
        labels = [""]
        i = 0
        while i < len(name):
            char = name[i]
            if char == "\\":
                labels[-1] += name[i:i + 2]
                i += 2
                continue
            if char == ".":
                labels.append("")
            else:
                labels[-1] += char
            i += 1
    if labels and labels[-1] == "":
        labels.pop()
    return labels


def path(name: str, prefix: str) -> str:
    """``msg.Path``: ``service.staging.skydns.local.`` -> ``/skydns/local/skydns/staging/service``
    under ``prefix``."""
    labels = split_name(name)
    labels.reverse()
    return "/".join(["", prefix, *labels]) if labels else "/" + prefix


def domain(key: str) -> str:
    """``msg.Domain``, the name a key stands for: ``/skydns/local/skydns/x`` ->
    ``x.skydns.local.``."""
    parts = key.split("/")
    if parts[-1] == "":
        parts.pop()
    labels = parts[2:]
    labels.reverse()
    return ".".join(labels) + "." if labels else "."


def fqdn(name: str) -> str:
    """``dns.Fqdn``: ``name`` with its final dot."""
    return name if name.endswith(".") else name + "."


def strip_target(name: str, count: int) -> str:
    """``name`` without its ``count`` leftmost labels; the whole name when it has no more."""
    labels = split_name(name)
    if count >= len(labels):
        return name
    return ".".join(labels[count:]) + "."
