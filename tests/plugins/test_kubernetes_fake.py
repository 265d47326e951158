"""A fake Kubernetes API for the *kubernetes* tests, and CoreDNS's test cluster in it.

:class:`FakeCluster` stands where ``watch.connect`` stands: it holds the API's JSON objects
per path and, once started, feeds each store the plugin watches (``watch.feeds``) as the
client's reflectors would: ``replace`` with the list, then ``apply`` for each event a test
sends (:meth:`FakeCluster.event`). Label selectors are matched as the API server matches
them, so what a configuration asks for is what it gets.

``coredns_cluster()`` is the fixture of CoreDNS's ``handler_test.go`` (``APIConnServeTest``)
as API objects.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

import dns.message
import dns.rdatatype
from twisted.internet import task

from twisted_dns.plugins.kubernetes import watch
from twisted_dns.plugins.kubernetes.kubernetes import Kubernetes
from twisted_dns.plugins.kubernetes.setup import install, parse
from twisted_dns.testing import CaptureWriter, NextPlugin, configure, make_request, reply_of

#: CoreDNS's test SOA serial: the fake clock starts there, so every serial is this one
SERIAL = 1499347823
_REQUIREMENT = re.compile(r"(!?)([^=!, ()]+)(?:(=|!=| in | notin )(\(([^)]*)\)|[^,]*))?")


def _requirements(selector: str) -> list[tuple[str, str, str, set[str]]]:
    """(negation, key, operator, values) of a canonical selector."""
    found = []
    for match in _REQUIREMENT.finditer(selector):
        if not match.group(0):
            continue
        values = match.group(5) if match.group(5) is not None else match.group(4) or ""
        found.append((match.group(1), match.group(2), (match.group(3) or "").strip(),
                      set(values.split(",")) if match.group(3) else set()))
    return found


def matches(selector: str | None, labels: Mapping[str, str]) -> bool:
    """Whether an object's labels match a label selector (its canonical text)."""
    for negation, key, operator, values in _requirements(selector or ""):
        if negation:
            ok = key not in labels
        elif operator == "":
            ok = key in labels
        elif operator == "=":
            ok = labels.get(key) in values
        elif operator == "!=":
            ok = labels.get(key) not in values
        elif operator == "in":
            ok = key in labels and labels[key] in values
        else:  # notin
            ok = labels.get(key) not in values
        if not ok:
            return False
    return True


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _running(obj: Mapping[str, Any]) -> bool:
    return (obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed", "Unknown")


class FakeFeed:
    """The reflectors of one configuration's plugin."""

    def __init__(self, cluster: FakeCluster, options: Any, controller: Any) -> None:
        self.cluster = cluster
        self.feeds = watch.feeds(options, controller)
        self.started = self.stopped = False

    def wants(self, feed: watch.Feed, obj: Mapping[str, Any]) -> bool:
        if not matches(feed.label_selector, _labels(obj)):
            return False
        return feed.field_selector is None or _running(obj)

    def start(self) -> None:
        self.started = True
        self.cluster.feeds.append(self)
        if self.cluster.synced:
            for feed in self.feeds:
                self.sync(feed)

    def sync(self, feed: watch.Feed) -> None:
        items = [copy.deepcopy(obj) for obj in self.cluster.objects.get(feed.path, ())
                 if self.wants(feed, obj)]
        feed.store.replace(items, str(self.cluster.version))

    def stop(self) -> None:
        self.stopped = True
        self.cluster.feeds.remove(self)


class FakeCluster:
    """API objects by path; ``connect`` is the plugin's ``watch.connect``."""

    def __init__(self, objects: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
                 synced: bool = True) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {
            path: [dict(obj) for obj in items] for path, items in (objects or {}).items()}
        #: whether a started feed lists at once (False: the API is not answering yet)
        self.synced = synced
        self.version = 1
        self.feeds: list[FakeFeed] = []
        #: the options of each connect, to check what a configuration asked for
        self.connected: list[Any] = []

    def connect(self, reactor: Any, options: Any, controller: Any) -> FakeFeed:
        self.connected.append(options)
        return FakeFeed(self, options, controller)

    def sync(self) -> None:
        """The API answers now: every started feed lists."""
        self.synced = True
        for fake in self.feeds:
            for feed in fake.feeds:
                fake.sync(feed)

    def event(self, path: str, event_type: str, obj: Mapping[str, Any]) -> None:
        """An ADDED, MODIFIED or DELETED object at ``path``, seen by every feed of it."""
        self.version += 1
        items = self.objects.setdefault(path, [])
        name = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
        items[:] = [o for o in items
                    if (o["metadata"].get("namespace"), o["metadata"]["name"]) != name]
        if event_type != "DELETED":
            items.append(dict(obj))
        for fake in self.feeds:
            for feed in fake.feeds:
                if feed.path == path and fake.wants(feed, obj):
                    feed.store.apply(event_type, copy.deepcopy(obj))


# -- building API objects -----------------------------------------------------------------

def meta(name: str, namespace: str | None = None, version: str = "1",
         **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "resourceVersion": version, **extra}
    if namespace is not None:
        found["namespace"] = namespace
    return found


def service(name: str, namespace: str, cluster_ips: list[str] | None = None,
            ports: list[tuple[str, str, int]] = (), type: str = "ClusterIP",
            external_name: str = "", external_ips: list[str] = (),
            ingress: list[dict[str, str]] = (), **metadata: Any) -> dict[str, Any]:
    """A Service; ``ports`` as (name, protocol, port)."""
    spec: dict[str, Any] = {"type": type}
    if cluster_ips is not None:
        spec["clusterIP"] = cluster_ips[0]
        spec["clusterIPs"] = list(cluster_ips)
    if ports:
        spec["ports"] = [{"name": n, "protocol": p, "port": port} for n, p, port in ports]
    if external_name:
        spec["externalName"] = external_name
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    return {"metadata": meta(name, namespace, **metadata), "spec": spec,
            "status": {"loadBalancer": {"ingress": list(ingress)} if ingress else {}}}


def endpoint(*addresses: str, hostname: str | None = None, ready: bool | None = True,
             pod: str | None = None, zone: str | None = None,
             node: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"addresses": list(addresses)}
    if ready is not None:
        found["conditions"] = {"ready": ready}
    if hostname is not None:
        found["hostname"] = hostname
    if pod is not None:
        found["targetRef"] = {"kind": "Pod", "name": pod, "namespace": "x"}
    if zone is not None:
        found["zone"] = zone
    if node is not None:
        found["nodeName"] = node
    return found


def endpoint_slice(name: str, namespace: str, service_name: str | None,
                   endpoints: list[dict[str, Any]] = (),
                   ports: list[tuple[str, str, int]] | None = None,
                   labels: Mapping[str, str] | None = None,
                   annotations: Mapping[str, str] | None = None,
                   version: str = "1") -> dict[str, Any]:
    """An EndpointSlice of ``service_name`` (None: of no Service); ``ports`` as (name,
    protocol, port)."""
    found_labels = dict(labels or {})
    if service_name is not None:
        found_labels["kubernetes.io/service-name"] = service_name
    extra: dict[str, Any] = {"labels": found_labels}
    if annotations:
        extra["annotations"] = dict(annotations)
    obj: dict[str, Any] = {"metadata": meta(name, namespace, version, **extra),
                           "addressType": "IPv4", "endpoints": list(endpoints)}
    if ports is not None:
        obj["ports"] = [{"name": n, "protocol": p, "port": port} for n, p, port in ports]
    return obj


def multicluster_slice(name: str, namespace: str, service_name: str, cluster: str,
                       endpoints: list[dict[str, Any]] = (),
                       ports: list[tuple[str, str, int]] | None = None) -> dict[str, Any]:
    """An EndpointSlice of an MCS-API service, from ``cluster``."""
    return endpoint_slice(name, namespace, None, endpoints, ports, labels={
        "multicluster.kubernetes.io/service-name": service_name,
        "multicluster.kubernetes.io/source-cluster": cluster})


def service_import(name: str, namespace: str, ips: list[str] = (),
                   ports: list[tuple[str, str, int]] = (),
                   type: str = "ClusterSetIP") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type, "ips": list(ips)}
    if ports:
        spec["ports"] = [{"name": n, "protocol": p, "port": port} for n, p, port in ports]
    return {"metadata": meta(name, namespace), "spec": spec}


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": meta(name, labels=dict(labels))}


