"""What the *k8s_external* plugin asks of *kubernetes* (CoreDNS's ``external.go``, its
``Externaler``): Services by their external IPs (``spec.externalIPs`` and the load balancer's
ingress) under a zone of its own, ``service.namespace.ZONE``, and with ``headless`` the
endpoints of headless Services that have none.

These are methods of :class:`~twisted_dns.plugins.kubernetes.kubernetes.Kubernetes`
(``External``, ``ExternalAddress``, ``ExternalServices``, ``ExternalSerial``,
``ExternalReverse``), so k8s_external needs nothing but the plugin object. ``state`` is a
:class:`twisted_dns.pkg.backend.State` whose ``zone`` is k8s_external's zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted_dns import wire
from twisted_dns.pkg.backend import Record, Service, State, domain, path, split_name
from twisted_dns.plugins.kubernetes.controller import EXTERNAL
from twisted_dns.plugins.kubernetes.objects import index
from twisted_dns.plugins.kubernetes.parse import (
    NoItems,
    address_from_reverse,
    match,
    match_port_protocol,
    strip_underscore,
    trim_zone,
)

if TYPE_CHECKING:
    from twisted_dns.plugins.kubernetes.kubernetes import Kubernetes

#: appended to the keys of :func:`external_services`' headless map: the records of one
#: endpoint's name, and of one ``_port._protocol`` name
ENDPOINT, PORT_PROTOCOL = "endpoint", "port.protocol"
_PTR = 12


def external(k: Kubernetes, state: State, headless: bool) -> tuple[list[Service], int]:
    """The services answering ``state`` and the rcode: NXDOMAIN for a name that is not
    there, NOERROR (with no services: NODATA) for a namespace or a PTR query."""
    if state.qtype == _PTR:
        ip = address_from_reverse(state.name)
        if ip:
            try:
                return external_reverse(k, ip), wire.NOERROR
            except NoItems:
                return [], wire.NXDOMAIN
    segs = split_name(trim_zone(state.name, state.zone))
    last = len(segs) - 1
    if last < 0:
        return [], wire.SERVFAIL
    namespace = segs[last]
    if not k.namespace_exposed(namespace):
        return [], wire.NXDOMAIN
    last -= 1
    if last < 0:
        return [], wire.NOERROR
    service = segs[last]
    last -= 1
    port = protocol = endpoint = ""
    if last == 0:
        endpoint = strip_underscore(segs[0])
        last -= 1
    elif last == 1:
        protocol, port = strip_underscore(segs[1]), strip_underscore(segs[0])
        last -= 2
    if last != -1:
        return [], wire.NXDOMAIN  # too long
    idx = index(service, namespace)
    zone_path = path(state.zone, "c")
    services: list[Service] = []
    rcode = wire.NXDOMAIN
    for svc in k.controller.svc_index(idx):
        if namespace != svc.namespace or service != svc.name:
            continue
        base = f"{zone_path}/{svc.namespace}/{svc.name}"
        if headless and not svc.external_ips and (svc.headless or endpoint):
            for ep in k.controller.ep_index(idx):
                if ep.index != svc.index:
                    continue
                for address in ep.addresses:
                    hostname = k.hostname(address)
                    if endpoint and not match(endpoint, hostname):
                        continue
                    for p in ep.ports:
                        if match_port_protocol(port, p.name, protocol, p.protocol):
                            rcode = wire.NOERROR
                            services.append(Service(host=address.ip, port=p.port, ttl=k.ttl,
                                                    key=f"{base}/{hostname}"))
            continue
        for ip in svc.external_ips:
            for p in svc.ports:
                if match_port_protocol(port, p.name, protocol, p.protocol):
                    rcode = wire.NOERROR
                    services.append(Service(host=ip, port=p.port, ttl=k.ttl, key=base))
    if state.qtype == _PTR:
        return [], rcode  # an invalid reverse name: only NXDOMAIN or NODATA
    return services, rcode


def external_address(k: Kubernetes, state: State, headless: bool) -> list[Record]:
    """The A/AAAA records of this server under k8s_external's zone: its Service's external
    IPs (with ``headless``, a headless Service's endpoints), else the local addresses."""
    return k.ns_addrs(True, headless, state.zone)


def external_services(k: Kubernetes, zone: str,
                      headless: bool) -> tuple[list[Service], dict[str, list[Service]]]:
    """Every service with external IPs under ``zone`` (for a transfer), each at its name and
    at ``_protocol._port`` (``target_strip`` 2); with ``headless``, the endpoints of
    headless Services grouped by the key of the name they answer (``.../endpoint`` and
    ``..._port/port.protocol``)."""
    zone_path = path(zone, "c")
    services: list[Service] = []
    by_name: dict[str, list[Service]] = {}
    for svc in k.controller.services.values():
        base = f"{zone_path}/{svc.namespace}/{svc.name}"
        if headless and not svc.external_ips and svc.headless:
            for ep in k.controller.ep_index(svc.index):
                for address in ep.addresses:
                    hostname = k.hostname(address)
                    for p in ep.ports:
                        by_name.setdefault(f"{base}/{ENDPOINT}", []).append(
                            Service(host=address.ip, port=p.port, ttl=k.ttl,
                                    key=f"{base}/{hostname}"))
                        if not p.name:
                            continue  # no SRV for an unnamed port (the spec)
                        key = f"{base}/_{p.protocol.lower()}/_{p.name.lower()}"
                        by_name.setdefault(f"{key}/{PORT_PROTOCOL}", []).append(
                            Service(host=domain(f"{base}/{hostname}"), port=p.port,
                                    ttl=k.ttl, key=key))
            continue
        for ip in svc.external_ips:
            for p in svc.ports:
                services.append(Service(host=ip, port=p.port, ttl=k.ttl, key=base))
                services.append(Service(
                    host=ip, port=p.port, ttl=k.ttl, target_strip=2,
                    key=f"{base}/_{p.protocol.lower()}/_{p.name.lower()}"))
    return services, by_name


def external_serial(k: Kubernetes, zone: str) -> int:
    """The serial of the external zone: the last change to external IPs or their ports."""
    return k.controller.modified(EXTERNAL) & 0xFFFFFFFF


def external_reverse(k: Kubernetes, ip: str) -> list[Service]:
    """``service.namespace`` of the Services having external IP ``ip``; NoItems when none."""
    namespaces = k.options.namespaces
    found = [Service(host=f"{svc.name}.{svc.namespace}", ttl=k.ttl)
             for svc in k.controller.svc_ext_index_reverse(ip)
             if not (namespaces and not k.namespace_exposed(svc.namespace))]
    if not found:
        raise NoItems()
    return found
