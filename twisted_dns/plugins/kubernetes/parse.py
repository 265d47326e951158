"""A query name read as the Kubernetes DNS schema (CoreDNS's ``parse.go``).

Below the zone, a name is one of::

    _port._protocol.service.namespace.pod|svc
    endpoint.service.namespace.pod|svc
    endpoint.cluster.service.namespace.svc            (a multicluster zone)
    service.namespace.pod|svc
    topozone.pin|prefer._zone.service.namespace.svc   (with the ``zonal`` option)

Shorter names (the zone, ``svc``, ``pod``, a namespace) parse with the fields left empty
(NODATA, as CoreDNS); a name that is none of these is an :class:`InvalidRequest` (NXDOMAIN).
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted_dns.pkg.backend import BackendError, ip_text, parse_ip, split_name

SVC, POD = "svc", "pod"
ZONE_LABEL = "_zone"
_IP4ARPA, _IP6ARPA = ".in-addr.arpa.", ".ip6.arpa."
PIN, PREFER = "pin", "prefer"


class NoItems(BackendError):  # noqa: N818 - CoreDNS's errNoItems
    """Nothing has that name (``errNoItems``)."""

    def __init__(self, message: str = "no items found") -> None:
        super().__init__(message)


class NamespaceNotExposed(NoItems):
    def __init__(self) -> None:
        super().__init__("namespace is not exposed")


class InvalidRequest(NoItems):
    def __init__(self) -> None:
        super().__init__("invalid query name")


@dataclass(slots=True)
class RecordRequest:
    """The parts of a query name (CoreDNS's ``recordRequest``), "" when absent."""

    port: str = ""
    protocol: str = ""
    endpoint: str = ""
    cluster: str = ""
    #: the topology zone of a zonal name
    zone: str = ""
    #: the ``prefer`` directive (an empty zone falls back to every endpoint)
    zone_prefer: bool = False
    service: str = ""
    namespace: str = ""
    #: "pod" or "svc", "" for the apex names
    pod_or_svc: str = ""

    def __str__(self) -> str:
        return ".".join((self.port, self.protocol, self.endpoint, self.cluster, self.service,
                         self.namespace, self.pod_or_svc))


def strip_underscore(label: str) -> str:
    return label[1:] if label.startswith("_") else label


def trim_zone(name: str, zone: str) -> str:
    """``name`` (lower case) without ``zone`` (any case, a suffix of it), no final dot."""
    if len(name) <= len(zone):
        return ""
    return name[:len(name) - len(zone) - (0 if zone == "." else 1)]


def parse_request(name: str, zone: str, multicluster: bool = False,
                  zonal: bool = False) -> RecordRequest:
    """The parts of ``name`` (lower case) under ``zone``; :class:`InvalidRequest` when it is
    not a name of the schema."""
    r = RecordRequest()
    base = trim_zone(name, zone)
    if base in ("", SVC, POD):
        return r
    segs = split_name(base + ".")
    last = len(segs) - 1
    if last < 0:
        return r
    r.pod_or_svc = segs[last]
    if r.pod_or_svc not in (POD, SVC):
        raise InvalidRequest()
    last -= 1
    if last < 0:
        return r
    r.namespace = segs[last]
    last -= 1
    if last < 0:
        return r
    r.service = segs[last]
    last -= 1
    if last < 0:
        return r
    if last == 0:
        r.endpoint = segs[0]
    elif last == 1:
        if not multicluster or segs[1].startswith("_") or segs[0].startswith("_"):
            r.protocol = strip_underscore(segs[1])
            r.port = strip_underscore(segs[0])
        else:
            r.cluster = segs[1]
            r.endpoint = segs[0]
    else:
        # topozone.pin|prefer._zone: the zone value may itself hold dots
        if not zonal or multicluster or segs[last] != ZONE_LABEL or r.pod_or_svc != SVC:
            raise InvalidRequest()
        directive = segs[last - 1]
        if directive not in (PIN, PREFER):
            raise InvalidRequest()
        r.zone_prefer = directive == PREFER
        r.zone = ".".join(segs[:last - 1])
    return r


def match(a: str, b: str) -> bool:
    """Names compare without case (Go's ``strings.EqualFold``)."""
    return a == b or a.lower() == b.lower()


def match_port_protocol(port: str, port_name: str, protocol: str, port_protocol: str) -> bool:
    """A query's port and protocol (either empty: any) against a port's."""
    return (not port or match(port, port_name)) and (not protocol or match(protocol,
                                                                             port_protocol))


def is_reverse(name: str) -> bool:
    return name.endswith(_IP4ARPA) or name.endswith(_IP6ARPA)


def address_from_reverse(name: str) -> str:
    """The address a reverse name stands for, "" when it is none
    (``dnsutil.ExtractAddressFromReverse``)."""
    if name.endswith(_IP4ARPA):
        labels = name[:-len(_IP4ARPA)].split(".")
        labels.reverse()
        packed = parse_ip(".".join(labels))
        return ip_text(packed) if packed is not None and len(packed) == 4 else ""
    if name.endswith(_IP6ARPA):
        nibbles = name[:-len(_IP6ARPA)].split(".")
        nibbles.reverse()
        groups = ["".join(nibbles[i:i + 4]) for i in range(0, len(nibbles) - 3, 4)]
        packed = parse_ip(":".join(groups))
        return ip_text(packed) if packed is not None else ""
    return ""