def pod(name: str, namespace: str, ip: str, labels: Mapping[str, str] | None = None,
        phase: str = "Running", deleting: bool = False) -> dict[str, Any]:
    metadata = meta(name, namespace, labels=dict(labels or {}))
    if deleting:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": metadata, "status": {"podIP": ip, "phase": phase}}


HTTP = [("http", "TCP", 80)]


def coredns_cluster(multicluster: bool = False) -> dict[str, list[dict[str, Any]]]:
    """CoreDNS's ``APIConnServeTest`` (handler_test.go) as the API's objects; its
    multicluster EndpointSlices too when ``multicluster``."""
    found = {
        watch.SERVICES: [
            service("kubedns", "kube-system", ["10.0.0.10"], [("dns", "UDP", 53)]),
            service("svc1", "testns", ["10.0.0.1"], HTTP),
            service("svcempty", "testns", ["10.0.0.1"], HTTP),
            service("svc6", "testns", ["1234:abcd::1"], HTTP),
            service("hdls1", "testns", ["None"]),
            service("external", "testns", type="ExternalName",
                    external_name="ext.interwebs.test", ports=HTTP),
            service("external-to-service", "testns", type="ExternalName",
                    external_name="svc1.testns.svc.cluster.local.", ports=HTTP),
            service("hdlsprtls", "testns", ["None"]),
            service("svc1", "unexposedns", ["10.0.0.2"], HTTP),
            service("svc-dual-stack", "testns", ["10.0.0.3", "10::3"], HTTP),
        ],
        watch.ENDPOINT_SLICES: [
            endpoint_slice("kubedns", "kube-system", "kubedns", [endpoint("172.0.0.100")],
                           [("dns", "UDP", 53)]),
            endpoint_slice("svc1-slice1", "testns", "svc1",
                           [endpoint("172.0.0.1", hostname="ep1a")], HTTP),
            endpoint_slice("svcempty-slice1", "testns", "svcempty", [], HTTP),
            endpoint_slice("hdls1-slice1", "testns", "hdls1", [
                endpoint("172.0.0.2"), endpoint("172.0.0.3"),
                endpoint("172.0.0.4", hostname="dup-name"),
                endpoint("172.0.0.5", hostname="dup-name"),
                endpoint("5678:abcd::1"), endpoint("5678:abcd::2")], HTTP),
            endpoint_slice("hdlsprtls-slice1", "testns", "hdlsprtls", [endpoint("172.0.0.20")]),
        ],
        watch.NAMESPACES: [namespace(name) for name in (
            "testns", "kube-system", "unexposedns", "podns", "svcns", "ns")],
        watch.PODS: [pod("foo", "podns", "10.240.0.1",
                         {"app.kubernetes.io/name": "foo", "bar": "baz"})],
        watch.SERVICE_IMPORTS: [
            service_import("kubedns", "kube-system", ["10.0.0.10"], [("dns", "UDP", 53)]),
            service_import("svc1", "testns", ["10.0.0.1"], HTTP),
            service_import("svcempty", "testns", ["10.0.0.1"], HTTP),
            service_import("svc6", "testns", ["1234:abcd::1"], HTTP),
            service_import("hdls1", "testns", type="Headless"),
            service_import("hdlsprtls", "testns", type="Headless"),
            service_import("svc1", "unexposedns", ["10.0.0.2"], HTTP),
            service_import("svc-dual-stack", "testns", ["10.0.0.3", "10::3"], HTTP),
        ],
    }
    if multicluster:
        found[watch.ENDPOINT_SLICES] += [
            multicluster_slice("kubedns-mc", "kube-system", "kubedns", "cluster1",
                               [endpoint("172.0.0.100")], [("dns", "UDP", 53)]),
            multicluster_slice("svc1-mc", "testns", "svc1", "cluster1",
                               [endpoint("172.0.0.1", hostname="ep1a")], HTTP),
            multicluster_slice("svcempty-mc", "testns", "svcempty", "cluster1", [], HTTP),
            multicluster_slice("hdls1-mc", "testns", "hdls1", "cluster1", [
                endpoint("172.0.0.2"), endpoint("172.0.0.3"),
                endpoint("172.0.0.4", hostname="dup-name"),
                endpoint("172.0.0.5", hostname="dup-name"),
                endpoint("5678:abcd::1"), endpoint("5678:abcd::2")], HTTP),
            multicluster_slice("hdlsprtls-mc", "testns", "hdlsprtls", "cluster1",
                               [endpoint("172.0.0.20")]),
        ]
    return found


