"""Zone transfers of the cluster's zones through the *transfer* plugin (CoreDNS's ``xfr.go``).

``Kubernetes.Transfer(origin)`` (an ``ITransferSource``) takes a snapshot of what the zone
holds, in the reactor (references to immutable objects: quick), and the *transfer* plugin
turns it into records in a thread (:meth:`ClusterZone.axfr_records`), in CoreDNS's order:
the SOA, the NS records and their addresses, then the Services sorted by name (their
addresses, an SRV for each port, one more for each named port; a headless Service's
endpoints by address and by name with an SRV per named port; an ExternalName's CNAME), the
SOA again. Zonal names are not transferred, as in CoreDNS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import dns.rrset

from twisted_dns.names import longest_match
from twisted_dns.pkg.backend import (
    TYPE_CNAME,
    Record,
    Service,
    State,
    address_record,
    axfr_record,
    domain,
    fqdn,
    path,
    soa,
)
from twisted_dns.pkg.backend.records import cname, ns, srv, to_rrset
from twisted_dns.plugins.kubernetes.objects import EXTERNAL_NAME, endpoint_hostname
from twisted_dns.plugins.kubernetes.parse import SVC

if TYPE_CHECKING:
    from twisted_dns.plugins.kubernetes.kubernetes import Kubernetes

_SOA = 6
#: the Service types that have a ClusterIP
_CLUSTER_IP_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


def transfer(k: Kubernetes, origin: str) -> ClusterZone:
    """The zone ``origin`` to transfer; KeyError when it is not in the plugin's zones."""
    if longest_match(k.zones, origin) is None:
        raise KeyError(origin)
    return ClusterZone(k, origin)


class ClusterZone:
    """One zone's contents as they were when the transfer was asked."""

    def __init__(self, k: Kubernetes, origin: str) -> None:
        self.origin = origin
        # as CoreDNS: the SOA is made without the zone, so it has the internal serial
        record = soa(k, origin, State(origin, _SOA, "", None))
        self._soa = record
        self.soa: dns.rrset.RRset = to_rrset(record)
        self.serial: int = self.soa[0].serial
        self._ttl = k.ttl
        self._pod_names = k.options.endpoint_pod_names
        self._ns_addrs = k.ns_addrs(False, False, origin)
        self._base = path(origin, "c")
        controller = k.controller
        self._multicluster = k.is_multicluster_zone(origin)
        if self._multicluster:
            kinds: list[Any] = list(controller.service_imports.values())
            slices = controller.mc_ep_index
        else:
            kinds = list(controller.services.values())
            slices = controller.ep_index
        kinds.sort(key=lambda s: (s.name, s.namespace))
        self._services = [s for s in kinds if k.namespace_exposed(s.namespace)]
        self._slices = {s.index: list(slices(s.index)) for s in self._services}

    def axfr_records(self) -> list[tuple]:
        """Every record, as ``wire.transfer_messages`` takes them (safe in a thread: it
        reads only the snapshot)."""
        return [axfr_record(record) for record in self.records()]

    def records(self) -> list[Record]:
        out = [self._soa]
        seen: set[str] = set()
        for record in self._ns_addrs:
            if record.name not in seen:
                seen.add(record.name)
                out.append(ns(self.origin, self._ttl, record.name))
        out.extend(self._ns_addrs)
        for svc in self._services:
            out.extend(self._service(svc))
        out.append(self._soa)
        return out

    def _service(self, svc: Any) -> Iterable[Record]:
        base = "/".join((self._base, SVC, svc.namespace, svc.name))
        ttl = self._ttl
        if self._multicluster or svc.type in _CLUSTER_IP_TYPES:
            ips = svc.cluster_ips
            if ips and Service(host=ips[0]).host_type()[0] != TYPE_CNAME:
                host = ""
                for ip in ips:
                    host = yield from _address(Service(host=ip, ttl=ttl, key=base))
                for port in svc.ports:
                    yield srv(domain(base), ttl, 0, 100, port.port, fqdn(host))
                    if port.name:  # no SRV for an unnamed port (the spec)
                        yield srv(domain(_port_key(base, port)), ttl, 0, 100, port.port,
                                  fqdn(host))
                return
            for ep in self._slices.get(svc.index, ()):
                if not ep.addresses:
                    continue
                weight = max(math.floor(100.0 / (100 * len(ep.addresses)) * 100), 1)
                for address in ep.addresses:
                    yield from _address(Service(host=address.ip, ttl=ttl, key=base))
                    hostname = endpoint_hostname(address, self._pod_names)
                    host = yield from _address(Service(host=address.ip, ttl=ttl,
                                                       key=f"{base}/{hostname}"))
                    for port in ep.ports:
                        if port.name:
                            yield srv(domain(_port_key(base, port)), ttl, 0, weight,
                                      port.port, fqdn(host))
        elif svc.type == EXTERNAL_NAME:
            service = Service(host=svc.external_name, ttl=ttl, key=base)
            if service.host_type()[0] == TYPE_CNAME:
                yield cname(domain(base), ttl, fqdn(svc.external_name))


def _port_key(base: str, port: Any) -> str:
    return f"{base}/_{port.protocol.lower()}/_{port.name.lower()}"


def _address(service: Service) -> Any:
    """Yield the A or AAAA record of ``service`` at its key's name; return that name ("" when
    its host is no address)."""
    _, packed = service.host_type()
    if packed is None:
        return ""
    name = domain(service.key)
    yield address_record(name, service.ttl, packed)
    return name
