"""A Kubernetes API client on Twisted, for the kubernetes plugin: where the API is
(:class:`ClusterConfig`), requests to it (:class:`KubeClient`) and a list-then-watch copy of
one collection (:class:`Reflector`). No thread, no blocking call; time from the reactor.

    config = ClusterConfig.from_kubeconfig(path, context)   # or in_cluster(), from_endpoint()
    client = KubeClient(reactor, config)
    services = Reflector(client, reactor, "/api/v1/services", sink)
    services.start()
"""

from twisted_dns.pkg.kubeapi.client import APIError, KubeClient
from twisted_dns.pkg.kubeapi.config import ClusterConfig
from twisted_dns.pkg.kubeapi.reflector import Reflector

__all__ = ["APIError", "ClusterConfig", "KubeClient", "Reflector"]
