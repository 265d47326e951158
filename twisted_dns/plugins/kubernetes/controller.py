"""What the plugin knows of the cluster: one store per kind, and the indexes queries read
(CoreDNS's ``dnsController``, ``controller.go``).

Each store is a sink for the API client's reflector of its kind: ``replace(items, version)``
after every (re)list, ``apply(event_type, obj)`` for each ADDED, MODIFIED or DELETED event,
with the API's JSON dicts. A store converts each object (:mod:`.objects`), keeps it by
``namespace/name`` and indexes it, so a query is a few dict reads: Services by
``name.namespace``, ClusterIP and external IP; EndpointSlices by their Service and by
address; Pods by IP; ServiceImports and multicluster EndpointSlices by ``name.namespace``.

Every change the DNS can see moves the time of the last modification (the SOA serial), as
CoreDNS decides it: any add or delete, an update only when it changes what is answered.
Each EndpointSlice change is also timed against its ``last-change-trigger-time``
annotation (``coredns_kubernetes_dns_programming_duration_seconds``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Generic, TypeVar

from twisted.logger import Logger

from twisted_dns.plugins.kubernetes import objects
from twisted_dns.plugins.kubernetes.metrics import ProgrammingLatency
from twisted_dns.plugins.kubernetes.objects import Endpoints, Pod, Service, ServiceImport

log = Logger(namespace="kubernetes")

O = TypeVar("O")  # noqa: E741 - an object of the store's kind
#: (old, new): old None for an add, new None for a delete
Change = Callable[[Any, Any], None]

#: the modification times: the internal zone, the external (k8s_external) one, multicluster
INTERNAL, EXTERNAL, MULTICLUSTER = 0, 1, 2
_EMPTY: Collection[Any] = ()


class Store(Generic[O]):
    """The objects of one kind by ``namespace/name``, indexed; a reflector's sink."""

    def __init__(self, kind: str, convert: Callable[[Mapping[str, Any]], O],
                 indexers: Mapping[str, Callable[[O], Iterable[str]]],
                 changed: Change, observe: Callable[[Mapping[str, Any]], None] | None = None
                 ) -> None:
        self.kind = kind
        self._convert = convert
        self._indexers = indexers
        self._changed = changed
        #: called with each object an event or a list brings (not the deletions a relist
        #: implies), after the store took it
        self._observe = observe
        self._items: dict[str, O] = {}
        self._indexes: dict[str, dict[str, dict[str, O]]] = {name: {} for name in indexers}
        #: the first list is in
        self.synced = False
        self.resource_version = ""

    def values(self) -> Collection[O]:
        return self._items.values()

    def get(self, key: str) -> O | None:
        return self._items.get(key)

    def by(self, index: str, value: str) -> Collection[O]:
        """The objects ``index`` files under ``value`` (a view: read it, do not keep it)."""
        found = self._indexes[index].get(value)
        return found.values() if found is not None else _EMPTY

    # -- the sink -------------------------------------------------------------------------

    def replace(self, items: list[Mapping[str, Any]], resource_version: str) -> None:
        """The whole list, after a (re)list: what is gone is deleted."""
        keep = set()
        for obj in items:
            key = self._take(obj)
            if key is not None:
                keep.add(key)
        for key in [key for key in self._items if key not in keep]:
            self._delete(key)
        self.resource_version = resource_version
        self.synced = True

    def apply(self, event_type: str, obj: Mapping[str, Any]) -> None:
        """One watch event: ADDED, MODIFIED or DELETED (others are not the store's)."""
        if event_type in ("ADDED", "MODIFIED"):
            self._take(obj)
        elif event_type == "DELETED":
            self._delete(self._key(obj))
            if self._observe is not None:
                self._observe(obj)

    @staticmethod
    def _key(obj: Mapping[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        return objects.key(meta.get("namespace") or "", meta.get("name") or "")

    def _take(self, obj: Mapping[str, Any]) -> str | None:
        """Add or update ``obj``; its key, None when it cannot be read."""
        key = self._key(obj)
        try:
            new = self._convert(obj)
        except (TypeError, ValueError, AttributeError) as exc:
            log.warn("Ignoring {kind} {key}: {error}", kind=self.kind, key=key, error=exc)
            return None
        if getattr(new, "terminating", False):  # a pod going away: left as it was
            return key
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = new
        for name, values in self._indexer_values(new):
            index = self._indexes[name]
            for value in values:
                index.setdefault(value, {})[key] = new
        self._changed(old, new)
        if self._observe is not None:
            self._observe(obj)
        return key

    def _delete(self, key: str) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
            self._changed(old, None)

    def _indexer_values(self, obj: O) -> Iterable[tuple[str, Iterable[str]]]:
        return ((name, set(indexer(obj))) for name, indexer in self._indexers.items())

    def _unindex(self, key: str, obj: O) -> None:
        for name, values in self._indexer_values(obj):
            index = self._indexes[name]
            for value in values:
                filed = index.get(value)
                if filed is not None:
                    filed.pop(key, None)
                    if not filed:
                        del index[value]


def _addresses(ips: Iterable[str]) -> list[str]:
    """The values that are addresses ("None" and "" are not: no reverse name finds them)."""
    return [ip for ip in ips if ip and ip != objects.CLUSTER_IP_NONE]


class Controller:
    """The stores of one *kubernetes* plugin, what they index, and when they last changed.

    ``required`` are the kinds watched (Services and Namespaces always; EndpointSlices
    unless ``noendpoints``, Pods with ``pods verified``, the multicluster kinds with
    ``multicluster``): the controller has synced when each of them has had its first list.
    """

    def __init__(self, clock: Any, endpoints: bool = True, pods: bool = False,
                 multicluster: bool = False, zonal: bool = False,
                 latency: ProgrammingLatency | None = None) -> None:
        self.clock = clock
        self.latency = latency
        self._modified = [0, 0, 0]
        self.services: Store[Service] = Store(
            "Service", objects.to_service,
            {"index": lambda s: (s.index,), "ip": lambda s: _addresses(s.cluster_ips),
             "external": lambda s: s.external_ips},
            self._service_changed)
        self.endpoint_slices: Store[Endpoints] = Store(
            "EndpointSlice", lambda obj: objects.to_endpoints(obj, with_zones=zonal),
            {"index": lambda e: (e.index,), "ip": lambda e: e.ips},
            self._endpoints_changed(INTERNAL), self._observe_latency)
        self.namespaces: Store[objects.Namespace] = Store(
            "Namespace", objects.to_namespace, {}, lambda old, new: None)
        self.pods: Store[Pod] = Store(
            "Pod", objects.to_pod, {"ip": lambda p: (p.pod_ip,)}, self._pod_changed)
        self.service_imports: Store[ServiceImport] = Store(
            "ServiceImport", objects.to_service_import, {"index": lambda s: (s.index,)},
            self._import_changed)
        self.multicluster_endpoint_slices: Store[Endpoints] = Store(
            "EndpointSlice", lambda obj: objects.to_endpoints(obj, multicluster=True),
            {"index": lambda e: (e.index,)}, self._endpoints_changed(MULTICLUSTER),
            self._observe_latency)
        self.required: list[Store[Any]] = [self.services, self.namespaces]
        if endpoints:
            self.required.append(self.endpoint_slices)
        if pods:
            self.required.append(self.pods)
        if multicluster:
            self.required += [self.service_imports, self.multicluster_endpoint_slices]

    def has_synced(self) -> bool:
        return all(store.synced for store in self.required)

    def modified(self, mode: int = INTERNAL) -> int:
        """The time (Unix seconds) of the last change to what ``mode``'s zones answer."""
        return self._modified[mode]

    # -- the queries (CoreDNS's SvcIndex, EpIndexReverse, ...) -----------------------------

    def svc_index(self, idx: str) -> Collection[Service]:
        return self.services.by("index", idx)

    def svc_index_reverse(self, ip: str) -> Collection[Service]:
        return self.services.by("ip", ip)

    def svc_ext_index_reverse(self, ip: str) -> Collection[Service]:
        return self.services.by("external", ip)

    def ep_index(self, idx: str) -> Collection[Endpoints]:
        return self.endpoint_slices.by("index", idx)

    def ep_index_reverse(self, ip: str) -> Collection[Endpoints]:
        return self.endpoint_slices.by("ip", ip)

    def pod_index(self, ip: str) -> Collection[Pod]:
        return self.pods.by("ip", ip)

    def svc_import_index(self, idx: str) -> Collection[ServiceImport]:
        return self.service_imports.by("index", idx)

    def mc_ep_index(self, idx: str) -> Collection[Endpoints]:
        return self.multicluster_endpoint_slices.by("index", idx)

    def namespace(self, name: str) -> objects.Namespace | None:
        return self.namespaces.get(name)

    # -- what changes the serial ----------------------------------------------------------

    def _touch(self, mode: int) -> None:
        self._modified[mode] = int(self.clock.seconds())

    def _service_changed(self, old: Service | None, new: Service | None) -> None:
        if old is None or new is None:
            self._touch(INTERNAL)
            return
        if old.version == new.version:
            return
        internal, external = service_modified(old, new)
        if internal:
            self._touch(INTERNAL)
        if external:
            self._touch(EXTERNAL)

    def _pod_changed(self, old: Pod | None, new: Pod | None) -> None:
        if old is None or new is None or (old.version != new.version
                                          and old.pod_ip != new.pod_ip):
            self._touch(INTERNAL)

    def _import_changed(self, old: ServiceImport | None, new: ServiceImport | None) -> None:
        if old is None or new is None:
            self._touch(INTERNAL)
        elif old.version != new.version and (old.type, old.ports) != (new.type, new.ports):
            self._touch(MULTICLUSTER)

    def _endpoints_changed(self, mode: int) -> Change:
        """The handler for EndpointSlices whose updates move ``mode``'s time (adds and
        deletes always move the internal one, as CoreDNS's ``Add``/``Delete``)."""
        def changed(old: Endpoints | None, new: Endpoints | None) -> None:
            if old is None or new is None:
                self._touch(INTERNAL)
            elif old.version != new.version and not endpoints_equivalent(old, new):
                self._touch(mode)
        return changed

    def _observe_latency(self, obj: Mapping[str, Any]) -> None:
        if self.latency is not None:
            meta = obj.get("metadata") or {}
            name = objects.labels(obj).get(objects.SERVICE_NAME_LABEL, "")
            self.latency.observe(obj, self.svc_index(objects.index(
                name, meta.get("namespace") or "")), self.clock.seconds())


def service_modified(old: Service, new: Service) -> tuple[bool, bool]:
    """Whether an update changes the internal records, and the external ones
    (``serviceModified``): external IPs change the external zone, the external name the
    internal one, ports both."""
    external = old.external_ips != new.external_ips
    internal = old.external_name != new.external_name
    if internal and external:
        return True, True
    if old.ports != new.ports:
        return True, True
    return internal, external


def endpoints_equivalent(a: Endpoints, b: Endpoints) -> bool:
    """Whether two versions of a slice answer the same (``endpointsEquivalent``): the same
    addresses and hostnames, ports and zones, in the same order (the cluster too, for
    multicluster ones)."""
    return (a.zones == b.zones and a.ports == b.ports and a.cluster_id == b.cluster_id
            and [(x.ip, x.hostname) for x in a.addresses]
            == [(x.ip, x.hostname) for x in b.addresses])
