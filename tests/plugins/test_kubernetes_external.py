"""What other plugins ask of *kubernetes*: k8s_external's External* (external_test.go,
ns_test.go), autopath's AutoPath (autopath_test.go), the metadata labels (metadata_test.go),
and the Services found for a name (kubernetes_test.go's TestServices)."""

from __future__ import annotations

from twisted.trial import unittest

from tests.plugins.test_kubernetes_fake import (
    HTTP,
    FakeCluster,
    Plugin,
    coredns_fake,
    endpoint,
    endpoint_slice,
    namespace,
    service,
    texts,
)
from twisted_dns.pkg.backend import State, text
from twisted_dns.plugins.kubernetes import ENDPOINT, PORT_PROTOCOL, Kubernetes, watch
from twisted_dns.plugins.kubernetes.parse import NoItems
from twisted_dns.testing import make_request

A, PTR, SRV, NS, CNAME, AAAA = 1, 12, 33, 2, 5, 28


def external_cluster() -> FakeCluster:
    """external_test.go's svcIndexExternal and epIndexExternal."""
    return FakeCluster({
        watch.SERVICES: [
            service("svc1", "testns", ["10.0.0.1"], HTTP, external_ips=["1.2.3.4"]),
            service("svc6", "testns", ["10.0.0.3"], HTTP, external_ips=["1:2::5"]),
            service("svc-headless", "testns", ["None"], HTTP),
            service("lb", "testns", ["10.0.0.4"], HTTP, ingress=[{"ip": "5.6.7.8"}])],
        watch.ENDPOINT_SLICES: [endpoint_slice("svc-headless-x", "testns", "svc-headless", [
            endpoint("1.2.3.4", hostname="endpoint-svc-0", pod="endpoint-svc-0"),
            endpoint("1.2.3.5", hostname="endpoint-svc-1", pod="endpoint-svc-1")], HTTP)],
        watch.NAMESPACES: [namespace("testns")]})


def state(name: str, qtype: int = A, zone: str = "example.org.") -> State:
    return State(name, qtype, zone, make_request(name, qtype))


