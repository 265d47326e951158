"""Zone transfers of the cluster's zones (CoreDNS's xfr_test.go), and a real server on the
fake cluster: UDP, TCP and AXFR through the *transfer* plugin."""

from __future__ import annotations

import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.zone
from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.plugins.test_kubernetes_fake import Plugin, coredns_fake
from twisted_dns.pkg.backend import text
from twisted_dns.plugins.kubernetes.setup import install, parse
from twisted_dns.testing import start_server

COREFILE = (". {\n    kubernetes cluster.local clusterset.local {\n"
            "        namespaces testns kube-system\n        multicluster clusterset.local\n"
            "    }\n}\n")

#: xfr_test.go's expectedZone (the name server's address has TTL 0 in CoreDNS's transfer,
#: which its test, comparing with dns.IsDuplicate, does not look at)
EXPECTED = """\
{zone}. 5 IN SOA ns.dns.{zone}. hostmaster.{zone}. 3 7200 1800 86400 5
{zone}. 5 IN NS ns.dns.{zone}.
ns.dns.{zone}. 0 IN A 10.0.0.10
{external}hdls1.testns.svc.{zone}. 5 IN A 172.0.0.2
172-0-0-2.hdls1.testns.svc.{zone}. 5 IN A 172.0.0.2
_http._tcp.hdls1.testns.svc.{zone}. 5 IN SRV 0 16 80 172-0-0-2.hdls1.testns.svc.{zone}.
hdls1.testns.svc.{zone}. 5 IN A 172.0.0.3
172-0-0-3.hdls1.testns.svc.{zone}. 5 IN A 172.0.0.3
_http._tcp.hdls1.testns.svc.{zone}. 5 IN SRV 0 16 80 172-0-0-3.hdls1.testns.svc.{zone}.
hdls1.testns.svc.{zone}. 5 IN A 172.0.0.4
dup-name.hdls1.testns.svc.{zone}. 5 IN A 172.0.0.4
_http._tcp.hdls1.testns.svc.{zone}. 5 IN SRV 0 16 80 dup-name.hdls1.testns.svc.{zone}.
hdls1.testns.svc.{zone}. 5 IN A 172.0.0.5
dup-name.hdls1.testns.svc.{zone}. 5 IN A 172.0.0.5
_http._tcp.hdls1.testns.svc.{zone}. 5 IN SRV 0 16 80 dup-name.hdls1.testns.svc.{zone}.
hdls1.testns.svc.{zone}. 5 IN AAAA 5678:abcd::1
5678-abcd--1.hdls1.testns.svc.{zone}. 5 IN AAAA 5678:abcd::1
_http._tcp.hdls1.testns.svc.{zone}. 5 IN SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.{zone}.
hdls1.testns.svc.{zone}. 5 IN AAAA 5678:abcd::2
5678-abcd--2.hdls1.testns.svc.{zone}. 5 IN AAAA 5678:abcd::2
_http._tcp.hdls1.testns.svc.{zone}. 5 IN SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.{zone}.
hdlsprtls.testns.svc.{zone}. 5 IN A 172.0.0.20
172-0-0-20.hdlsprtls.testns.svc.{zone}. 5 IN A 172.0.0.20
kubedns.kube-system.svc.{zone}. 5 IN A 10.0.0.10
kubedns.kube-system.svc.{zone}. 5 IN SRV 0 100 53 kubedns.kube-system.svc.{zone}.
_dns._udp.kubedns.kube-system.svc.{zone}. 5 IN SRV 0 100 53 kubedns.kube-system.svc.{zone}.
svc-dual-stack.testns.svc.{zone}. 5 IN A 10.0.0.3
svc-dual-stack.testns.svc.{zone}. 5 IN AAAA 10::3
svc-dual-stack.testns.svc.{zone}. 5 IN SRV 0 100 80 svc-dual-stack.testns.svc.{zone}.
_http._tcp.svc-dual-stack.testns.svc.{zone}. 5 IN SRV 0 100 80 svc-dual-stack.testns.svc.{zone}.
svc1.testns.svc.{zone}. 5 IN A 10.0.0.1
svc1.testns.svc.{zone}. 5 IN SRV 0 100 80 svc1.testns.svc.{zone}.
_http._tcp.svc1.testns.svc.{zone}. 5 IN SRV 0 100 80 svc1.testns.svc.{zone}.
svc6.testns.svc.{zone}. 5 IN AAAA 1234:abcd::1
svc6.testns.svc.{zone}. 5 IN SRV 0 100 80 svc6.testns.svc.{zone}.
_http._tcp.svc6.testns.svc.{zone}. 5 IN SRV 0 100 80 svc6.testns.svc.{zone}.
svcempty.testns.svc.{zone}. 5 IN A 10.0.0.1
svcempty.testns.svc.{zone}. 5 IN SRV 0 100 80 svcempty.testns.svc.{zone}.
_http._tcp.svcempty.testns.svc.{zone}. 5 IN SRV 0 100 80 svcempty.testns.svc.{zone}.
{zone}. 5 IN SOA ns.dns.{zone}. hostmaster.{zone}. 3 7200 1800 86400 5
"""
EXTERNAL = """\
external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test.
external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.
"""


