"""The *kubernetes* plugin: the Kubernetes DNS schema over the controller's indexes
(CoreDNS's ``kubernetes.go``, ``handler.go``, ``ns.go``, ``reverse.go``, ``autopath.go``,
``metadata.go``).

The plugin is a :class:`~twisted_dns.pkg.backend.ServiceBackend`: for a query it parses the
name (:mod:`.parse`), reads the controller's indexes for that one service, pod or address
(never a scan) and hands the :class:`~twisted_dns.pkg.backend.Service` values it finds to
:mod:`twisted_dns.pkg.backend`, which makes the records. ExternalName services are CNAMEs;
their targets outside the zones are looked up through the block's chain
(:mod:`twisted_dns.pkg.upstream`).

Answers are CoreDNS's, rcode for rcode: a name that does not exist is NXDOMAIN (SERVFAIL
while the controller has not synced yet, or passed on with ``fallthrough``); a name that
exists without the type asked, and the apex names (the zone, ``svc``, ``pod``, an exposed
namespace), are NODATA; both carry the zone's SOA, whose serial is the time of the last
change the DNS can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IMetadataProvider, IPlugin, IReadiness, ITransferSource
from twisted_dns.names import ZoneIndex, longest_match
from twisted_dns.pkg import backend
from twisted_dns.pkg.backend import (
    TYPE_CNAME,
    BackendError,
    BadName,
    Record,
    Service,
    State,
    Steps,
    address_record,
    ip_text,
    parse_ip,
    path,
    split_name,
)
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.pkg.durations import SECOND, Duration
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.pkg.upstream import Upstream, in_lookup
from twisted_dns.plugins.kubernetes import external, xfr
from twisted_dns.plugins.kubernetes.controller import INTERNAL, MULTICLUSTER, Controller
from twisted_dns.plugins.kubernetes.objects import (
    EXTERNAL_NAME,
    Address,
    Pod,
    endpoint_hostname,
    index,
)
from twisted_dns.plugins.kubernetes.parse import (
    POD,
    SVC,
    InvalidRequest,
    NamespaceNotExposed,
    NoItems,
    RecordRequest,
    address_from_reverse,
    is_reverse,
    match,
    match_port_protocol,
    parse_request,
    trim_zone,
)

NAME = "kubernetes"
log = Logger(namespace=NAME)

#: https://github.com/kubernetes/dns/blob/master/docs/specification.md
DNS_SCHEMA_VERSION = "1.1.0"
DEFAULT_TTL = 5
PODS_DISABLED, PODS_INSECURE, PODS_VERIFIED = "disabled", "insecure", "verified"
#: the apex's name server, ``ns.dns.ZONE``
DEFAULT_NS_NAME = "ns.dns."
#: the prefix of the keys the plugin gives its services (CoreDNS's fake ``c``)
KEY_PREFIX = "c"

_A, _NS, _CNAME, _SOA, _PTR, _MX, _TXT = 1, 2, 5, 6, 12, 15, 16
_AAAA, _SRV, _IXFR, _AXFR = 28, 33, 251, 252
#: returned by the answering steps when the query goes down the chain
_FALL = object()


@dataclass
class Options:
    """Everything the ``kubernetes`` directive sets (CoreDNS's ``Kubernetes`` fields)."""

    zones: list[str]
    #: the first zone that is not a reverse one: PTR answers are names in it
    primary_zone: str = ""
    namespaces: set[str] = field(default_factory=set)
    pod_mode: str = PODS_DISABLED
    endpoint_pod_names: bool = False
    fall: Fallthrough = field(default_factory=Fallthrough)
    ttl: int = DEFAULT_TTL
    endpoints: bool = True
    ignore_empty_service: bool = False
    zonal: bool = False
    multicluster_zones: list[str] = field(default_factory=list)
    #: label selectors in the API's canonical text ("" for none)
    labels: str = ""
    namespace_labels: str = ""
    #: how to reach the API: ``endpoint`` (the first one) with ``tls`` files (cert, key,
    #: CA), or ``kubeconfig`` (path, context); in-cluster when neither
    endpoint: str = ""
    tls: tuple[str, str, str] | None = None
    kubeconfig: tuple[str, str | None] | None = None
    api_qps: float = 0.0
    api_burst: int = 0
    api_max_inflight: int = 0
    startup_timeout: Duration = field(default_factory=lambda: Duration(5 * SECOND))
    #: the host's resolv.conf search list, for autopath
    search: list[str] = field(default_factory=list)
    #: (file, line) of the directive, for the errors found after parsing it
    origin: tuple[str, int] = ("Corefile", 0)


def is_default_ns(name: str, zone: str) -> bool:
    """``ns.dns.ZONE`` (compared as CoreDNS does: the name lower-case, the zone as asked)."""
    return name.startswith(DEFAULT_NS_NAME) and name.find(zone) == len(DEFAULT_NS_NAME)


@implementer(IPlugin, IReadiness, IMetadataProvider, ITransferSource)
class Kubernetes:
    """Serves ``options.zones`` from ``controller``; other names go to the next plugin."""

    def __init__(self, options: Options, controller: Controller, next_plugin: Any = None,
                 upstream: Upstream | None = None) -> None:
        self.options = options
        self.controller = controller
        self.next = next_plugin
        self.upstream = upstream or Upstream(None)
        self.zones = list(options.zones)
        self._zones = ZoneIndex(self.zones)
        self.ttl = options.ttl
        #: the addresses this server answers on (not loopback), set at startup: the name
        #: server's addresses when its own Service cannot be found
        self.local_ips: list[str] = []

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def Ready(self) -> bool:  # noqa: N802 - the IReadiness contract
        return self.controller.has_synced()

    # -- the ServiceBackend ---------------------------------------------------------------

    def services(self, state: State, exact: bool) -> list[Service]:
        qtype = state.qtype
        if qtype == _TXT:
            segs = split_name(trim_zone(state.name, state.zone) + ".")
            if segs == ["dns-version"]:
                return [Service(text=DNS_SCHEMA_VERSION, ttl=28800,
                                key=path(state.qname, KEY_PREFIX))]
            found = self.records(state, False)  # nothing there: NXDOMAIN
            if found:
                return []  # the name has other records: NODATA
            if self.options.zonal:
                # a zonal name that exists but is empty is NODATA for every type
                try:
                    r = parse_request(state.name, state.zone,
                                      self.is_multicluster_zone(state.zone), True)
                except InvalidRequest:
                    r = None
                if r is not None and r.zone:
                    return []
            raise NoItems()
        if qtype == _NS:  # only asked at the apex (see ServeDNS)
            return [Service(host=ip_text(record.rdata), key=path(record.name, KEY_PREFIX),
                            ttl=self.ttl) for record in self.ns_addrs(False, False, state.zone)]
        if is_default_ns(state.name, state.zone):
            want = _A if qtype == _A else _AAAA if qtype == _AAAA else None
            return [Service(host=ip_text(record.rdata), key=path(state.qname, KEY_PREFIX),
                            ttl=self.ttl) for record in self.ns_addrs(False, False, state.zone)
                    if record.rdtype == want]
        found = self.records(state, False)
        if qtype != _SRV:
            return found
        # no SRV for ExternalName services
        return [s for s in found if s.host_type()[0] != TYPE_CNAME]

    def records(self, state: State, exact: bool) -> list[Service]:
        multicluster = self.is_multicluster_zone(state.zone)
        r = parse_request(state.name, state.zone, multicluster, self.options.zonal)
        if not r.pod_or_svc:
            return []
        if is_reverse(state.name):
            raise NoItems()
        if not self.namespace_exposed(r.namespace):
            raise NamespaceNotExposed()
        if r.pod_or_svc == POD:
            return self.find_pods(r, state.zone)
        if multicluster:
            return self.find_multicluster_services(r, state.zone)
        return self.find_services(r, state.zone)

    def reverse(self, state: State, exact: bool) -> list[Service]:
        ip = address_from_reverse(state.name)
        if not ip:
            self.records(state, exact)  # NXDOMAIN or NODATA, as the name is
            return []
        found = self.service_record_for_ip(ip)
        if not found:
            raise NoItems()
        return found

    def is_name_error(self, error: BackendError) -> bool:
        return isinstance(error, NoItems)

    def serial(self, state: State) -> int:
        mode = MULTICLUSTER if self.is_multicluster_zone(state.zone) else INTERNAL
        return self.controller.modified(mode) & 0xFFFFFFFF

    def min_ttl(self, state: State) -> int:
        return self.ttl

    # -- finding ---------------------------------------------------------------------------

    def is_multicluster_zone(self, zone: str) -> bool:
        return longest_match(self.options.multicluster_zones, zone.lower()) is not None

    def namespace_exposed(self, namespace: str) -> bool:
        """Listed by ``namespaces`` (when given) and existing (as ``namespace_labels``
        filters the namespaces)."""
        namespaces = self.options.namespaces
        return ((not namespaces or namespace in namespaces)
                and self.controller.namespace(namespace) is not None)

    def hostname(self, address: Address) -> str:
        return endpoint_hostname(address, self.options.endpoint_pod_names)

    def find_pods(self, r: RecordRequest, zone: str) -> list[Service]:
        """``1-2-3-4.namespace.pod.ZONE``: any well-formed one (``pods insecure``), or one a
        pod of that namespace has (``pods verified``)."""
        mode = self.options.pod_mode
        if mode == PODS_DISABLED or not self.namespace_exposed(r.namespace):
            raise NoItems()
        name = r.service
        if not name:
            return []
        key = "/".join((path(zone, KEY_PREFIX), POD, r.namespace, name))
        if name.count("-") == 3 and "--" not in name:
            ip = name.replace("-", ".")
        else:
            ip = name.replace("-", ":")
        if mode == PODS_INSECURE:
            if parse_ip(ip) is None:
                raise NoItems()
            return [Service(host=ip, ttl=self.ttl, key=key)]
        found = [Service(host=ip, ttl=self.ttl, key=key) for pod in self.controller.pod_index(ip)
                 if pod.pod_ip == ip and match(r.namespace, pod.namespace)]
        if not found:
            raise NoItems()
        return found

    def find_services(self, r: RecordRequest, zone: str) -> list[Service]:
        """The services of ``r``: ClusterIPs per matching port, ready endpoints (headless,
        or an endpoint asked), or the ExternalName."""
        if not self.namespace_exposed(r.namespace):
            raise NoItems()
        if not r.service:
            return []  # a namespace: NODATA
        found = False
        idx = index(r.service, r.namespace)
        controller = self.controller
        zone_path = path(zone, KEY_PREFIX)
        services: list[Service] = []
        ttl = self.ttl
        for svc in controller.svc_index(idx):
            if not match(r.namespace, svc.namespace) or not match(r.service, svc.name):
                continue
            if (self.options.ignore_empty_service and svc.type != EXTERNAL_NAME
                    and not svc.headless
                    and not any(ep.addresses for ep in controller.ep_index(idx))):
                continue
            if r.zone and not svc.headless:
                continue  # zonal names are for headless services only
            base = "/".join((zone_path, SVC, svc.namespace, svc.name))
            if svc.type == EXTERNAL_NAME:
                if r.endpoint or r.port or r.protocol:
                    continue
                service = Service(host=svc.external_name, ttl=ttl, key=base)
                if service.host_type()[0] == TYPE_CNAME:
                    services.append(service)
                    found = True
                continue
            if svc.headless or r.endpoint:
                if r.zone:
                    found = True  # the name exists: no endpoint in that zone is NODATA
                slices = [ep for ep in controller.ep_index(idx) if ep.index == svc.index]
                added = self._endpoints(services, slices, r, r.zone, base)
                if not added and r.zone_prefer:
                    added = self._endpoints(services, slices, r, "", base)
                found = found or added > 0
                continue
            for port in svc.ports:
                if not match_port_protocol(r.port, port.name, r.protocol, port.protocol):
                    continue
                found = True
                services.extend(Service(host=ip, port=port.port, ttl=ttl, key=base)
                                for ip in svc.cluster_ips)
        if not found:
            raise NoItems()
        return services

    def _endpoints(self, services: list[Service], slices: Iterable[Any], r: RecordRequest,
                   topology_zone: str, base: str, cluster: bool = False) -> int:
        """Add the services of the endpoints ``r`` asks (in ``topology_zone`` when given; the
        endpoint's cluster in the key when ``cluster``); how many."""
        added = 0
        for ep in slices:
            zones = ep.zones or {}
            for address in ep.addresses:
                if topology_zone and zones.get(address.ip) != topology_zone:
                    continue
                hostname = self.hostname(address)
                if r.endpoint and not ((not cluster or match(r.cluster, ep.cluster_id))
                                       and match(r.endpoint, hostname)):
                    continue
                key = f"{base}/{ep.cluster_id}/{hostname}" if cluster else f"{base}/{hostname}"
                for port in ep.ports:
                    if match_port_protocol(r.port, port.name, r.protocol, port.protocol):
                        services.append(Service(host=address.ip, port=port.port, ttl=self.ttl,
                                                key=key))
                        added += 1
        return added

    def find_multicluster_services(self, r: RecordRequest, zone: str) -> list[Service]:
        """As :meth:`find_services`, from ServiceImports and their clusters' endpoints
        (``endpoint.cluster.service.namespace.svc``)."""
        if not self.namespace_exposed(r.namespace):
            raise NoItems()
        if not r.service:
            return []
        found = False
        idx = index(r.service, r.namespace)
        controller = self.controller
        zone_path = path(zone, KEY_PREFIX)
        services: list[Service] = []
        for svc in controller.svc_import_index(idx):
            if not match(r.namespace, svc.namespace) or not match(r.service, svc.name):
                continue
            if (self.options.ignore_empty_service and not svc.headless
                    and not any(ep.addresses for ep in controller.mc_ep_index(idx))):
                continue
            base = "/".join((zone_path, SVC, svc.namespace, svc.name))
            if svc.headless or r.endpoint:
                slices = [ep for ep in controller.mc_ep_index(idx) if ep.index == svc.index]
                found = self._endpoints(services, slices, r, "", base, cluster=True) > 0 \
                    or found
                continue
            for port in svc.ports:
                if not match_port_protocol(r.port, port.name, r.protocol, port.protocol):
                    continue
                found = True
                services.extend(Service(host=ip, port=port.port, ttl=self.ttl, key=base)
                                for ip in svc.cluster_ips)
        if not found:
            raise NoItems()
        return services

    def service_record_for_ip(self, ip: str) -> list[Service]:
        """The names of ``ip``: its Service's (a ClusterIP), else those of the endpoints
        having it, in the primary zone."""
        namespaces = self.options.namespaces
        primary = self.options.primary_zone
        for svc in self.controller.svc_index_reverse(ip):
            if namespaces and not self.namespace_exposed(svc.namespace):
                continue
            return [Service(host=f"{svc.name}.{svc.namespace}.{SVC}.{primary}", ttl=self.ttl)]
        found = []
        for ep in self.controller.ep_index_reverse(ip):
            if namespaces and not self.namespace_exposed(ep.namespace):
                continue
            found.extend(Service(host=f"{self.hostname(address)}.{ep.index}.{SVC}.{primary}",
                                 ttl=self.ttl) for address in ep.addresses if address.ip == ip)
        return found

    def ns_addrs(self, external_names: bool, headless: bool, zone: str) -> list[Record]:
        """The A/AAAA records of this DNS server's own Service (found by the endpoints having
        its addresses), or of ``ns.dns.ZONE`` with its addresses when there is none (TTL 0,
        as CoreDNS's). ``external_names``: the k8s_external names and external IPs
        (endpoints ``headless``)."""
        names: list[str] = []
        ips: list[str] = []
        found_endpoint = False
        for local in self.local_ips:
            for ep in self.controller.ep_index_reverse(local):
                found_endpoint = True
                for svc in self.controller.svc_index(ep.index):
                    if external_names:
                        name = f"{svc.name}.{svc.namespace}.{zone}"
                        by_endpoint, addresses = headless and svc.headless, svc.external_ips
                    else:
                        name = f"{svc.name}.{svc.namespace}.{SVC}.{zone}"
                        by_endpoint, addresses = svc.headless, svc.cluster_ips
                    if by_endpoint:  # the endpoint's own name and address
                        for address in ep.addresses:
                            names.append(f"{self.hostname(address)}.{name}")
                            ips.append(address.ip)
                    else:
                        names.extend(name for _ in addresses)
                        ips.extend(addresses)
        if not found_endpoint:
            names = [DEFAULT_NS_NAME + zone for _ in self.local_ips]
            ips = list(self.local_ips)
        records = []
        for name, ip in zip(names, ips, strict=True):
            packed = parse_ip(ip)
            if packed is not None:  # Go's nil IP: a record CoreDNS cannot write
                records.append(address_record(name, 0, packed))
        return records

    # -- answering -------------------------------------------------------------------------

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802 - the IPlugin contract
        zone = self._zones.longest(request.qname_lower)
        if zone is None:
            return next_or_failure(NAME, self.next, request, writer)
        qname = request.qname
        zone = qname[len(qname) - len(zone):]  # the zone in the query's case
        state = State(qname, request.qtype, zone, request, request.qname_lower)
        outcome = backend.run(self._answer(state, writer), self._lookup(request))
        if isinstance(outcome, defer.Deferred):
            return outcome.addCallback(
                lambda rcode: as_deferred(self._done(rcode, request, writer)))
        return self._done(outcome, request, writer)

    def _done(self, rcode: Any, request: Any, writer: Any) -> Any:
        if rcode is _FALL:
            return next_or_failure(NAME, self.next, request, writer)
        return rcode

    def _lookup(self, request: Any) -> Callable[[str, int], defer.Deferred]:
        """Upstream lookups for ``request`` (none for a query that is itself one)."""
        def lookup(name: str, qtype: int) -> defer.Deferred:
            if in_lookup(request) or not self.upstream.usable:
                return defer.succeed(None)
            return defer.ensureDeferred(self.upstream.lookup(request, name, qtype, 1))
        return lookup

    def _answer(self, state: State, writer: Any) -> Steps[Any]:
        """Write the answer to ``state``: its rcode, or _FALL to pass the query on."""
        zone, qtype = state.zone, state.qtype
        records: Sequence[Record] = ()
        extra: Sequence[Record] = ()
        truncated = False
        try:
            if qtype == _A:
                records, truncated = yield from backend.a(self, zone, state)
            elif qtype == _AAAA:
                records, truncated = yield from backend.aaaa(self, zone, state)
            elif qtype == _TXT:
                records, truncated = yield from backend.txt(self, zone, state)
            elif qtype == _CNAME:
                records = backend.cname(self, zone, state)
            elif qtype == _PTR:
                records = backend.ptr(self, zone, state)
            elif qtype == _MX:
                records, extra = yield from backend.mx(self, zone, state)
            elif qtype == _SRV:
                records, extra = yield from backend.srv(self, zone, state)
            elif qtype == _SOA:
                if state.qname == zone:
                    records = [backend.soa(self, zone, state)]
            elif qtype in (_AXFR, _IXFR):
                return wire.REFUSED  # the transfer plugin, before this one, answers them
            elif qtype == _NS and state.name == zone:
                records, extra = backend.ns(self, zone, state)
            else:
                # an A lookup tells NODATA from NXDOMAIN
                yield from backend.a(self, zone, state.question(state.qname, _A))
        except BackendError as error:
            if not self.is_name_error(error):
                log.error("plugin/kubernetes: {name}: {error}", name=state.qname, error=error)
                return wire.SERVFAIL
            if self.options.fall.through(state.name):
                return _FALL
            rcode = wire.NXDOMAIN if self.controller.has_synced() else wire.SERVFAIL
            writer.write(backend.error_reply(self, zone, rcode, state))
            return wire.NOERROR
        except BadName as error:
            log.warn("plugin/kubernetes: cannot answer {name}: {error}", name=state.qname,
                     error=error)
            return wire.SERVFAIL
        if not records:
            writer.write(backend.error_reply(self, zone, wire.NOERROR, state))
        else:
            writer.write(backend.reply(state.request, wire.NOERROR, records, additional=extra,
                                       tc=truncated))
        return wire.NOERROR

    # -- for other plugins ----------------------------------------------------------------

    def pod_with_ip(self, ip: str) -> Pod | None:
        """The pod having ``ip`` (``pods verified`` only), None when there is none."""
        if self.options.pod_mode != PODS_VERIFIED:
            return None
        return next(iter(self.controller.pod_index(ip)), None)

    def AutoPath(self, request: Any) -> list[str] | None:  # noqa: N802 - autopath's contract
        """The search path of the pod asking (autopath's ``@kubernetes``): its namespace's
        ``svc`` domain, ``svc``, the zone, the host's search list, then "" (the name as it
        is); None for a name outside the zones or a client that is no known pod."""
        zone = self._zones.longest(request.qname_lower)
        if zone is None:
            return None
        pod = self.pod_with_ip(request.client_host)
        if pod is None:
            return None
        if zone == ".":
            search = [f"{pod.namespace}.svc.", "svc.", "."]
        else:
            search = [f"{pod.namespace}.svc.{zone}", f"svc.{zone}", zone]
        return [*search, *self.options.search, ""]

    def Metadata(self, request: Any) -> None:  # noqa: N802 - IMetadataProvider
        """``kubernetes/client-namespace``, ``client-pod-name`` and ``client-label/KEY`` of
        the pod asking (``pods verified``); for names in the zones, the parts of the name
        (``kubernetes/service``, ``namespace``, ``kind``, ``endpoint``, ``port-name``,
        ``protocol``, ``cluster`` in multicluster zones, ``zone`` with ``zonal``) or
        ``kubernetes/parse-error``."""
        pod = self.pod_with_ip(request.client_host)
        if pod is not None:
            request.set_metadata("kubernetes/client-namespace", lambda: pod.namespace)
            request.set_metadata("kubernetes/client-pod-name", lambda: pod.name)
            for label, value in pod.labels.items():
                request.set_metadata(f"kubernetes/client-label/{label}",
                                     lambda value=value: value)
        zone = self._zones.longest(request.qname_lower)
        if zone is None:
            return
        multicluster = request.zone is not None and longest_match(
            self.options.multicluster_zones, request.zone) is not None
        try:
            r = parse_request(request.qname_lower, zone, multicluster, self.options.zonal)
        except InvalidRequest as error:
            reason = str(error)
            request.set_metadata("kubernetes/parse-error", lambda: reason)
            return
        labels = {"port-name": r.port, "protocol": r.protocol, "endpoint": r.endpoint}
        if multicluster:
            labels["cluster"] = r.cluster
        if self.options.zonal:
            labels["zone"] = r.zone
        labels.update(service=r.service, namespace=r.namespace, kind=r.pod_or_svc)
        for label, value in labels.items():
            request.set_metadata(f"kubernetes/{label}", lambda value=value: value)

    # the k8s_external plugin's (CoreDNS's Externaler), see external.py
    External = external.external
    ExternalAddress = external.external_address
    ExternalServices = external.external_services
    ExternalSerial = external.external_serial
    ExternalReverse = external.external_reverse

    # the transfer plugin's (ITransferSource), see xfr.py
    Transfer = xfr.transfer

    def OnZoneChange(self, callback: Any) -> None:  # noqa: N802 - ITransferSource
        """Nothing: as CoreDNS, the plugin sends no NOTIFY when the cluster changes."""