class ExternalTests(unittest.TestCase):
    def setUp(self):
        self.k: Kubernetes = Plugin(". {\n    kubernetes cluster.local {\n"
                                    "        namespaces testns\n    }\n}\n",
                                    external_cluster()).plugin

    def external(self, name: str, qtype: int = A) -> tuple[list[tuple[str, str, int]], int]:
        services, rcode = self.k.External(state(name, qtype), True)
        return [(s.host, s.key, s.port) for s in services], rcode

    def test_external(self):
        """external_test.go's extCases."""
        self.assertEqual(self.external("svc1.testns.example.org."),
                         ([("1.2.3.4", "/c/org/example/testns/svc1", 80)], 0))
        self.assertEqual(self.external("svc6.testns.example.org."),
                         ([("1:2::5", "/c/org/example/testns/svc6", 80)], 0))
        self.assertEqual(self.external("_http._tcp.svc1.testns.example.org."),
                         ([("1.2.3.4", "/c/org/example/testns/svc1", 80)], 0))
        self.assertEqual(self.external("lb.testns.example.org."),
                         ([("5.6.7.8", "/c/org/example/testns/lb", 80)], 0))
        self.assertEqual(self.external("svc0.testns.example.org."), ([], 3))
        self.assertEqual(self.external("svc0.svc-nons.example.org."), ([], 3))
        self.assertEqual(self.external("svc-headless.testns.example.org."), ([
            ("1.2.3.4", "/c/org/example/testns/svc-headless/endpoint-svc-0", 80),
            ("1.2.3.5", "/c/org/example/testns/svc-headless/endpoint-svc-1", 80)], 0))
        self.assertEqual(self.external("endpoint-svc-0.svc-headless.testns.example.org."), ([
            ("1.2.3.4", "/c/org/example/testns/svc-headless/endpoint-svc-0", 80)], 0))
        self.assertEqual(self.external("endpoint-1.svc-nons.testns.example.org."), ([], 3))
        self.assertEqual(self.external("testns.example.org."), ([], 0))
        self.assertEqual(self.external("a.b.svc1.testns.example.org."), ([], 3))
        self.assertEqual(self.external("example.org."), ([], 2))
        # without headless, the headless service has no external IP: NXDOMAIN
        self.assertEqual(self.k.External(state("svc-headless.testns.example.org."), False),
                         ([], 3))

    def test_external_reverse(self):
        self.assertEqual(self.external("4.3.2.1.in-addr.arpa.", PTR),
                         ([("svc1.testns", "", 0)], 0))
        self.assertEqual(self.external("9.9.9.9.in-addr.arpa.", PTR), ([], 3))
        self.assertEqual([s.host for s in self.k.ExternalReverse("5.6.7.8")], ["lb.testns"])
        self.assertRaises(NoItems, self.k.ExternalReverse, "10.0.0.1")
        # a name that is no reverse name: NXDOMAIN or NODATA, as the name is
        self.assertEqual(self.external("svc1.testns.example.org.", PTR), ([], 0))

    def test_external_services(self):
        services, headless = self.k.ExternalServices("example.org.", True)
        self.assertEqual([(s.host, s.key, s.target_strip) for s in services], [
            ("1.2.3.4", "/c/org/example/testns/svc1", 0),
            ("1.2.3.4", "/c/org/example/testns/svc1/_tcp/_http", 2),
            ("1:2::5", "/c/org/example/testns/svc6", 0),
            ("1:2::5", "/c/org/example/testns/svc6/_tcp/_http", 2),
            ("5.6.7.8", "/c/org/example/testns/lb", 0),
            ("5.6.7.8", "/c/org/example/testns/lb/_tcp/_http", 2)])
        base = "/c/org/example/testns/svc-headless"
        self.assertEqual({key: [(s.host, s.key) for s in found]
                          for key, found in headless.items()}, {
            f"{base}/{ENDPOINT}": [("1.2.3.4", f"{base}/endpoint-svc-0"),
                                   ("1.2.3.5", f"{base}/endpoint-svc-1")],
            f"{base}/_tcp/_http/{PORT_PROTOCOL}": [
                ("endpoint-svc-0.svc-headless.testns.example.org.", f"{base}/_tcp/_http"),
                ("endpoint-svc-1.svc-headless.testns.example.org.", f"{base}/_tcp/_http")]})
        self.assertEqual(self.k.ExternalServices("example.org.", False)[1], {})

    def test_external_serial_moves_with_external_ips(self):
        plugin = Plugin(". {\n    kubernetes cluster.local\n}\n", external_cluster())
        self.assertEqual(plugin.plugin.ExternalSerial("example.org."), 0)
        plugin.clock.advance(10)
        plugin.cluster.event(watch.SERVICES, "MODIFIED", service(
            "svc1", "testns", ["10.0.0.1"], HTTP, external_ips=["1.2.3.9"], version="2"))
        self.assertEqual(plugin.plugin.ExternalSerial("example.org."),
                         int(plugin.clock.seconds()))


class NsAddrsTests(unittest.TestCase):
    """ns_test.go: the name server's addresses are its own Service's."""

    def cluster(self, external_ips=()) -> FakeCluster:
        slices = [endpoint_slice(f"{name}-slice1", "kube-system", name, [endpoint("10.244.0.20")])
                  for name in ("dns-service", "hdls-dns-service", "dns6-service")]
        return FakeCluster({
            watch.SERVICES: [
                service("dns-service", "kube-system", ["10.0.0.111"],
                        external_ips=list(external_ips)),
                service("hdls-dns-service", "kube-system", ["None"]),
                service("dns6-service", "kube-system", ["10::111"])],
            watch.ENDPOINT_SLICES: slices, watch.NAMESPACES: []})

    def plugin(self, external_ips=()) -> Kubernetes:
        return Plugin(". {\n    kubernetes inter.webs.test\n}\n", self.cluster(external_ips),
                      local_ips=["10.244.0.20"]).plugin

    def test_ns_addrs(self):
        self.assertEqual([text(r) for r in self.plugin().ns_addrs(False, False,
                                                                  "inter.webs.test.")], [
            "dns-service.kube-system.svc.inter.webs.test. 0 IN A 10.0.0.111",
            "10-244-0-20.hdls-dns-service.kube-system.svc.inter.webs.test. 0 IN A 10.244.0.20",
            "dns6-service.kube-system.svc.inter.webs.test. 0 IN AAAA 10::111"])

    def test_external_headless(self):
        self.assertEqual([text(r) for r in self.plugin().ns_addrs(True, True, "example.com.")],
                         ["10-244-0-20.hdls-dns-service.kube-system.example.com. 0 IN A "
                          "10.244.0.20"])

    def test_external(self):
        self.assertEqual(self.plugin().ns_addrs(True, False, "example.com."), [])
        k = self.plugin(["1.2.3.4"])
        self.assertEqual([text(r) for r in k.ExternalAddress(state("x.example.com.",
                                                                   zone="example.com."),
                                                             False)],
                         ["dns-service.kube-system.example.com. 0 IN A 1.2.3.4"])

    def test_apex_ns_is_the_service(self):
        plugin = Plugin(". {\n    kubernetes inter.webs.test\n}\n", self.cluster(),
                        local_ips=["10.244.0.20"])
        reply = plugin.reply("inter.webs.test.", "NS")
        names = ["dns-service.kube-system.svc.inter.webs.test.",
                 "10-244-0-20.hdls-dns-service.kube-system.svc.inter.webs.test.",
                 "dns6-service.kube-system.svc.inter.webs.test."]
        self.assertEqual(texts(reply.answer),
                         sorted(f"inter.webs.test. 5 IN NS {name}" for name in names))
        self.assertEqual(texts(reply.additional), sorted([
            f"{names[0]} 5 IN A 10.0.0.111", f"{names[1]} 5 IN A 10.244.0.20",
            f"{names[2]} 5 IN AAAA 10::111"]))