def plugin(local_ips=("10.0.0.10",)) -> Plugin:
    found = Plugin(COREFILE, coredns_fake(multicluster=True), local_ips=list(local_ips))
    found.plugin.controller._modified = [3, 3, 3]  # CoreDNS's test serial
    return found


class TransferTests(unittest.TestCase):
    def test_not_authoritative(self):
        self.assertRaises(KeyError, plugin().plugin.Transfer, "example.com.")

    def test_axfr(self):
        zone = plugin().plugin.Transfer("cluster.local.")
        self.assertEqual([text(r) for r in zone.records()],
                         EXPECTED.format(zone="cluster.local", external=EXTERNAL).splitlines())
        self.assertEqual((zone.serial, zone.soa.name.to_text()), (3, "cluster.local."))
        self.assertEqual(len(zone.axfr_records()), len(zone.records()))

    def test_multicluster_axfr(self):
        zone = plugin().plugin.Transfer("clusterset.local.")
        self.assertEqual([text(r) for r in zone.records()],
                         EXPECTED.format(zone="clusterset.local", external="").splitlines())

    def test_multiple_ns_addresses(self):
        """TestKubernetesAXFRMultipleNSAddrs: one NS, both addresses."""
        records = plugin(["10.0.0.10", "fd00::10"]).plugin.Transfer("cluster.local.").records()
        lines = [text(r) for r in records]
        self.assertEqual([line for line in lines if " IN NS " in line],
                         ["cluster.local. 5 IN NS ns.dns.cluster.local."])
        self.assertIn("ns.dns.cluster.local. 0 IN A 10.0.0.10", lines)
        self.assertIn("ns.dns.cluster.local. 0 IN AAAA fd00::10", lines)
        self.assertEqual((records[0].rdtype, records[-1].rdtype), (6, 6))

    def test_the_snapshot_is_what_was_there(self):
        found = plugin()
        zone = found.plugin.Transfer("cluster.local.")
        found.plugin.controller.services.replace([], "99")
        self.assertIn("svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1",
                      [text(r) for r in zone.records()])


CLUSTER = coredns_fake()


def fake_setup(c) -> None:
    """The plugin's setup, fed by this module's fake cluster (a real server's entry)."""
    install(c, parse(c, []), CLUSTER.connect)


class ServerTests(unittest.TestCase):
    CORE = (". {{\n    transfer {{\n        to *\n    }}\n    kubernetes cluster.local {{\n"
            "        namespaces testns kube-system\n    }}\n{extra}}}\n")

    @defer.inlineCallbacks
    def start(self, extra: str = ""):
        server = yield start_server(self.CORE.format(extra=extra),
                                    plugins={"kubernetes": fake_setup})
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_queries(self):
        server = yield self.start()
        for proto in ("udp", "tcp"):
            reply = yield server.query("svc1.testns.svc.cluster.local", "A", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"])
            reply = yield server.query("nope.testns.svc.cluster.local", "A", proto=proto)
            self.assertEqual(reply.rcode(), 3)
            self.assertEqual(reply.authority[0].to_text().split()[:4],
                             ["cluster.local.", "5", "IN", "SOA"])

    @defer.inlineCallbacks
    def test_axfr(self):
        server = yield self.start()

        def transfer():
            return dns.zone.from_xfr(dns.query.xfr(server.host, "cluster.local.",
                                                   port=server.port, timeout=5))
        zone = yield threads.deferToThread(transfer)
        node = zone.get_node("svc1.testns.svc")
        addresses = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.A)
        self.assertEqual([r.to_text() for r in addresses], ["10.0.0.1"])
        soa = zone.get_rdataset("@", dns.rdatatype.SOA)[0]
        self.assertEqual(soa.mname.derelativize(zone.origin).to_text(), "ns.dns.cluster.local.")
        self.assertIn(dns.rdatatype.CNAME,
                      [r.rdtype for r in zone.get_node("external.testns.svc").rdatasets])
