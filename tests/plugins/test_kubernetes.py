"""The *kubernetes* plugin's answers, through real Requests on CoreDNS's test cluster.

The cases are CoreDNS's (``plugin/kubernetes/handler_test.go``, ``kubernetes_apex_test.go``,
``handler_case_test.go``, ``handler_pod_*_test.go``, ``handler_ignore_emptyservice_test.go``,
``reverse_test.go``, ``zonal_test.go``), with their expected sections; records are compared
sorted, as CoreDNS's ``SortAndCheck`` does, TTLs and SOA serials included.
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from twisted.internet import defer
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from tests.plugins.test_kubernetes_fake import (
    HTTP,
    SERIAL,
    FakeCluster,
    Plugin,
    coredns_fake,
    endpoint,
    endpoint_slice,
    namespace,
    pod,
    service,
    soa,
    texts,
)
from twisted_dns.plugins.kubernetes import watch
from twisted_dns.testing import NextPlugin, reply_of

NOERROR, NXDOMAIN, SERVFAIL = 0, 3, 2
SOA = soa()
TESTNS = ". {\n    kubernetes cluster.local {\n        namespaces testns\n    }\n}\n"


def case(qname: str, qtype: str, rcode: int = NOERROR, answer: list[str] = (),
         ns: list[str] = (), extra: list[str] = ()) -> tuple:
    return qname, qtype, rcode, sorted(answer), sorted(ns), sorted(extra)


class Checks(unittest.TestCase):
    def check(self, plugin: Plugin, cases: list[tuple]) -> None:
        for qname, qtype, rcode, answer, ns, extra in cases:
            reply = plugin.reply(qname, qtype)
            self.assertEqual(
                (dns.rcode.to_text(reply.rcode()), texts(reply.answer), texts(reply.authority),
                 texts(reply.additional)),
                (dns.rcode.to_text(rcode), answer, ns, extra), f"{qname} {qtype}")
            self.assertTrue(reply.flags & dns.flags.AA, qname)


#: handler_test.go's commonDnsTestCases
COMMON = [
    case("svc1.testns.svc.cluster.local.", "A",
         answer=["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    case("svcempty.testns.svc.cluster.local.", "A",
         answer=["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    case("svc1.testns.svc.cluster.local.", "SRV",
         answer=["svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                 "svc1.testns.svc.cluster.local."],
         extra=["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    case("svcempty.testns.svc.cluster.local.", "SRV",
         answer=["svcempty.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                 "svcempty.testns.svc.cluster.local."],
         extra=["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    case("svc6.testns.svc.cluster.local.", "SRV",
         answer=["svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                 "svc6.testns.svc.cluster.local."],
         extra=["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"]),
    case("_http._tcp.svc1.testns.svc.cluster.local.", "SRV",
         answer=["_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                 "svc1.testns.svc.cluster.local."],
         extra=["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    case("_http._tcp.svcempty.testns.svc.cluster.local.", "SRV",
         answer=["_http._tcp.svcempty.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                 "svcempty.testns.svc.cluster.local."],
         extra=["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    case("hdls1.testns.svc.cluster.local.", "A", answer=[
        f"hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.{i}" for i in (2, 3, 4, 5)]),
    case("hdlsprtls.testns.svc.cluster.local.", "A",
         answer=["hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"]),
    case("svc1.testns.svc.cluster.local.", "AAAA", ns=[SOA]),
    case("svc0.testns.svc.cluster.local.", "AAAA", NXDOMAIN, ns=[SOA]),
    case("svc0.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
    case("svc0.svc-nons.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
    case("dns-version.cluster.local.", "TXT",
         answer=['dns-version.cluster.local. 28800 IN TXT "1.1.0"']),
    case("svc1.testns.svc.cluster.local.", "TXT", ns=[SOA]),
    case("svc0.svc-nons.svc.cluster.local.", "TXT", NXDOMAIN, ns=[SOA]),
    case("bogusendpoint.hdls1.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
    case("bogusendpoint.svc0.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
    case("svc6.testns.svc.cluster.local.", "AAAA",
         answer=["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"]),
    case("_http._tcp.svc6.testns.svc.cluster.local.", "SRV",
         answer=["_http._tcp.svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                 "svc6.testns.svc.cluster.local."],
         extra=["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"]),
    case("hdls1.testns.svc.cluster.local.", "AAAA", answer=[
        "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
        "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"]),
    case("svc.cluster.local.", "A", ns=[SOA]),
    case("pod.cluster.local.", "A", ns=[SOA]),
    case("testns.svc.cluster.local.", "A", ns=[SOA]),
    case("svc.cluster.local.", "NS", ns=[SOA]),
    case("testns.svc.cluster.local.", "NS", ns=[SOA]),
    case("foo.cluster.local.", "NS", NXDOMAIN, ns=[SOA]),
    case("foo.svc.cluster.local.", "NS", NXDOMAIN, ns=[SOA]),
    case("svc-dual-stack.testns.svc.cluster.local.", "A",
         answer=["svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3"]),
    case("svc-dual-stack.testns.svc.cluster.local.", "AAAA",
         answer=["svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"]),
    case("svc-dual-stack.testns.svc.cluster.local.", "SRV",
         answer=["svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 "
                 "svc-dual-stack.testns.svc.cluster.local."],
         extra=["svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3",
                "svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"]),
    case("svc1.testns.svc.cluster.local.", "SOA", ns=[SOA]),
    case("endpoint.external.testns.svc.cluster.local.", "CNAME", NXDOMAIN, ns=[SOA]),
    case("subdomain.subdomain.external.testns.svc.cluster.local.", "CNAME", NXDOMAIN,
         ns=[SOA]),
]

#: handler_test.go's dnsTestCases (but the one with an upstream, see UpstreamTests)
SINGLE_CLUSTER = [
    case("_http._tcp.hdls1.testns.svc.cluster.local.", "SRV", answer=[
        f"_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 {name}"
        ".hdls1.testns.svc.cluster.local."
        for name in ("172-0-0-2", "172-0-0-3", "5678-abcd--1", "5678-abcd--2", "dup-name")],
        extra=["172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
               "172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
               "5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
               "5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
               "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
               "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5"]),
    case("5678-abcd--2.hdls1.testns.svc.cluster.local", "AAAA",
         answer=["5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"]),
    case("5678-abcd--1.hdls1.testns.svc.cluster.local.", "AAAA",
         answer=["5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1"]),
    case("172-0-0-20.hdlsprtls.testns.svc.cluster.local.", "A",
         answer=["172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"]),
    case("172-0-0-2.hdls1.testns.svc.cluster.local.", "A",
         answer=["172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2"]),
    case("172-0-0-3.hdls1.testns.svc.cluster.local.", "A",
         answer=["172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3"]),
    case("dup-name.hdls1.testns.svc.cluster.local.", "A", answer=[
        "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
        "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5"]),
    case("external.testns.svc.cluster.local.", "CNAME",
         answer=["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."]),
    case("external-to-service.testns.svc.cluster.local", "A", answer=[
        "external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.",
        "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
    # an endpoint name of a ClusterIP service
    case("ep1a.svc1.testns.svc.cluster.local.", "A",
         answer=["ep1a.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.1"]),
]

#: handler_test.go's multiclusterDnsTestCases
MULTI_CLUSTER = [
    case("_http._tcp.hdls1.testns.svc.cluster.local.", "SRV", answer=[
        f"_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 {name}"
        ".cluster1.hdls1.testns.svc.cluster.local."
        for name in ("172-0-0-2", "172-0-0-3", "5678-abcd--1", "5678-abcd--2", "dup-name")],
        extra=["172-0-0-2.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
               "172-0-0-3.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
               "5678-abcd--1.cluster1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
               "5678-abcd--2.cluster1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
               "dup-name.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
               "dup-name.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5"]),
    case("5678-abcd--2.cluster1.hdls1.testns.svc.cluster.local", "AAAA", answer=[
        "5678-abcd--2.cluster1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"]),
    case("5678-abcd--1.cluster1.hdls1.testns.svc.cluster.local.", "AAAA", answer=[
        "5678-abcd--1.cluster1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1"]),
    case("172-0-0-20.cluster1.hdlsprtls.testns.svc.cluster.local.", "A", answer=[
        "172-0-0-20.cluster1.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"]),
    # an endpoint without its cluster does not exist
    case("5678-abcd--1.hdls1.testns.svc.cluster.local.", "AAAA", NXDOMAIN, ns=[SOA]),
    case("172-0-0-2.cluster1.hdls1.testns.svc.cluster.local.", "A", answer=[
        "172-0-0-2.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2"]),
    case("dup-name.cluster1.hdls1.testns.svc.cluster.local.", "A", answer=[
        "dup-name.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
        "dup-name.cluster1.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5"]),
]


class ServeTests(Checks):
    def test_services(self):
        self.check(Plugin(TESTNS), COMMON + SINGLE_CLUSTER)

    def test_multicluster(self):
        corefile = (". {\n    kubernetes cluster.local {\n        namespaces testns\n"
                    "        multicluster cluster.local\n    }\n}\n")
        plugin = Plugin(corefile, coredns_fake(multicluster=True))
        # CoreDNS's multicluster fixture has no ExternalName services: those cases are out.
        # A multicluster zone's serial moves only when a ServiceImport or one of its
        # EndpointSlices is updated (adds move the internal one), as CoreDNS's: 0 here.
        mc_soa = soa(serial=0)
        cases = [(q, t, r, a, [mc_soa if x == SOA else x for x in ns], e)
                 for q, t, r, a, ns, e in COMMON + MULTI_CLUSTER if "external" not in q]
        self.check(plugin, cases)

    def test_every_namespace_when_none_is_listed(self):
        """TestServeNamespaceDNS: only existing namespaces are exposed."""
        self.check(Plugin(". {\n    kubernetes cluster.local\n}\n"), [
            case("svc1.testns.svc.cluster.local.", "A",
                 answer=["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
            case("svc1.nsnoexist.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("svc1.unexposedns.svc.cluster.local.", "A",
                 answer=["svc1.unexposedns.svc.cluster.local. 5 IN A 10.0.0.2"])])

    def test_unlisted_namespace_is_nxdomain(self):
        self.check(Plugin(TESTNS), [
            case("svc1.unexposedns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("unexposedns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_apex(self):
        """kubernetes_apex_test.go, with the server's own address 127.0.0.1."""
        plugin = Plugin(". {\n    kubernetes cluster.local\n}\n", local_ips=["127.0.0.1"])
        self.check(plugin, [
            case("cluster.local.", "SOA", answer=[SOA]),
            case("cluster.local.", "HINFO", ns=[SOA]),
            case("cluster.local.", "NS", answer=["cluster.local. 5 IN NS ns.dns.cluster.local."],
                 extra=["ns.dns.cluster.local. 5 IN A 127.0.0.1"]),
            case("cluster.local.", "A", ns=[SOA]),
            case("cluster.local.", "AAAA", ns=[SOA]),
            case("cluster.local.", "SRV", ns=[SOA]),
            case("ns.dns.cluster.local.", "A",
                 answer=["ns.dns.cluster.local. 5 IN A 127.0.0.1"]),
            case("ns.dns.cluster.local.", "AAAA", ns=[SOA])])

    def test_case_is_kept(self):
        """handler_case_test.go (with ``ignore empty_service``)."""
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        ignore empty_service\n"
                        "    }\n}\n")
        self.check(plugin, [
            case("not-a-service.testns.svc.ClUsTeR.lOcAl.", "A", NXDOMAIN,
                 ns=["ClUsTeR.lOcAl. 5 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. "
                     f"{SERIAL} 7200 1800 86400 5"]),
            case("SvC1.TeStNs.SvC.cLuStEr.LoCaL.", "A",
                 answer=["SvC1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN A 10.0.0.1"]),
            case("_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.", "SRV",
                 answer=["_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 "
                         "svc1.testns.svc.cLuStEr.LoCaL."],
                 extra=["svc1.testns.svc.cLuStEr.LoCaL. 5 IN A 10.0.0.1"]),
            case("Cluster.local.", "SOA",
                 answer=["Cluster.local. 5 IN SOA ns.dns.Cluster.local. hostmaster.Cluster.local."
                         f" {SERIAL} 7200 1800 86400 5"])])

    def test_ignore_empty_service(self):
        """handler_ignore_emptyservice_test.go."""
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        ignore empty_service\n"
                        "    }\n}\n")
        self.check(plugin, [
            case("svcempty.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("external.testns.svc.cluster.local.", "CNAME",
                 answer=["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."]),
            case("hdls1.testns.svc.cluster.local.", "A", answer=[
                f"hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.{i}" for i in (2, 3, 4, 5)])])

    def test_names_outside_the_zones_go_on(self):
        plugin = Plugin(TESTNS)
        rcode, writer = plugin.ask("example.org.", "A")
        self.assertEqual((rcode, writer.sent), (0, []))
        self.assertEqual([r.qname for r in plugin.next.requests], ["example.org."])

    def test_zone_transfers_are_refused(self):
        """The *transfer* plugin, before this one, answers them."""
        for qtype in ("AXFR", "IXFR"):
            rcode, writer = Plugin(TESTNS).ask("cluster.local.", qtype)
            self.assertEqual((rcode, writer.sent), (5, []))

    def test_schema_extras(self):
        """Names too long, ``*``, other kinds and SOA below the apex, as CoreDNS 1.14."""
        self.check(Plugin(TESTNS), [
            case("a.b.c.svc1.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("svc1.testns.nothing.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("svc1.testns.svc.cluster.local.", "MX", ns=[SOA]),
            case("svc1.testns.svc.cluster.local.", "CNAME", ns=[SOA]),
            case("svc0.testns.svc.cluster.local.", "SOA", ns=[SOA]),
            # CoreDNS dropped wildcard queries (1.9): "*" and "any" are plain labels
            case("*.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("any.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("svc1.*.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            # a namespace is NODATA for A, but TXT asks for records and there are none
            case("testns.svc.cluster.local.", "TXT", NXDOMAIN, ns=[SOA]),
            case("_http._udp.svc1.testns.svc.cluster.local.", "SRV", NXDOMAIN, ns=[SOA]),
            case("_dns._udp.svc1.testns.svc.cluster.local.", "SRV", NXDOMAIN, ns=[SOA])])

    def test_srv_of_an_external_name_is_nodata(self):
        self.check(Plugin(TESTNS), [
            case("external.testns.svc.cluster.local.", "SRV", ns=[SOA])])

    def test_udp_reply_fits_the_client(self):
        plugin = Plugin(TESTNS)
        _, writer = plugin.ask("_http._tcp.hdls1.testns.svc.cluster.local.", "SRV", proto="udp")
        reply = reply_of(writer)
        self.assertLessEqual(len(writer.sent[0]), 512)
        # the answer whole, and every address: the owners point into the SRV targets, as
        # CoreDNS's do (cutting is tested in tests/pkg/test_backend.py)
        self.assertEqual(len(reply.answer[0]), 5)
        self.assertFalse(reply.flags & dns.flags.TC)
        self.assertEqual(len(texts(reply.additional)), 6)


class NotSyncedTests(Checks):
    def test_servfail_until_synced(self):
        cluster = coredns_fake(synced=False)
        plugin = Plugin(TESTNS, cluster)
        self.assertFalse(plugin.plugin.Ready())
        self.check(plugin, [
            case("svc0.testns.svc.cluster.local.", "A", SERVFAIL,
                 ns=[soa(serial=0)]),
            case("svc1.testns.svc.cluster.local.", "A", SERVFAIL, ns=[soa(serial=0)]),
            # what needs no cluster data is answered
            case("cluster.local.", "SOA", answer=[soa(serial=0)]),
            case("dns-version.cluster.local.", "TXT",
                 answer=['dns-version.cluster.local. 28800 IN TXT "1.1.0"'])])
        cluster.sync()
        self.assertTrue(plugin.plugin.Ready())
        self.check(plugin, [COMMON[0],
                            case("svc0.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_startup_timeout_is_logged(self):
        cluster = coredns_fake(synced=False)
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        startup_timeout 2s\n"
                        "    }\n}\n", cluster)
        logged: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        plugin.clock.advance(1.9)
        self.assertFalse([e for e in logged if "unsynced" in e.get("log_format", "")])
        plugin.clock.advance(0.2)
        self.assertEqual(len([e for e in logged if "unsynced" in e.get("log_format", "")]), 1)

    def test_no_log_when_synced_in_time(self):
        cluster = coredns_fake()
        plugin = Plugin(TESTNS, cluster)
        logged: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        plugin.clock.advance(10)
        self.assertFalse([e for e in logged if "unsynced" in e.get("log_format", "")])
        self.assertFalse(plugin.clock.getDelayedCalls())


class PodTests(Checks):
    def plugin(self, mode: str) -> Plugin:
        return Plugin(f". {{\n    kubernetes cluster.local {{\n        pods {mode}\n    }}\n}}\n")

    def test_disabled(self):
        self.check(self.plugin("disabled"), [
            case("10-240-0-1.podns.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("172-0-0-2.podns.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_insecure(self):
        self.check(self.plugin("insecure"), [
            case("10-240-0-1.podns.pod.cluster.local.", "A",
                 answer=["10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1"]),
            case("172-0-0-2.podns.pod.cluster.local.", "A",
                 answer=["172-0-0-2.podns.pod.cluster.local. 5 IN A 172.0.0.2"]),
            case("1234-abcd--1.podns.pod.cluster.local.", "AAAA",
                 answer=["1234-abcd--1.podns.pod.cluster.local. 5 IN AAAA 1234:abcd::1"]),
            case("blah.podns.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("blah.podns.pod.cluster.local.", "AAAA", NXDOMAIN, ns=[SOA]),
            case("blah.podns.pod.cluster.local.", "HINFO", NXDOMAIN, ns=[SOA]),
            case("blah.pod-nons.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("podns.pod.cluster.local.", "A", ns=[SOA])])

    def test_verified(self):
        self.check(self.plugin("verified"), [
            case("10-240-0-1.podns.pod.cluster.local.", "A",
                 answer=["10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1"]),
            case("podns.pod.cluster.local.", "A", ns=[SOA]),
            case("svcns.svc.cluster.local.", "A", ns=[SOA]),
            case("pod-nons.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("172-0-0-2.podns.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            # the pod's IP in another namespace
            case("10-240-0-1.testns.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_verified_follows_the_pods(self):
        plugin = self.plugin("verified")
        plugin.cluster.event(watch.PODS, "ADDED", pod("bar", "podns", "10.240.0.2"))
        self.check(plugin, [case("10-240-0-2.podns.pod.cluster.local.", "A", answer=[
            "10-240-0-2.podns.pod.cluster.local. 5 IN A 10.240.0.2"])])
        plugin.cluster.event(watch.PODS, "DELETED", pod("bar", "podns", "10.240.0.2"))
        self.check(plugin, [
            case("10-240-0-2.podns.pod.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_pods_are_watched_only_when_verified(self):
        cluster = coredns_fake()
        cluster.objects.pop(watch.PODS)
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        pods verified\n"
                        "    }\n}\n", cluster)
        self.assertTrue(plugin.plugin.Ready())  # an empty list is a list
        self.assertIn(watch.PODS, [f.path for f in cluster.feeds[0].feeds])
        other = Plugin(TESTNS)
        self.assertNotIn(watch.PODS, [f.path for f in other.cluster.feeds[0].feeds])


class ReverseTests(Checks):
    """reverse_test.go's cluster and cases."""

    COREFILE = (". {\n    kubernetes cluster.local 0.10.in-addr.arpa 168.192.in-addr.arpa "
                "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa "
                "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa\n}\n")

    def cluster(self) -> FakeCluster:
        return FakeCluster({
            watch.SERVICES: [service("svc1", "testns", ["192.168.1.100"], HTTP)],
            watch.ENDPOINT_SLICES: [
                endpoint_slice("svc1-slice1", "testns", "svc1", [
                    endpoint("10.0.0.100", hostname="ep1a"),
                    endpoint("10.0.0.99", hostname="double-ep")], HTTP),
                endpoint_slice("svc1-slice2", "testns", "svc1", [
                    endpoint("1234:abcd::1", hostname="ep1b"),
                    endpoint("fd00:77:30::a", hostname="ip6svc1ex"),
                    endpoint("fd00:77:30::2:9ba6", hostname="ip6svc1in")], HTTP),
                endpoint_slice("svc1-ccccc", "testns", "svc1",
                               [endpoint("10.0.0.100", hostname="ep1a")], HTTP),
                endpoint_slice("svc2-slice1", "testns", "svc2",
                               [endpoint("10.0.0.99", hostname="double-ep")], HTTP)],
            watch.NAMESPACES: [namespace("testns")]})

    def test_reverse(self):
        reverse10 = soa("0.10.in-addr.arpa.")
        self.check(Plugin(self.COREFILE, self.cluster()), [
            case("100.0.0.10.in-addr.arpa.", "PTR", answer=[
                "100.0.0.10.in-addr.arpa. 5 IN PTR ep1a.svc1.testns.svc.cluster.local."]),
            case("100.1.168.192.in-addr.arpa.", "PTR", answer=[
                "100.1.168.192.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local."]),
            case("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.",
                 "PTR", answer=[
                     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 "
                     "IN PTR ep1b.svc1.testns.svc.cluster.local."]),
            case("a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.",
                 "PTR", answer=[
                     "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa. 5 "
                     "IN PTR ip6svc1ex.svc1.testns.svc.cluster.local."]),
            case("6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.",
                 "PTR", answer=[
                     "6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa. 5 "
                     "IN PTR ip6svc1in.svc1.testns.svc.cluster.local."]),
            case("101.0.0.10.in-addr.arpa.", "PTR", NXDOMAIN, ns=[reverse10]),
            case("example.org.cluster.local.", "PTR", NXDOMAIN, ns=[SOA]),
            case("svc1.testns.svc.cluster.local.", "PTR", ns=[SOA]),
            case("svc1.testns.svc.0.10.in-addr.arpa.", "A", NXDOMAIN, ns=[reverse10]),
            case("100.0.0.10.cluster.local.", "PTR", NXDOMAIN, ns=[SOA]),
            case("99.0.0.10.in-addr.arpa.", "PTR", answer=[
                "99.0.0.10.in-addr.arpa. 5 IN PTR double-ep.svc1.testns.svc.cluster.local.",
                "99.0.0.10.in-addr.arpa. 5 IN PTR double-ep.svc2.testns.svc.cluster.local."])])

    def test_cidr_block_key_is_a_reverse_zone(self):
        """README: ``10.0.0.0/17 cluster.local { kubernetes }`` answers PTR for 10.0.0.0/17."""
        plugin = Plugin("10.0.0.0/17 cluster.local {\n    kubernetes\n}\n", self.cluster())
        self.check(plugin, [case("100.0.0.10.in-addr.arpa.", "PTR", answer=[
            "100.0.0.10.in-addr.arpa. 5 IN PTR ep1a.svc1.testns.svc.cluster.local."])])
        self.assertEqual(plugin.plugin.options.primary_zone, "cluster.local.")


class ZonalTests(Checks):
    """zonal_test.go."""

    def cluster(self) -> FakeCluster:
        return FakeCluster({
            watch.SERVICES: [service("hdls", "testns", ["None"]),
                             service("clstr", "testns", ["10.0.0.10"], HTTP)],
            watch.ENDPOINT_SLICES: [endpoint_slice("hdls-slice", "testns", "hdls", [
                endpoint("172.0.0.1", zone="us-west-2a"),
                endpoint("172.0.0.2", zone="us-west-2b"),
                endpoint("172.0.0.3", zone="US-West-2B")], HTTP)],
            watch.NAMESPACES: [namespace("testns")]})

    def test_zonal(self):
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        zonal\n    }\n}\n",
                        self.cluster())
        pin, prefer = "pin._zone.hdls.testns.svc.cluster.local.", \
            "prefer._zone.hdls.testns.svc.cluster.local."
        self.check(plugin, [
            case(f"us-west-2a.{pin}", "A", answer=[f"us-west-2a.{pin} 5 IN A 172.0.0.1"]),
            case(f"us-west-2b.{pin}", "A", answer=[f"us-west-2b.{pin} 5 IN A 172.0.0.2",
                                                   f"us-west-2b.{pin} 5 IN A 172.0.0.3"]),
            case(f"us-west-2c.{pin}", "A", ns=[SOA]),
            case(f"us-west-2a.{prefer}", "A", answer=[f"us-west-2a.{prefer} 5 IN A 172.0.0.1"]),
            case(f"us-west-2c.{prefer}", "A", answer=[
                f"us-west-2c.{prefer} 5 IN A 172.0.0.{i}" for i in (1, 2, 3)]),
            case("us-west-2a.pin._zone.ghost.testns.svc.cluster.local.", "A", NXDOMAIN,
                 ns=[SOA]),
            case("us-west-2a.florp._zone.hdls.testns.svc.cluster.local.", "A", NXDOMAIN,
                 ns=[SOA]),
            case("us-west-2a.pin._zone.clstr.testns.svc.cluster.local.", "A", NXDOMAIN,
                 ns=[SOA]),
            case(f"us-west-2c.{pin}", "TXT", ns=[SOA]),
            case(f"us-west-2c.{prefer}", "SRV", answer=[
                f"us-west-2c.{prefer} 5 IN SRV 0 33 80 172-0-0-{i}.hdls.testns.svc.cluster.local."
                for i in (1, 2, 3)], extra=[
                f"172-0-0-{i}.hdls.testns.svc.cluster.local. 5 IN A 172.0.0.{i}"
                for i in (1, 2, 3)]),
            case(f"us-west-2c.{prefer}", "TXT", ns=[SOA]),
            case(f"us-west-2b.{pin}", "SRV", answer=[
                f"us-west-2b.{pin} 5 IN SRV 0 50 80 172-0-0-{i}.hdls.testns.svc.cluster.local."
                for i in (2, 3)], extra=[
                f"172-0-0-{i}.hdls.testns.svc.cluster.local. 5 IN A 172.0.0.{i}"
                for i in (2, 3)])])

    def test_without_the_option(self):
        self.check(Plugin(". {\n    kubernetes cluster.local\n}\n", self.cluster()), [
            case("us-west-2a.pin._zone.hdls.testns.svc.cluster.local.", "A", NXDOMAIN,
                 ns=[SOA])])


class OptionTests(Checks):
    def test_ttl(self):
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        ttl 56\n    }\n}\n")
        self.check(plugin, [
            case("svc1.testns.svc.cluster.local.", "A",
                 answer=["svc1.testns.svc.cluster.local. 56 IN A 10.0.0.1"]),
            case("svc0.testns.svc.cluster.local.", "A", NXDOMAIN,
                 ns=[soa(ttl=56, minimum=56)])])
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        ttl 3600\n    }\n}\n")
        self.check(plugin, [case("svc0.testns.svc.cluster.local.", "A", NXDOMAIN,
                                 ns=[soa(ttl=300, minimum=3600)])])

    def test_fallthrough(self):
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        fallthrough\n    }\n}\n")
        rcode, writer = plugin.ask("svc0.testns.svc.cluster.local.", "A")
        self.assertEqual((rcode, writer.sent), (0, []))
        self.assertEqual(len(plugin.next.requests), 1)
        # NODATA does not fall through
        self.assertEqual(plugin.reply("svc1.testns.svc.cluster.local.", "AAAA").rcode(), 0)
        self.assertEqual(len(plugin.next.requests), 1)

    def test_fallthrough_zones(self):
        plugin = Plugin(". {\n    kubernetes cluster.local in-addr.arpa {\n"
                        "        fallthrough in-addr.arpa\n    }\n}\n")
        rcode, writer = plugin.ask("1.2.3.4.in-addr.arpa.", "PTR")
        self.assertEqual((rcode, writer.sent), (0, []))
        self.check(plugin, [case("svc0.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_noendpoints(self):
        """TestEndpointsDisabled: headless and endpoint names are NXDOMAIN."""
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        noendpoints\n"
                        "    }\n}\n")
        self.check(plugin, [
            case("hdls1.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("ep1a.svc1.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            COMMON[0]])
        self.assertNotIn(watch.ENDPOINT_SLICES, [f.path for f in plugin.cluster.feeds[0].feeds])

    def test_endpoint_pod_names(self):
        cluster = FakeCluster({
            watch.SERVICES: [service("hdls", "testns", ["None"], HTTP)],
            watch.ENDPOINT_SLICES: [endpoint_slice("hdls-x", "testns", "hdls", [
                endpoint("10.1.0.1", pod="web-0"), endpoint("10.1.0.2", hostname="named",
                                                            pod="web-1"),
                endpoint("10.1.0.3", pod="p" * 64), endpoint("fd00::1")], HTTP)],
            watch.NAMESPACES: [namespace("testns")]})
        srv = "_http._tcp.hdls.testns.svc.cluster.local."
        targets = ("web-0", "named", "10-1-0-3", "fd00--1")
        self.check(Plugin(". {\n    kubernetes cluster.local {\n        endpoint_pod_names\n"
                          "    }\n}\n", cluster), [
            case(srv, "SRV", answer=[f"{srv} 5 IN SRV 0 25 80 {t}.hdls.testns.svc.cluster.local."
                                     for t in targets],
                 extra=[f"{t}.hdls.testns.svc.cluster.local. 5 IN {'AAAA' if ':' in ip else 'A'}"
                        f" {ip}" for t, ip in zip(targets, ("10.1.0.1", "10.1.0.2", "10.1.0.3",
                                                            "fd00::1"), strict=True)]),
            case("web-0.hdls.testns.svc.cluster.local.", "A",
                 answer=["web-0.hdls.testns.svc.cluster.local. 5 IN A 10.1.0.1"])])
        self.check(Plugin(TESTNS, cluster), [
            case("web-0.hdls.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("10-1-0-1.hdls.testns.svc.cluster.local.", "A",
                 answer=["10-1-0-1.hdls.testns.svc.cluster.local. 5 IN A 10.1.0.1"])])

    def test_only_ready_endpoints(self):
        """Ready or unknown (nil) counts; not ready does not; none left is NXDOMAIN."""
        cluster = FakeCluster({
            watch.SERVICES: [service("hdls", "testns", ["None"], HTTP),
                             service("down", "testns", ["None"], HTTP)],
            watch.ENDPOINT_SLICES: [
                endpoint_slice("hdls-x", "testns", "hdls", [
                    endpoint("10.1.0.1"), endpoint("10.1.0.2", ready=None),
                    endpoint("10.1.0.3", ready=False)], HTTP),
                endpoint_slice("down-x", "testns", "down", [endpoint("10.1.0.4", ready=False)],
                               HTTP)],
            watch.NAMESPACES: [namespace("testns")]})
        self.check(Plugin(TESTNS, cluster), [
            case("hdls.testns.svc.cluster.local.", "A", answer=[
                "hdls.testns.svc.cluster.local. 5 IN A 10.1.0.1",
                "hdls.testns.svc.cluster.local. 5 IN A 10.1.0.2"]),
            case("10-1-0-3.hdls.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA]),
            case("down.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_labels_are_sent_to_the_api(self):
        cluster = coredns_fake()
        cluster.objects[watch.SERVICES].append(
            service("labelled", "testns", ["10.0.0.50"], HTTP, labels={"env": "prod"}))
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        labels env=prod\n"
                        "    }\n}\n", cluster)
        self.check(plugin, [
            case("labelled.testns.svc.cluster.local.", "A",
                 answer=["labelled.testns.svc.cluster.local. 5 IN A 10.0.0.50"]),
            case("svc1.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])

    def test_namespace_labels(self):
        cluster = coredns_fake()
        cluster.objects[watch.NAMESPACES] = [namespace("testns", team="a"),
                                             namespace("unexposedns", team="b")]
        plugin = Plugin(". {\n    kubernetes cluster.local {\n        namespace_labels team=a\n"
                        "    }\n}\n", cluster)
        self.check(plugin, [
            COMMON[0],
            case("svc1.unexposedns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])


class UpstreamTests(Checks):
    """ExternalName targets outside the zones, completed through the block's chain."""

    class Answers:
        """The rest of the chain: answers a few names (TC set when ``truncated``)."""

        def __init__(self, records: dict[tuple[str, str], list[str]],
                     truncated: bool = False) -> None:
            self.records = records
            self.truncated = truncated
            self.requests: list[Any] = []

        def Name(self) -> str:
            return "answers"

        def ServeDNS(self, request, writer):
            self.requests.append(request)
            reply = dns.message.make_response(request.message())
            qtype = dns.rdatatype.to_text(request.qtype)
            reply.answer = [dns.rrset.from_text_list(request.qname, 5, "IN", qtype, rdatas)
                            for rdatas in [self.records.get((request.qname, qtype))] if rdatas]
            if self.truncated:
                reply.flags |= dns.flags.TC
            writer.write(reply)
            return 0

    def test_truncated_lookup(self):
        """handler_test.go's "CNAME External Truncated Lookup"."""
        upstream = self.Answers({("ext.interwebs.test.", "A"): ["1.2.3.4"]}, truncated=True)
        plugin = Plugin(TESTNS, next_plugin=upstream)
        reply = plugin.reply("external.testns.svc.cluster.local.", "A")
        self.assertEqual(texts(reply.answer), [
            "ext.interwebs.test. 5 IN A 1.2.3.4",
            "external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."])
        self.assertEqual(reply.answer[0].rdtype, dns.rdatatype.CNAME)  # the CNAME first
        self.assertTrue(reply.flags & dns.flags.TC)
        self.assertEqual([(r.qname, r.qtype) for r in upstream.requests],
                         [("ext.interwebs.test.", 1)])

    @defer.inlineCallbacks
    def test_lookup_is_asynchronous(self):
        """A chain that answers later: the plugin returns a Deferred, then writes."""
        answered: list[defer.Deferred] = []

        class Later(self.Answers):
            def ServeDNS(self, request, writer):
                d = defer.Deferred()
                d.addCallback(lambda _: super(Later, self).ServeDNS(request, writer))
                answered.append(d)
                return d

        plugin = Plugin(TESTNS, next_plugin=Later({("ext.interwebs.test.", "AAAA"): ["::1"]}))
        rcode, writer = plugin.ask("external.testns.svc.cluster.local.", "AAAA")
        self.assertIsInstance(rcode, defer.Deferred)
        self.assertEqual(writer.sent, [])
        answered[0].callback(None)
        self.assertEqual((yield rcode), 0)
        self.assertEqual(texts(reply_of(writer).answer), [
            "ext.interwebs.test. 5 IN AAAA ::1",
            "external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."])

    def test_nothing_found_leaves_the_cname_out(self):
        """The lookup wrote nothing: as CoreDNS, no CNAME either (NODATA)."""
        plugin = Plugin(TESTNS, next_plugin=NextPlugin(SERVFAIL))
        self.check(plugin, [case("external.testns.svc.cluster.local.", "A", ns=[SOA])])

    def test_a_lookup_does_not_look_up_again(self):
        """An ExternalName pointing at another cluster zone's ExternalName pointing back:
        one lookup, no loop."""
        cluster = FakeCluster({
            watch.SERVICES: [
                service("a", "testns", type="ExternalName",
                        external_name="b.testns.svc.clusterset.local"),
                service("b", "testns", type="ExternalName",
                        external_name="a.testns.svc.cluster.local")],
            watch.NAMESPACES: [namespace("testns")]})
        plugin = Plugin(". {\n    kubernetes cluster.local clusterset.local\n}\n", cluster)
        reply = plugin.reply("a.testns.svc.cluster.local.", "A")
        self.assertEqual(texts(reply.answer), [
            "a.testns.svc.cluster.local. 5 IN CNAME b.testns.svc.clusterset.local."])

    def test_target_as_an_address_is_no_cname(self):
        cluster = FakeCluster({
            watch.SERVICES: [service("ip", "testns", type="ExternalName",
                                     external_name="192.0.2.1")],
            watch.NAMESPACES: [namespace("testns")]})
        self.check(Plugin(TESTNS, cluster), [
            case("ip.testns.svc.cluster.local.", "CNAME", NXDOMAIN, ns=[SOA]),
            case("ip.testns.svc.cluster.local.", "A", NXDOMAIN, ns=[SOA])])


class ChangeTests(Checks):
    """Watch events change the answers and the serial (the clock's time of the change)."""

    def test_events(self):
        plugin = Plugin(TESTNS)
        plugin.clock.advance(100)
        plugin.cluster.event(watch.SERVICES, "ADDED",
                             service("new", "testns", ["10.0.0.99"], HTTP))
        self.check(plugin, [
            case("new.testns.svc.cluster.local.", "A",
                 answer=["new.testns.svc.cluster.local. 5 IN A 10.0.0.99"]),
            case("svc0.testns.svc.cluster.local.", "A", NXDOMAIN,
                 ns=[soa(serial=SERIAL + 100)])])
        plugin.clock.advance(100)
        plugin.cluster.event(watch.SERVICES, "MODIFIED",
                             service("new", "testns", ["10.0.0.99"], [("dns", "UDP", 53)],
                                     version="2"))
        self.check(plugin, [
            case("_dns._udp.new.testns.svc.cluster.local.", "SRV",
                 answer=["_dns._udp.new.testns.svc.cluster.local. 5 IN SRV 0 100 53 "
                         "new.testns.svc.cluster.local."],
                 extra=["new.testns.svc.cluster.local. 5 IN A 10.0.0.99"]),
            case("cluster.local.", "SOA", answer=[soa(serial=SERIAL + 200)])])
        plugin.cluster.event(watch.SERVICES, "DELETED", service("new", "testns"))
        self.check(plugin, [case("new.testns.svc.cluster.local.", "A", NXDOMAIN,
                                 ns=[soa(serial=SERIAL + 200)])])

    def test_endpoints_follow(self):
        plugin = Plugin(TESTNS)
        plugin.cluster.event(watch.ENDPOINT_SLICES, "MODIFIED", endpoint_slice(
            "hdls1-slice1", "testns", "hdls1", [endpoint("172.0.0.9")], HTTP, version="2"))
        plugin.cluster.event(watch.ENDPOINT_SLICES, "ADDED", endpoint_slice(
            "hdls1-slice2", "testns", "hdls1", [endpoint("172.0.0.8")], HTTP))
        self.check(plugin, [case("hdls1.testns.svc.cluster.local.", "A", answer=[
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.8",
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.9"])])
