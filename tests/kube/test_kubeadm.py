"""kubeadm's default Corefile, unchanged but for its upstream, served by pydns and by CoreDNS
as they run in a cluster: in-cluster configuration (the service account's token and CA at
/var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT), a token that may
only list and watch, port 53. Each server runs as a process in a mount namespace of its own
(``unshare``), where a tmpfs on /run holds the service account's files, so the host's /run is
never touched. The two run one after the other (both want port 53) and their replies to the
same queries are compared.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.differential.harness import Query, both_ways, differences, exchange_tcp, exchange_udp
from tests.integration.twistd import http_status
from tests.kube.test_differential import KNOWN, cluster, reverse
from twisted_dns.testing import eventually
from twisted_dns.testing.kube import ControlPlane
from twisted_dns.testing.peers import CoreDNSServer, UnboundServer, require_program

#: kubeadm's (v1.37) CoreDNS ConfigMap, with ``forward . /etc/resolv.conf`` pointed at Unbound
KUBEADM_COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . {$UPSTREAM} {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""
SECRETS = "/run/secrets/kubernetes.io/serviceaccount"
PYDNS = os.path.join(os.path.dirname(sys.executable), "pydns")


def in_cluster(argv: list[str], secrets: str) -> list[str]:
    """``argv`` run as a pod would: in a private mount namespace whose /run is a fresh tmpfs
    holding the service account's files copied from ``secrets``."""
    script = (f"mount -t tmpfs tmpfs /run && mkdir -p {SECRETS} && "
              f"cp {shlex.quote(secrets)}/* {SECRETS}/ && exec {shlex.join(argv)}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


class KubeadmTests(unittest.TestCase):
    timeout = 240

    @defer.inlineCallbacks
    def setUp(self):
        ControlPlane.require()
        CoreDNSServer.require()
        require_program("unshare")
        if os.geteuid() != 0:
            raise unittest.SkipTest("mount namespaces need root")
        self.plane, self.ns, self.cluster_ips = yield threads.deferToThread(cluster)
        token = yield threads.deferToThread(self.plane.service_account_token,
                                            "kube-system", "coredns")
        self.directory = os.path.abspath(self.mktemp())
        self.secrets = os.path.join(self.directory, "serviceaccount")
        os.makedirs(self.secrets)
        for name, data in (("token", token.encode()), ("ca.crt", self.plane.ca_pem),
                           ("namespace", b"kube-system")):
            with open(os.path.join(self.secrets, name), "wb") as out:
                out.write(data)
        with open(os.path.join(self.directory, "Corefile"), "w", encoding="utf-8") as out:
            out.write(KUBEADM_COREFILE)
        self.upstream = UnboundServer(self.mktemp(), {"www.example.org.": "300 A 192.0.2.11"})
        self.addCleanup(self.upstream.stop)
        yield self.upstream.start()

    def environment(self) -> dict[str, str]:
        return {**os.environ, "KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": str(self.plane.port),
                "UPSTREAM": f"127.0.0.1:{self.upstream.port}", "GOMAXPROCS": "1"}

    @defer.inlineCallbacks
    def serve(self, argv: list[str], queries: list[Query]):
        """Run ``argv`` in cluster, wait until /ready says 200, ask ``queries``; the replies."""
        log = os.path.join(self.directory, os.path.basename(argv[0]) + ".log")
        with open(log, "wb") as out:
            process = subprocess.Popen(in_cluster(argv, self.secrets), stdout=out,
                                       stderr=subprocess.STDOUT, cwd=self.directory,
                                       env=self.environment())

        def output() -> str:
            with open(log, encoding="utf-8", errors="replace") as handle:
                return handle.read()

        def answering() -> bool:
            reply, = exchange_udp(queries[0].wire, (53,))
            return process.poll() is None and http_status(8181, "/ready") == 200 and \
                reply is not None

        try:
            yield eventually(answering, 60, in_thread=True, message=output)
            replies = []
            for query in queries:
                exchange = exchange_tcp if query.proto == "tcp" else exchange_udp
                reply, = yield threads.deferToThread(exchange, query.wire, (53,))
                replies.append(reply)
            self.assertEqual((yield threads.deferToThread(http_status, 8080)), 200)
            self.assertEqual((yield threads.deferToThread(http_status, 9153, "/metrics")), 200)
        finally:
            process.terminate()
            yield threads.deferToThread(process.wait, 30)
        return replies

    @defer.inlineCallbacks
    def test_kubeadm_corefile(self):
        one, two = self.ns["1"], self.ns["2"]
        svc_1_a = self.cluster_ips[f"{one}/svc-1-a"][0]
        names = [(f"svc-1-a.{one}.svc.cluster.local.", "A"),
                 (f"_http._tcp.svc-1-a.{one}.svc.cluster.local.", "SRV"),
                 (f"headless-svc.{one}.svc.cluster.local.", "A"),
                 (f"ext-svc.{one}.svc.cluster.local.", "A"),
                 (f"10-244-1-5.{one}.pod.cluster.local.", "A"),
                 (f"svc-c.{two}.svc.cluster.local.", "SRV"),
                 (f"nosuch.{two}.svc.cluster.local.", "A"),
                 ("cluster.local.", "SOA"), ("dns-version.cluster.local.", "TXT"),
                 (reverse(svc_1_a), "PTR"), ("99.99.99.10.in-addr.arpa.", "PTR"),
                 ("www.example.org.", "A"), ("nx.example.org.", "A")]
        queries = both_ways([Query.make(name, rdtype) for name, rdtype in names])
        ours = yield self.serve([PYDNS, "-conf", "Corefile"], queries)
        theirs = yield self.serve([CoreDNSServer.require(), "-conf", "Corefile"], queries)
        report = [line for query, mine, reference in zip(queries, ours, theirs, strict=True)
                  for line in differences(query, mine, reference, KNOWN)]
        self.assertEqual(report, [], "\n".join(report))
        self.assertTrue(all(reply is not None for reply in ours))
