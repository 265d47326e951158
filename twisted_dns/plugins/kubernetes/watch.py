"""The controller's stores fed by the Kubernetes API (``twisted_dns.pkg.kubeapi``).

:func:`connect` turns the directive's connection options into a ``ClusterConfig``
(``kubeconfig``, else ``endpoint`` with ``tls``: read at setup, so a bad file is an error at
the directive's line) and a :class:`Watch`: at start one ``KubeClient`` (rate-limited as
``apiserver_qps``/``burst``/``max_inflight`` say) and one ``Reflector`` per kind the
controller needs, each listing and watching into its store. Without either option the pod's
service account is read at start (a configuration that does not run in a cluster still loads,
and fails to start saying why, as CoreDNS does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_dns.errors import ConfigError
from twisted_dns.pkg.kubeapi import ClusterConfig, KubeClient, Reflector
from twisted_dns.plugins.kubernetes.kubernetes import PODS_VERIFIED
from twisted_dns.plugins.kubernetes.objects import MULTICLUSTER_SERVICE_LABEL
from twisted_dns.plugins.kubernetes.selector import canonical

if TYPE_CHECKING:
    from twisted_dns.plugins.kubernetes.controller import Controller, Store
    from twisted_dns.plugins.kubernetes.kubernetes import Options

log = Logger(namespace="kubernetes")
SERVICES = "/api/v1/services"
ENDPOINT_SLICES = "/apis/discovery.k8s.io/v1/endpointslices"
NAMESPACES = "/api/v1/namespaces"
PODS = "/api/v1/pods"
SERVICE_IMPORTS = "/apis/multicluster.x-k8s.io/v1alpha1/serviceimports"
#: the pods that can have an address: not finished
RUNNING_PODS = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"


@dataclass(frozen=True)
class Feed:
    """One list-and-watch: the API path, the store it fills, its selectors."""

    path: str
    store: Store[Any]
    label_selector: str | None = None
    field_selector: str | None = None


def feeds(options: Options, controller: Controller) -> list[Feed]:
    """What CoreDNS watches for these options (``newdnsController``): Services,
    EndpointSlices (unless ``noendpoints``) and Pods (``pods verified``, the running ones)
    under ``labels``; Namespaces under ``namespace_labels``; with ``multicluster``, the
    EndpointSlices of MCS-API services and the ServiceImports (under ``namespace_labels``,
    as CoreDNS)."""
    labels = options.labels or None
    namespace_labels = options.namespace_labels or None
    found = [Feed(SERVICES, controller.services, labels)]
    if options.endpoints:
        found.append(Feed(ENDPOINT_SLICES, controller.endpoint_slices, labels))
    found.append(Feed(NAMESPACES, controller.namespaces, namespace_labels))
    if options.pod_mode == PODS_VERIFIED:
        found.append(Feed(PODS, controller.pods, labels, RUNNING_PODS))
    if options.multicluster_zones:
        multicluster = canonical(f"{labels},{MULTICLUSTER_SERVICE_LABEL}" if labels
                                 else MULTICLUSTER_SERVICE_LABEL)
        found.append(Feed(ENDPOINT_SLICES, controller.multicluster_endpoint_slices,
                          multicluster))
        found.append(Feed(SERVICE_IMPORTS, controller.service_imports, namespace_labels))
    return found


def cluster_config(options: Options) -> ClusterConfig:
    """The ``ClusterConfig`` of the options, the in-cluster one when they name no cluster;
    ValueError with the reason when it cannot be made (a missing file, no service account
    outside a cluster, ...)."""
    if options.kubeconfig is not None:
        path, context = options.kubeconfig
        return ClusterConfig.from_kubeconfig(path, context)
    if options.endpoint:
        cert, key, ca = options.tls or (None, None, None)
        return ClusterConfig.from_endpoint(options.endpoint, cert=cert, key=key, ca=ca)
    return ClusterConfig.in_cluster()


class Watch:
    """The client and reflectors of one configuration's plugin, started and stopped with
    it."""

    def __init__(self, reactor: Any, config: Any, options: Options,
                 controller: Controller) -> None:
        self.reactor = reactor
        #: the ClusterConfig; None: the in-cluster one, made at start
        self.config = config
        self.options = options
        self.controller = controller
        self.client: Any = None
        self.reflectors: list[Any] = []

    def start(self) -> None:
        options = self.options
        if self.config is None:
            try:
                self.config = cluster_config(options)
            except ValueError as exc:
                raise ConfigError(str(exc), *options.origin) from None
        self.client = KubeClient(self.reactor, self.config, qps=options.api_qps or None,
                                 burst=options.api_burst or None,
                                 max_inflight=options.api_max_inflight or None)
        self.reflectors = [
            Reflector(self.client, self.reactor, feed.path, feed.store,
                      label_selector=feed.label_selector, field_selector=feed.field_selector)
            for feed in feeds(options, self.controller)]
        for reflector in self.reflectors:
            reflector.start()

    def stop(self) -> defer.Deferred:
        stopping = [defer.maybeDeferred(reflector.stop) for reflector in self.reflectors]
        self.reflectors = []
        client, self.client = self.client, None

        def close(result: Any) -> None:
            if isinstance(result, Failure):
                log.failure("stopping the Kubernetes watches failed", result)
            if client is not None:
                client.close()

        return defer.gatherResults(stopping, consumeErrors=True).addBoth(close)


def connect(reactor: Any, options: Options, controller: Controller) -> Watch:
    """The Watch feeding ``controller`` (not started); ValueError when the cluster the
    options name cannot be reached with them."""
    named = options.kubeconfig is not None or bool(options.endpoint)
    return Watch(reactor, cluster_config(options) if named else None, options, controller)