class ServicesTests(unittest.TestCase):
    """kubernetes_test.go's TestServices and TestServicesAuthority: the keys of what is
    found."""

    def test_services(self):
        cluster = coredns_fake(multicluster=True)
        plugin = Plugin(". {\n    kubernetes interwebs.test clusterset.test {\n"
                        "        multicluster clusterset.test\n    }\n}\n", cluster)
        k = plugin.plugin

        def found(name, qtype, zone):
            return [(s.host, s.key) for s in k.services(state(name, qtype, zone), False)]
        web, cs = "/c/test/interwebs/svc/testns", "/c/test/clusterset/svc/testns"
        self.assertEqual(found("svc1.testns.svc.interwebs.test.", A, "interwebs.test."),
                         [("10.0.0.1", f"{web}/svc1")])
        self.assertEqual(found("_http._tcp.svc1.testns.svc.interwebs.test.", SRV,
                               "interwebs.test."), [("10.0.0.1", f"{web}/svc1")])
        self.assertEqual(found("ep1a.svc1.testns.svc.interwebs.test.", A, "interwebs.test."),
                         [("172.0.0.1", f"{web}/svc1/ep1a")])
        self.assertEqual(found("_http._tcp.svc-dual-stack.testns.svc.interwebs.test.", SRV,
                               "interwebs.test."),
                         [("10.0.0.3", f"{web}/svc-dual-stack"),
                          ("10::3", f"{web}/svc-dual-stack")])
        self.assertEqual(found("external.testns.svc.interwebs.test.", CNAME, "interwebs.test."),
                         [("ext.interwebs.test", f"{web}/external")])
        self.assertEqual(found("hdls1.testns.svc.interwebs.test.", A, "interwebs.test.")[0],
                         ("172.0.0.2", f"{web}/hdls1/172-0-0-2"))
        self.assertEqual(found("svc1.testns.svc.clusterset.test.", A, "clusterset.test."),
                         [("10.0.0.1", f"{cs}/svc1")])
        self.assertEqual(found("ep1a.cluster1.svc1.testns.svc.clusterset.test.", A,
                               "clusterset.test."), [("172.0.0.1", f"{cs}/svc1/cluster1/ep1a")])
        self.assertEqual(found("hdls1.testns.svc.clusterset.test.", A, "clusterset.test.")[0],
                         ("172.0.0.2", f"{cs}/hdls1/cluster1/172-0-0-2"))

    def test_services_authority(self):
        def found(local_ips, qtype):
            k = Plugin(". {\n    kubernetes interwebs.test\n}\n", local_ips=local_ips).plugin
            return [(s.host, s.key) for s in k.services(state("ns.dns.interwebs.test.", qtype,
                                                              "interwebs.test."), False)]
        key = "/c/test/interwebs/dns/ns"
        self.assertEqual(found(["1.2.3.4"], A), [("1.2.3.4", key)])
        self.assertEqual(found(["1.2.3.4"], AAAA), [])
        self.assertEqual(found(["1:2::3:4"], A), [])
        self.assertEqual(found(["1:2::3:4"], AAAA), [("1:2::3:4", key)])
        self.assertEqual(found(["1.2.3.4", "1:2::3:4"], NS),
                         [("1.2.3.4", key), ("1:2::3:4", key)])