# -- running a plugin ---------------------------------------------------------------------

class Plugin:
    """A *kubernetes* plugin set up from a Corefile on a fake cluster, started."""

    def __init__(self, corefile: str, cluster: FakeCluster | None = None,
                 local_ips: list[str] = (), next_plugin: Any = None,
                 search: list[str] = ()) -> None:
        self.cluster = coredns_fake() if cluster is None else cluster
        self.next = next_plugin or NextPlugin()
        clock = task.Clock()
        clock.advance(SERIAL)
        self.configured = configure(
            lambda c: install(c, parse(c, search), self.cluster.connect), "kubernetes",
            corefile, reactor=clock, next_plugin=self.next)
        self.configured.startup()
        self.plugin: Kubernetes = self.configured.plugin("kubernetes")
        self.plugin.local_ips = list(local_ips)

    @property
    def clock(self) -> task.Clock:
        return self.configured.reactor

    def ask(self, name: str, rdtype: str | int = "A", proto: str = "tcp",
            **kwargs: Any) -> tuple[Any, Any]:
        """(rcode returned, the writer) for a query of ``name`` (over TCP unless ``proto``
        says otherwise: no size limit, as CoreDNS's test writer)."""
        request = make_request(name, rdtype, proto=proto, **kwargs)
        writer = CaptureWriter(request)
        return self.configured.chain.ServeDNS(request, writer), writer

    def reply(self, name: str, rdtype: str | int = "A", **kwargs: Any) -> dns.message.Message:
        """The reply to a query of ``name`` (answered without waiting)."""
        _, writer = self.ask(name, rdtype, **kwargs)
        return reply_of(writer)


def coredns_fake(multicluster: bool = False, **options: Any) -> FakeCluster:
    return FakeCluster(coredns_cluster(multicluster), **options)


def texts(section: Iterable[Any]) -> list[str]:
    """Every record of a section as a line of text, sorted (as CoreDNS's SortAndCheck)."""
    return sorted(line for rrset in section for line in rrset.to_text().splitlines())


def soa(zone: str = "cluster.local.", ttl: int = 5, minimum: int = 5,
        serial: int = SERIAL) -> str:
    return (f"{zone} {ttl} IN SOA ns.dns.{zone} hostmaster.{zone} {serial} 7200 1800 86400 "
            f"{minimum}")


def rdtype(name: str) -> int:
    return dns.rdatatype.from_text(name)
