"""The kubernetes plugin against CoreDNS's, both reading the same real kube-apiserver.

pydns and CoreDNS v1.14.7 serve the same Corefile (kubeadm's shape: cluster.local and the
reverse zones, ``pods verified``), their ``kubeconfig`` pointing at one control plane holding
:mod:`tests.kube.cluster`; every query of :func:`queries` goes to both and the replies are
compared field by field (tests/differential/harness.py).
"""

from __future__ import annotations

import ipaddress
import os

import dns.rcode
from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.differential.harness import (
    Known,
    Query,
    both_ways,
    exchange_udp,
    serve_both,
    summary,
)
from tests.kube.cluster import LONG_POD, populate
from twisted_dns.testing import eventually
from twisted_dns.testing.kube import ControlPlane, shared_control_plane

COREFILE = """. {{
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} twisted-dns
        pods {pods}
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    whoami
}}
"""


def _only_serials_differ(field: str, ours: list[str], theirs: list[str]) -> bool:
    """The same records but for the SOA serial (the fourth field after the type)."""
    def unserialed(texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            words = text.split()
            if words[3] == "SOA":
                del words[6]
            out.append(" ".join(words))
        return out
    return unserialed(ours) == unserialed(theirs)


KNOWN = [
    Known("The SOA serial of a kubernetes zone", ("answer", "authority"),
          when=_only_serials_differ, by_chance=True),
    # CoreDNS orders a headless service's endpoints as Go's maps do, at random: which of
    # them a truncated reply keeps differs from reply to reply
    Known("TC when only additional records are left out", ("additional",), by_chance=True,
          when=lambda field, ours, theirs: len(ours) == len(theirs)),
    Known("TC when only additional records are left out", ("flags",),
          when=lambda field, ours, theirs: "TC" not in ours.split() and
          sorted([*ours.split(), "TC"]) == sorted(theirs.split())),
]


def reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer + "."


def queries(ns: dict[str, str], cluster_ips: dict[str, list[str]]) -> list[Query]:
    """What a cluster's clients ask, and what they should not."""
    one, two, three = ns["1"], ns["2"], ns["3"]
    z = "cluster.local."
    asked: list[tuple[str, str]] = [
        (z, "SOA"), (z, "NS"), (z, "A"), (f"ns.dns.{z}", "A"), (f"dns-version.{z}", "TXT"),
        (f"svc.{z}", "A"), (f"pod.{z}", "A"), (f"{one}.svc.{z}", "A"), (f"nosuchns.svc.{z}", "A"),
        (f"svc-1-a.{one}.svc.{z}", "A"), (f"svc-1-a.{one}.svc.{z}", "AAAA"),
        (f"svc-1-a.{one}.svc.{z}", "SRV"), (f"svc-1-a.{one}.svc.{z}", "TXT"),
        (f"svc-1-a.{one}.svc.{z}", "ANY"), (f"SVC-1-A.{one.upper()}.SVC.Cluster.Local.", "A"),
        (f"_http._tcp.svc-1-a.{one}.svc.{z}", "SRV"), (f"_https._tcp.svc-1-a.{one}.svc.{z}", "A"),
        (f"_http._udp.svc-1-a.{one}.svc.{z}", "SRV"), (f"_nope._tcp.svc-1-a.{one}.svc.{z}", "SRV"),
        (f"*._tcp.svc-1-a.{one}.svc.{z}", "SRV"), (f"_http.*.svc-1-a.{one}.svc.{z}", "SRV"),
        (f"any.{one}.svc.{z}", "A"), (f"*.{one}.svc.{z}", "SRV"), (f"svc-c.*.svc.{z}", "A"),
        (f"svc-c.any.svc.{z}", "SRV"), (f"_c-port._udp.svc-c.{two}.svc.{z}", "SRV"),
        (f"svc-1-b.{one}.svc.{z}", "A"), (f"svc-d.{two}.svc.{z}", "A"),
        (f"unnamed.{two}.svc.{z}", "A"), (f"unnamed.{two}.svc.{z}", "SRV"),
        (f"dual.{one}.svc.{z}", "A"), (f"dual.{one}.svc.{z}", "AAAA"),
        (f"dual.{one}.svc.{z}", "SRV"),
        (f"headless-svc.{one}.svc.{z}", "A"), (f"headless-svc.{one}.svc.{z}", "AAAA"),
        (f"headless-svc.{one}.svc.{z}", "SRV"), (f"_c-port._udp.headless-svc.{one}.svc.{z}", "SRV"),
        (f"172-17-0-255.headless-svc.{one}.svc.{z}", "A"),
        (f"172-17-0-251.headless-svc.{one}.svc.{z}", "A"),
        (f"named.headless-svc.{one}.svc.{z}", "A"), (f"named.headless-svc.{one}.svc.{z}", "AAAA"),
        (f"1234-abcd--1.headless-svc.{one}.svc.{z}", "AAAA"),
        (f"nobody.headless-svc.{one}.svc.{z}", "A"),
        (f"svc-unready.{one}.svc.{z}", "A"), (f"svc-unready.{one}.svc.{z}", "SRV"),
        (f"ext-svc.{one}.svc.{z}", "A"), (f"ext-svc.{one}.svc.{z}", "CNAME"),
        (f"ext-svc.{one}.svc.{z}", "SRV"), (f"_c-port._udp.ext-svc.{one}.svc.{z}", "SRV"),
        (f"upriver.{two}.svc.{z}", "A"), (f"ext-ip.{two}.svc.{z}", "A"),
        (f"lb.{one}.svc.{z}", "A"), (f"headless-1.{three}.svc.{z}", "A"),
        (f"headless-1.{three}.svc.{z}", "SRV"), (f"headless-2.{three}.svc.{z}", "SRV"),
        (f"{LONG_POD[:20]}.headless-2.{three}.svc.{z}", "A"),
        (f"10-244-1-5.{one}.pod.{z}", "A"), (f"10-244-1-5.{two}.pod.{z}", "A"),
        (f"10-244-1-99.{one}.pod.{z}", "A"), (f"10-244-1-5.{one}.pod.{z}", "AAAA"),
        (f"1-2-3.{one}.pod.{z}", "A"), (f"fd00--5.{one}.pod.{z}", "AAAA"),
        (f"nosuch.{one}.svc.{z}", "A"), (f"a.b.c.d.svc-1-a.{one}.svc.{z}", "A"),
        (f"x.svc-1-a.{one}.svc.{z}", "A"), (f"svc-1-a.{one}.nope.{z}", "A"),
        ("www.example.org.", "A"),
    ]
    endpoint_ips = ["172.17.0.255", "172.17.0.250", "1234:abcd::1", "10.244.3.10"]
    others = ["10.96.250.250", "192.0.2.90"]  # nothing; an external IP (not in reverse)
    for ip in [*(ip for ips in cluster_ips.values() for ip in ips), *endpoint_ips, *others]:
        asked.append((reverse(ip), "PTR"))
    return both_ways([Query.make(name, rdtype) for name, rdtype in asked])


def cluster() -> tuple[ControlPlane, dict[str, str], dict[str, list[str]]]:
    """The shared control plane, populated once per process (blocking): the plane, the
    namespaces by role and the ClusterIPs of each service (by ``namespace/name``)."""
    global _CLUSTER
    if _CLUSTER is None:
        plane = shared_control_plane()
        api = plane.client()
        ns = populate(api, "diff")
        ips = {f"{name}/{s['metadata']['name']}": [ip for ip in s["spec"].get("clusterIPs", [])
                                                  if ip != "None"]
               for name in ns.values() for s in api.items("services", name)}
        _CLUSTER = plane, ns, ips
    return _CLUSTER


_CLUSTER: tuple[ControlPlane, dict[str, str], dict[str, list[str]]] | None = None


class KubernetesDifferentialTests(unittest.TestCase):
    timeout = 180

    @defer.inlineCallbacks
    def setUp(self):
        ControlPlane.require()
        self.plane, self.ns, self.cluster_ips = yield threads.deferToThread(cluster)
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.kubeconfig = self.plane.write_kubeconfig(os.path.join(directory, "kubeconfig"))

    @defer.inlineCallbacks
    def check(self, pods: str):
        pair = yield serve_both(self, COREFILE.format(kubeconfig=self.kubeconfig, pods=pods),
                                probe=(f"svc-1-a.{self.ns['1']}.svc.cluster.local", "A"))
        self.assertIsNotNone(pair.pydns, pair.failures)
        self.assertIsNotNone(pair.coredns, pair.failures)
        probe = Query.make(f"svc-1-a.{self.ns['1']}.svc.cluster.local", "A")

        def synced() -> bool:
            return all(summary(reply).get("rcode") == dns.rcode.to_text(dns.rcode.NOERROR)
                       for reply in exchange_udp(probe.wire, pair.ports))

        yield eventually(synced, 10, in_thread=True)
        report = yield pair.compare(queries(self.ns, self.cluster_ips), KNOWN)
        self.assertEqual(report, [], f"{len(report)} differences:\n" + "\n".join(report))

    def test_pods_verified(self):
        return self.check("verified")

    def test_pods_insecure(self):
        return self.check("insecure")

    def test_pods_disabled(self):
        return self.check("disabled")