class AutoPathTests(unittest.TestCase):
    def plugin(self, mode: str = "verified") -> Kubernetes:
        return Plugin(f". {{\n    kubernetes cluster.local {{\n        pods {mode}\n    }}\n}}\n",
                      search=["example.com.", "internal.example.com."]).plugin

    def test_search_path_of_the_pod(self):
        request = make_request("test.cluster.local.", "A", client=("10.240.0.1", 5353))
        self.assertEqual(self.plugin().AutoPath(request), [
            "podns.svc.cluster.local.", "svc.cluster.local.", "cluster.local.",
            "example.com.", "internal.example.com.", ""])

    def test_none(self):
        pod_ip = ("10.240.0.1", 5353)
        self.assertIsNone(self.plugin().AutoPath(make_request("test.example.org.", "A",
                                                              client=pod_ip)))
        self.assertIsNone(self.plugin().AutoPath(make_request("test.cluster.local.", "A",
                                                              client=("10.9.9.9", 53))))
        self.assertIsNone(self.plugin("insecure").AutoPath(
            make_request("test.cluster.local.", "A", client=pod_ip)))

    def test_root_zone(self):
        k = Plugin(". {\n    kubernetes . {\n        pods verified\n    }\n}\n").plugin
        request = make_request("test.", "A", client=("10.240.0.1", 5353))
        self.assertEqual(k.AutoPath(request), ["podns.svc.", "svc.", ".", ""])


class MetadataTests(unittest.TestCase):
    """metadata_test.go's cases."""

    def labels(self, name: str, qtype: str = "A", client: str = "10.10.10.10",
               mode: str = "disabled", zone: str | None = None) -> dict[str, str]:
        plugin = Plugin(f". {{\n    kubernetes cluster.local clusterset.local {{\n"
                        f"        pods {mode}\n        multicluster clusterset.local\n"
                        "    }\n}\n").plugin
        request = make_request(name, qtype, client=(client, 5353))
        request.zone = zone
        plugin.Metadata(request)
        return {label: request.metadata_value(label) for label in request.metadata or {}}

    def test_labels(self):
        parts = {"kubernetes/endpoint": "", "kubernetes/port-name": "",
                 "kubernetes/protocol": ""}
        self.assertEqual(self.labels("foo.bar.notapod.cluster.local."),
                         {"kubernetes/parse-error": "invalid query name"})
        self.assertEqual(self.labels("10-240-0-1.podns.pod.cluster.local."), {
            **parts, "kubernetes/kind": "pod", "kubernetes/namespace": "podns",
            "kubernetes/service": "10-240-0-1"})
        self.assertEqual(self.labels("s.ns.svc.cluster.local."), {
            **parts, "kubernetes/kind": "svc", "kubernetes/namespace": "ns",
            "kubernetes/service": "s"})
        self.assertEqual(self.labels("_http._tcp.s.ns.svc.cluster.local.", "SRV"), {
            **parts, "kubernetes/kind": "svc", "kubernetes/namespace": "ns",
            "kubernetes/service": "s", "kubernetes/port-name": "http",
            "kubernetes/protocol": "tcp"})
        self.assertEqual(self.labels("ep.s.ns.svc.cluster.local."), {
            **parts, "kubernetes/kind": "svc", "kubernetes/namespace": "ns",
            "kubernetes/service": "s", "kubernetes/endpoint": "ep"})
        self.assertEqual(self.labels("ep.c1.s.ns.svc.clusterset.local.",
                                     zone="clusterset.local."), {
            **parts, "kubernetes/kind": "svc", "kubernetes/namespace": "ns",
            "kubernetes/service": "s", "kubernetes/endpoint": "ep",
            "kubernetes/cluster": "c1"})
        self.assertEqual(self.labels("example.com."), {})

    def test_client_pod(self):
        self.assertEqual(self.labels("example.com.", client="10.240.0.1", mode="verified"), {
            "kubernetes/client-namespace": "podns", "kubernetes/client-pod-name": "foo",
            "kubernetes/client-label/app.kubernetes.io/name": "foo",
            "kubernetes/client-label/bar": "baz"})

    def test_zonal(self):
        k = Plugin(". {\n    kubernetes cluster.local {\n        zonal\n    }\n}\n").plugin
        request = make_request("us-east-1a.pin._zone.s.ns.svc.cluster.local.", "A")
        k.Metadata(request)
        self.assertEqual(request.metadata_value("kubernetes/zone"), "us-east-1a")
