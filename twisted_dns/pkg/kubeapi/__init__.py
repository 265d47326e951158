"""A Kubernetes API client on Twisted, for the kubernetes plugin: where the API is
(:class:`ClusterConfig`) and requests to it (:class:`KubeClient`). No thread, no blocking
call; time from the reactor.

    config = ClusterConfig.from_kubeconfig(path, context)   # or in_cluster(), from_endpoint()
    client = KubeClient(reactor, config)
"""

from twisted_dns.pkg.kubeapi.client import APIError, KubeClient
from twisted_dns.pkg.kubeapi.config import ClusterConfig

__all__ = ["APIError", "ClusterConfig", "KubeClient"]
