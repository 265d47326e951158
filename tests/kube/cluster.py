"""The cluster the kubernetes tests serve, made through a real kube-apiserver.

In the spirit of CoreDNS's own cluster fixtures (coredns/ci ``dns-test.yaml``): three
namespaces, ClusterIP services with named and unnamed ports (TCP and UDP), a dual-stack one,
headless services with ready, not-ready and condition-less endpoints (IPv4 and IPv6, with and
without hostnames, one with a pod name over 63 characters), ExternalName services (to a name
and to an IP), a service without endpoints, a LoadBalancer with ingress and external IPs, and
pods with IPs. :func:`populate` creates it under namespace names with a given prefix, so tests
sharing one control plane do not see each other's objects. Addresses are private or
documentation ranges that only ever appear as DNS data.
"""

from __future__ import annotations

from typing import Any

from twisted_dns.testing.kube import APIClient

LONG_POD = "test-name-longer-than-63-characters-making-it-an-invalid-dns-label"


def ports(*specs: tuple[str | None, int, str]) -> list[dict[str, Any]]:
    return [{**({"name": name} if name else {}), "port": port, "protocol": protocol}
            for name, port, protocol in specs]


def endpoint(ip: str, ready: bool | None = True, hostname: str | None = None,
             pod: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """One endpoint; ``ready=None`` leaves the condition out (which counts as ready)."""
    found: dict[str, Any] = {"addresses": [ip]}
    if ready is not None:
        found["conditions"] = {"ready": ready}
    if hostname:
        found["hostname"] = hostname
    if pod:
        found["targetRef"] = {"kind": "Pod", "name": pod, "namespace": namespace}
    return found


def populate(api: APIClient, prefix: str = "test") -> dict[str, str]:
    """Create the cluster (blocking); returns the namespaces by role: ``{"1": "test-1", ...}``.

    ClusterIPs are derived from the prefix's position so two populations never collide: the
    caller passes a distinct ``prefix`` and :data:`BASES` gives each its 10.96.X.0/24.
    """
    base = BASES.setdefault(prefix, len(BASES) + 1)
    v4 = f"10.96.{base}."

    def v6(host: int) -> str:  # the IPv6 range is a /112: the last 16 bits
        return f"fd00:10:96::{base * 256 + host:x}"

    ns = {role: f"{prefix}-{role}" for role in ("1", "2", "3")}
    for name in ns.values():
        api.create_namespace(name)
    one, two, three = ns["1"], ns["2"], ns["3"]

    api.create_service(one, "svc-1-a", {"clusterIP": v4 + "100",
                                        "ports": ports(("http", 80, "TCP"), ("https", 443, "TCP"))})
    api.create_endpoint_slice(one, "svc-1-a-1", "svc-1-a", [endpoint("172.17.0.253")],
                              ports=ports(("http", 80, "TCP"), ("https", 443, "TCP")))
    api.create_service(one, "svc-1-b", {"clusterIP": v4 + "110",
                                        "ports": ports(("http", 80, "TCP"))})
    api.create_service(one, "svc-c", {"clusterIP": v4 + "115",
                                      "ports": ports(("c-port", 1234, "UDP"))})
    api.create_service(two, "svc-c", {"clusterIP": v4 + "120",
                                      "ports": ports(("c-port", 1234, "UDP"))})
    api.create_service(two, "svc-d", {"clusterIP": v4 + "121",
                                      "ports": ports(("c-port", 1234, "UDP"))})
    api.create_endpoint_slice(two, "svc-d-1", "svc-d", [endpoint("172.17.0.252")],
                              ports=ports(("c-port", 1234, "UDP")))
    api.create_service(two, "unnamed", {"clusterIP": v4 + "122",
                                        "ports": ports((None, 8080, "TCP"))})
    api.create_service(one, "dual", {"ipFamilyPolicy": "RequireDualStack",
                                     "ipFamilies": ["IPv4", "IPv6"],
                                     "clusterIP": v4 + "130", "clusterIPs": [v4 + "130", v6(130)],
                                     "ports": ports(("http", 80, "TCP"))})
    api.create_service(one, "svc-unready", {"clusterIP": "None",
                                            "ports": ports(("c-port", 1234, "UDP"))})
    api.create_endpoint_slice(one, "svc-unready-1", "svc-unready",
                              [endpoint("172.17.0.200", ready=False)],
                              ports=ports(("c-port", 1234, "UDP")))
    api.create_service(one, "headless-svc", {"clusterIP": "None",
                                             "ports": ports(("c-port", 1234, "UDP"))})
    api.create_endpoint_slice(one, "headless-svc-v4", "headless-svc",
                              [endpoint("172.17.0.255"), endpoint("172.17.0.254", ready=None),
                               endpoint("172.17.0.251", ready=False),
                               endpoint("172.17.0.250", hostname="named")],
                              ports=ports(("c-port", 1234, "UDP")))
    api.create_endpoint_slice(one, "headless-svc-v6", "headless-svc",
                              [endpoint("1234:abcd::1"), endpoint("1234:abcd::2")],
                              ports=ports(("c-port", 1234, "UDP")), address_type="IPv6")
    api.create_service(one, "ext-svc", {"type": "ExternalName", "externalName": "example.net",
                                        "ports": ports(("c-port", 1234, "UDP"))})
    api.create_service(two, "upriver", {"type": "ExternalName",
                                        "externalName": "up.river.local",
                                        "ports": ports(("c-port", 1234, "UDP"))})
    api.create_service(two, "ext-ip", {"type": "ExternalName", "externalName": "192.0.2.80"})
    api.create_service(one, "lb", {"type": "LoadBalancer", "clusterIP": v4 + "140",
                                   "externalIPs": ["192.0.2.90"],
                                   "ports": ports(("http", 80, "TCP"))})
    api.set_load_balancer_ingress(one, "lb", [{"ip": "192.0.2.91"}])
    api.create_service(three, "headless-1", {"clusterIP": "None",
                                             "ports": ports(("http", 80, "TCP"))})
    api.create_pod(three, "test-name", ips=["10.244.3.10"])
    api.create_endpoint_slice(three, "headless-1-1", "headless-1",
                              [endpoint("10.244.3.10", pod="test-name", namespace=three)],
                              ports=ports(("http", 80, "TCP")))
    api.create_service(three, "headless-2", {"clusterIP": "None",
                                             "ports": ports(("http", 80, "TCP"))})
    api.create_pod(three, LONG_POD, ips=["10.244.3.11"])
    api.create_endpoint_slice(three, "headless-2-1", "headless-2",
                              [endpoint("10.244.3.11", pod=LONG_POD, namespace=three)],
                              ports=ports(("http", 80, "TCP")))
    api.create_pod(one, "client", ips=["10.244.1.5"])
    return ns


#: prefix -> the third octet of its ClusterIPs
BASES: dict[str, int] = {}
