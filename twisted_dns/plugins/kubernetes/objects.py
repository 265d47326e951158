"""The Kubernetes API's objects, cut down to what DNS needs (CoreDNS's ``kubernetes/object``).

The API client hands over each object as the API's JSON dict; the ``to_*`` functions here
keep only what answers need, in small immutable values (a cluster has tens of thousands of
them and each lives as long as the object does). An EndpointSlice keeps only its *ready*
endpoints (``conditions.ready`` true or unset, as ``endpointsliceReady``), a Service its
ports (a port ``-1`` standing in when it declares none, as CoreDNS's sentinel), a Pod its IP,
name, namespace and labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: the label an EndpointSlice names its Service with
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: the MCS-API labels of a multicluster EndpointSlice
MULTICLUSTER_SERVICE_LABEL = "multicluster.kubernetes.io/service-name"
SOURCE_CLUSTER_LABEL = "multicluster.kubernetes.io/source-cluster"
#: the annotation the EndpointSlice controller stamps with the time of the change
LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
CLUSTER_IP_NONE = "None"
EXTERNAL_NAME = "ExternalName"
HEADLESS_IMPORT = "Headless"


def key(namespace: str, name: str) -> str:
    """The store key of an object (``cache.MetaNamespaceKeyFunc``)."""
    return f"{namespace}/{name}" if namespace else name


def index(name: str, namespace: str) -> str:
    """The ``NAME.NAMESPACE`` index Services and EndpointSlices are found by."""
    return f"{name}.{namespace}"


@dataclass(frozen=True, slots=True)
class Port:
    """A Service's or an EndpointSlice's port; ``port`` -1 when none is declared."""

    port: int
    name: str = ""
    protocol: str = ""


#: what an object with no ports has instead
NO_PORTS = (Port(-1),)


@dataclass(frozen=True, slots=True)
class Service:
    version: str
    name: str
    namespace: str
    index: str
    cluster_ips: tuple[str, ...]
    type: str
    external_name: str
    ports: tuple[Port, ...]
    #: ``spec.externalIPs``, then the load balancer's ingress IPs (or host names)
    external_ips: tuple[str, ...]

    @property
    def headless(self) -> bool:
        return self.cluster_ips[0] == CLUSTER_IP_NONE


@dataclass(frozen=True, slots=True)
class Address:
    """One ready endpoint address."""

    ip: str
    hostname: str = ""
    node_name: str = ""
    #: the name of the pod it targets, when shorter than 64 characters
    target_ref_name: str = ""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """An EndpointSlice (CoreDNS's ``object.Endpoints`` with its one subset)."""

    version: str
    name: str
    namespace: str
    #: the Service's ``NAME.NAMESPACE``
    index: str
    addresses: tuple[Address, ...]
    ports: tuple[Port, ...]
    #: address -> its topology zone, lower-case (kept only for the ``zonal`` option)
    zones: Mapping[str, str] | None = None
    #: the MCS-API source cluster, for multicluster slices ("" otherwise)
    cluster_id: str = ""

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(address.ip for address in self.addresses)


@dataclass(frozen=True, slots=True)
class Pod:
    version: str
    pod_ip: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    #: being deleted: CoreDNS neither adds nor updates such a pod
    terminating: bool = False


@dataclass(frozen=True, slots=True)
class Namespace:
    version: str
    name: str


@dataclass(frozen=True, slots=True)
class ServiceImport:
    """An MCS-API ServiceImport."""

    version: str
    name: str
    namespace: str
    index: str
    cluster_ips: tuple[str, ...]
    type: str
    ports: tuple[Port, ...]

    @property
    def headless(self) -> bool:
        return self.type == HEADLESS_IMPORT


def _meta(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("resourceVersion") or "", meta.get("name") or "", meta.get("namespace") or ""


def labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _ports(ports: list[Mapping[str, Any]] | None) -> tuple[Port, ...]:
    if not ports:
        return NO_PORTS
    return tuple(Port(-1 if p.get("port") is None else int(p["port"]), p.get("name") or "",
                      p.get("protocol") or "") for p in ports)


def to_service(obj: Mapping[str, Any]) -> Service:
    version, name, namespace = _meta(obj)
    spec = obj.get("spec") or {}
    cluster_ips = tuple(spec.get("clusterIPs") or ()) or (spec.get("clusterIP") or "",)
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    external = (*(spec.get("externalIPs") or ()),
                *(lb.get("ip") or lb.get("hostname") or "" for lb in ingress))
    return Service(version, name, namespace, index(name, namespace), cluster_ips,
                   spec.get("type") or "", spec.get("externalName") or "",
                   _ports(spec.get("ports")), external)


def _ready(endpoint: Mapping[str, Any]) -> bool:
    """A nil ``ready`` is an unknown state, which counts as ready (the API's advice)."""
    ready = (endpoint.get("conditions") or {}).get("ready")
    return ready is None or bool(ready)


def to_endpoints(obj: Mapping[str, Any], with_zones: bool = False,
                 multicluster: bool = False) -> Endpoints:
    """An EndpointSlice: its ready addresses, its ports; each address's zone
    ``with_zones``; for a ``multicluster`` one, indexed by its MCS-API service name and with
    its source cluster."""
    version, name, namespace = _meta(obj)
    addresses = []
    zones: dict[str, str] | None = {} if with_zones else None
    for endpoint in obj.get("endpoints") or ():
        if not _ready(endpoint):
            continue
        target = (endpoint.get("targetRef") or {}).get("name") or ""
        hostname = endpoint.get("hostname") or ""
        node = endpoint.get("nodeName") or ""
        zone = endpoint.get("zone")
        for ip in endpoint.get("addresses") or ():
            addresses.append(Address(ip, hostname, node, target if len(target) < 64 else ""))
            if zones is not None and zone is not None:
                zones[ip] = zone.lower()
    found = labels(obj)
    service = found.get(MULTICLUSTER_SERVICE_LABEL if multicluster else SERVICE_NAME_LABEL, "")
    return Endpoints(version, name, namespace, index(service, namespace), tuple(addresses),
                     _ports(obj.get("ports")), zones or None,
                     found.get(SOURCE_CLUSTER_LABEL, "") if multicluster else "")


def to_pod(obj: Mapping[str, Any]) -> Pod:
    version, name, namespace = _meta(obj)
    meta = obj.get("metadata") or {}
    return Pod(version, (obj.get("status") or {}).get("podIP") or "", name, namespace,
               dict(meta.get("labels") or {}), bool(meta.get("deletionTimestamp")))


def to_namespace(obj: Mapping[str, Any]) -> Namespace:
    version, name, _ = _meta(obj)
    return Namespace(version, name)


def to_service_import(obj: Mapping[str, Any]) -> ServiceImport:
    version, name, namespace = _meta(obj)
    spec = obj.get("spec") or {}
    ports = spec.get("ports") or ()
    return ServiceImport(version, name, namespace, index(name, namespace),
                         tuple(spec.get("ips") or ()), spec.get("type") or "",
                         tuple(Port(int(p.get("port") or 0), p.get("name") or "",
                                    p.get("protocol") or "") for p in ports))


def endpoint_hostname(address: Address, endpoint_pod_names: bool) -> str:
    """The name of an endpoint under its service: its hostname, else (``endpoint_pod_names``)
    its pod's name, else its IP with dashes (``1-2-3-4``; IPv6 ``:`` -> ``-``, a trailing
    ``-`` ending in ``0``)."""
    if address.hostname:
        return address.hostname
    if endpoint_pod_names and address.target_ref_name:
        return address.target_ref_name
    ip = address.ip
    if "." in ip:
        return ip.replace(".", "-")
    if ":" in ip:
        dashed = ip.replace(":", "-")
        return dashed + "0" if dashed.endswith("-") else dashed
    return ""
