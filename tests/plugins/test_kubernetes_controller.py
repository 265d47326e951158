"""The stores the API feeds, their indexes, the serial and the programming-latency metric
(CoreDNS's controller_test.go, zonal_test.go's TestEndpointsEquivalentZoneChange,
object/metrics_test.go)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from twisted.internet import task
from twisted.trial import unittest

from tests.plugins.test_kubernetes_fake import (
    HTTP,
    Plugin,
    endpoint,
    endpoint_slice,
    multicluster_slice,
    namespace,
    pod,
    service,
    service_import,
)
from twisted_dns.pkg import metrics
from twisted_dns.plugins.kubernetes import objects, watch
from twisted_dns.plugins.kubernetes.controller import (
    EXTERNAL,
    INTERNAL,
    MULTICLUSTER,
    Controller,
    endpoints_equivalent,
)
from twisted_dns.plugins.kubernetes.metrics import ProgrammingLatency, parse_rfc3339


def names(found) -> list[str]:
    return sorted(f"{o.namespace}/{o.name}" for o in found)


class ObjectTests(unittest.TestCase):
    def test_service(self):
        svc = objects.to_service(service(
            "web", "prod", ["10.0.0.1", "fd00::1"], HTTP, external_ips=["1.2.3.4"],
            ingress=[{"ip": "5.6.7.8"}, {"hostname": "lb.example."}]))
        self.assertEqual((svc.index, svc.cluster_ips, svc.ports, svc.external_ips, svc.headless),
                         ("web.prod", ("10.0.0.1", "fd00::1"), (objects.Port(80, "http", "TCP"),),
                          ("1.2.3.4", "5.6.7.8", "lb.example."), False))
        bare = objects.to_service({"metadata": {"name": "x", "namespace": "y"},
                                   "spec": {"type": "ExternalName", "externalName": "a.b"}})
        self.assertEqual((bare.cluster_ips, bare.ports, bare.headless), (("",), objects.NO_PORTS,
                                                                         False))
        self.assertTrue(objects.to_service(service("h", "y", ["None"])).headless)

    def test_endpoint_slice(self):
        slice_ = objects.to_endpoints(endpoint_slice("web-1", "prod", "web", [
            endpoint("10.0.0.1", "10.0.0.2", hostname="a", pod="web-0", zone="Z1", node="n1"),
            endpoint("10.0.0.3", ready=False), endpoint("10.0.0.4", ready=None,
                                                        pod="p" * 64)],
            [("http", "TCP", 80), ("", "UDP", None)]), with_zones=True)
        self.assertEqual(slice_.index, "web.prod")
        self.assertEqual(slice_.addresses, (
            objects.Address("10.0.0.1", "a", "n1", "web-0"),
            objects.Address("10.0.0.2", "a", "n1", "web-0"), objects.Address("10.0.0.4")))
        self.assertEqual(slice_.ports, (objects.Port(80, "http", "TCP"),
                                        objects.Port(-1, "", "UDP")))
        self.assertEqual(slice_.zones, {"10.0.0.1": "z1", "10.0.0.2": "z1"})
        self.assertIsNone(objects.to_endpoints(endpoint_slice("x", "y", "z", [])).zones)
        self.assertEqual(objects.to_endpoints(endpoint_slice("x", "y", "z", [])).ports,
                         objects.NO_PORTS)
        mc = objects.to_endpoints(multicluster_slice("web-mc", "prod", "web", "east", []),
                                  multicluster=True)
        self.assertEqual((mc.index, mc.cluster_id), ("web.prod", "east"))

    def test_endpoint_hostname(self):
        """kubernetes_test.go's TestEndpointHostname."""
        for ip, hostname, pod_name, mode, expected in [
                ("10.11.12.13", "", "", False, "10-11-12-13"),
                ("10.11.12.13", "epname", "", False, "epname"),
                ("10.11.12.13", "", "hello-abcde", False, "10-11-12-13"),
                ("10.11.12.13", "epname", "hello-abcde", False, "epname"),
                ("10.11.12.13", "epname", "hello-abcde", True, "epname"),
                ("10.11.12.13", "", "hello-abcde", True, "hello-abcde"),
                ("2001:db8:3333:4444:5555:6666:7777:8888", "", "", False,
                 "2001-db8-3333-4444-5555-6666-7777-8888"),
                ("2001:db8:3333:4444:5555:6666::", "", "", False,
                 "2001-db8-3333-4444-5555-6666--0")]:
            address = objects.Address(ip, hostname, "", pod_name)
            self.assertEqual(objects.endpoint_hostname(address, mode), expected)

    def test_pod_and_import(self):
        found = objects.to_pod(pod("p", "ns", "10.1.1.1", {"a": "b"}, deleting=True))
        self.assertEqual((found.pod_ip, found.labels, found.terminating),
                         ("10.1.1.1", {"a": "b"}, True))
        imported = objects.to_service_import(service_import("s", "ns", type="Headless"))
        self.assertTrue(imported.headless)
        self.assertEqual(imported.cluster_ips, ())


class StoreTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1000)
        self.controller = Controller(self.clock, pods=True, multicluster=True)

    def test_indexes(self):
        c = self.controller
        c.services.replace([service("a", "x", ["10.0.0.1", "fd00::1"], external_ips=["1.2.3.4"]),
                            service("h", "x", ["None"])], "5")
        c.endpoint_slices.replace([endpoint_slice("h-1", "x", "h", [endpoint("10.1.0.1")]),
                                   endpoint_slice("h-2", "x", "h", [endpoint("10.1.0.1",
                                                                             "10.1.0.2")])], "5")
        self.assertEqual(names(c.svc_index("a.x")), ["x/a"])
        self.assertEqual(names(c.svc_index_reverse("fd00::1")), ["x/a"])
        self.assertEqual(list(c.svc_index_reverse("None")), [])  # headless: no address
        self.assertEqual(names(c.svc_ext_index_reverse("1.2.3.4")), ["x/a"])
        self.assertEqual(names(c.ep_index("h.x")), ["x/h-1", "x/h-2"])
        self.assertEqual(names(c.ep_index_reverse("10.1.0.1")), ["x/h-1", "x/h-2"])
        self.assertEqual(c.services.resource_version, "5")
        # an update moves the object between index values
        c.endpoint_slices.apply("MODIFIED", endpoint_slice("h-2", "x", "h",
                                                           [endpoint("10.1.0.3")], version="2"))
        self.assertEqual(names(c.ep_index_reverse("10.1.0.1")), ["x/h-1"])
        self.assertEqual(list(c.ep_index_reverse("10.1.0.2")), [])
        self.assertEqual(names(c.ep_index_reverse("10.1.0.3")), ["x/h-2"])
        c.endpoint_slices.apply("DELETED", endpoint_slice("h-1", "x", "h"))
        self.assertEqual(names(c.ep_index("h.x")), ["x/h-2"])
        # a relist drops what is gone
        c.services.replace([service("a", "x", ["10.0.0.1"])], "9")
        self.assertEqual(names(c.services.values()), ["x/a"])
        self.assertEqual(list(c.svc_index("h.x")), [])
        self.assertEqual(list(c.svc_index_reverse("fd00::1")), [])

    def test_unreadable_objects_are_skipped(self):
        c = self.controller
        c.services.replace([{"metadata": {"name": "bad", "namespace": "x"},
                             "spec": {"ports": [{"port": "eighty"}]}},
                            service("a", "x", ["10.0.0.1"])], "1")
        self.assertEqual(names(c.services.values()), ["x/a"])
        self.flushLoggedErrors()

    def test_terminating_pods_are_not_taken(self):
        c = self.controller
        c.pods.replace([pod("p", "ns", "10.1.1.1")], "1")
        c.pods.apply("MODIFIED", pod("p", "ns", "10.1.1.2", deleting=True))
        self.assertEqual([p.pod_ip for p in c.pod_index("10.1.1.1")], ["10.1.1.1"])
        c.pods.apply("DELETED", pod("p", "ns", "10.1.1.2", deleting=True))
        self.assertEqual(list(c.pod_index("10.1.1.1")), [])

    def test_synced_once_every_watched_kind_listed(self):
        c = self.controller
        for store in (c.services, c.namespaces, c.endpoint_slices, c.pods, c.service_imports):
            self.assertFalse(c.has_synced())
            store.replace([], "1")
        self.assertFalse(c.has_synced())
        c.multicluster_endpoint_slices.replace([], "1")
        self.assertTrue(c.has_synced())
        plain = Controller(self.clock, endpoints=False)
        plain.services.replace([], "1")
        plain.namespaces.replace([], "1")
        self.assertTrue(plain.has_synced())


class ModifiedTests(unittest.TestCase):
    """What moves the serial: CoreDNS's Add, Delete and detectChanges."""

    def setUp(self):
        self.clock = task.Clock()
        self.c = Controller(self.clock, multicluster=True, pods=True)

    def at(self, when: float) -> None:
        self.clock.advance(when - self.clock.seconds())

    def test_services(self):
        c = self.c
        self.at(10)
        c.services.apply("ADDED", service("a", "x", ["10.0.0.1"], HTTP, external_ips=["1.1.1.1"]))
        self.assertEqual([c.modified(m) for m in (INTERNAL, EXTERNAL, MULTICLUSTER)], [10, 0, 0])
        self.at(20)  # the same resource version: nothing changed
        c.services.apply("MODIFIED", service("a", "x", ["10.0.0.9"], [("dns", "UDP", 53)]))
        self.assertEqual((c.modified(), c.modified(EXTERNAL)), (10, 0))
        self.at(30)  # the ClusterIP alone does not count (CoreDNS's serviceModified)
        c.services.apply("MODIFIED", service("a", "x", ["10.0.0.2"], [("dns", "UDP", 53)],
                                             version="2"))
        self.assertEqual((c.modified(), c.modified(EXTERNAL)), (10, 0))
        self.at(40)
        c.services.apply("MODIFIED", service("a", "x", ["10.0.0.2"], [("dns", "UDP", 53)],
                                             version="3", external_ips=["2.2.2.2"]))
        self.assertEqual((c.modified(), c.modified(EXTERNAL)), (10, 40))
        self.at(50)
        c.services.apply("MODIFIED", service("a", "x", ["10.0.0.2"], HTTP, version="4",
                                             external_ips=["2.2.2.2"]))
        self.assertEqual((c.modified(), c.modified(EXTERNAL)), (50, 50))
        self.at(60)
        c.services.apply("DELETED", service("a", "x"))
        self.assertEqual((c.modified(), c.modified(EXTERNAL)), (60, 50))

    def test_endpoints(self):
        c = self.c
        self.at(10)
        c.endpoint_slices.apply("ADDED", endpoint_slice("s", "x", "a", [endpoint("10.1.0.1")]))
        self.at(20)  # the node name does not show in the DNS
        c.endpoint_slices.apply("MODIFIED", endpoint_slice(
            "s", "x", "a", [endpoint("10.1.0.1", node="n2")], version="2"))
        self.assertEqual(c.modified(), 10)
        self.at(30)
        c.endpoint_slices.apply("MODIFIED", endpoint_slice(
            "s", "x", "a", [endpoint("10.1.0.1", hostname="h")], version="3"))
        self.assertEqual(c.modified(), 30)
        self.at(40)
        c.multicluster_endpoint_slices.apply("ADDED", multicluster_slice("m", "x", "a", "c1"))
        self.assertEqual((c.modified(), c.modified(MULTICLUSTER)), (40, 0))
        self.at(50)
        c.multicluster_endpoint_slices.apply("MODIFIED", multicluster_slice(
            "m", "x", "a", "c1", [endpoint("10.2.0.1")]) | {"metadata": {
                "name": "m", "namespace": "x", "resourceVersion": "2", "labels": {
                    "multicluster.kubernetes.io/service-name": "a",
                    "multicluster.kubernetes.io/source-cluster": "c1"}}})
        self.assertEqual((c.modified(), c.modified(MULTICLUSTER)), (40, 50))

    def test_pods_imports_namespaces(self):
        c = self.c
        self.at(10)
        c.pods.apply("ADDED", pod("p", "x", "10.1.1.1"))
        self.at(20)
        c.pods.apply("MODIFIED", pod("p", "x", "10.1.1.1", labels={"new": "label"})
                     | {"metadata": {"name": "p", "namespace": "x", "resourceVersion": "2"}})
        self.assertEqual(c.modified(), 10)
        self.at(30)
        c.namespaces.apply("ADDED", namespace("x"))
        self.assertEqual(c.modified(), 10)
        c.service_imports.apply("ADDED", service_import("s", "x", ["10.0.0.1"], HTTP))
        self.assertEqual((c.modified(), c.modified(MULTICLUSTER)), (30, 0))
        self.at(40)
        changed = service_import("s", "x", ["10.0.0.1"], [("dns", "UDP", 53)])
        changed["metadata"]["resourceVersion"] = "2"
        c.service_imports.apply("MODIFIED", changed)
        self.assertEqual((c.modified(), c.modified(MULTICLUSTER)), (30, 40))

    def test_zone_only_change_is_not_equivalent(self):
        """zonal_test.go's TestEndpointsEquivalentZoneChange."""
        def slice_(zone):
            return objects.to_endpoints(endpoint_slice("s", "x", "a", [
                endpoint("172.0.0.1", zone=zone)]), with_zones=True)
        self.assertTrue(endpoints_equivalent(slice_("us-west-2a"), slice_("us-west-2a")))
        self.assertFalse(endpoints_equivalent(slice_("us-west-2a"), slice_("us-west-2b")))


class LatencyTests(unittest.TestCase):
    """The DNS programming latency (object/metrics_test.go), observed as slices arrive."""

    TRIGGER = {"endpoints.kubernetes.io/last-change-trigger-time": "2024-05-06T07:08:09.5Z"}

    def setUp(self):
        self.registry = CollectorRegistry()
        self.latency = ProgrammingLatency.make(self.registry)
        self.clock = task.Clock()
        self.clock.advance(parse_rfc3339("2024-05-06T07:08:10Z"))
        self.c = Controller(self.clock, latency=self.latency)

    def count(self, kind: str) -> float:
        return self.registry.get_sample_value(
            "coredns_kubernetes_dns_programming_duration_seconds_count", {"service_kind": kind}) \
            or 0

    def total(self, kind: str) -> float:
        return self.registry.get_sample_value(
            "coredns_kubernetes_dns_programming_duration_seconds_sum", {"service_kind": kind})

    def test_observed_per_kind(self):
        self.c.services.replace([service("c", "x", ["10.0.0.1"]), service("h", "x", ["None"])],
                                "1")
        self.c.endpoint_slices.apply("ADDED", endpoint_slice("c-1", "x", "c",
                                                             annotations=self.TRIGGER))
        self.assertEqual((self.count("cluster_ip"), self.total("cluster_ip")), (1, 0.5))
        self.c.endpoint_slices.replace([endpoint_slice("h-1", "x", "h", annotations=self.TRIGGER)],
                                       "2")
        self.assertEqual(self.count("headless_with_selector"), 1)
        # the relist dropped c-1: no observation for that
        self.assertEqual(self.count("cluster_ip"), 1)
        self.c.endpoint_slices.apply("DELETED", endpoint_slice("h-1", "x", "h",
                                                               annotations=self.TRIGGER))
        self.assertEqual(self.count("headless_with_selector"), 2)

    def test_not_observed(self):
        self.c.endpoint_slices.apply("ADDED", endpoint_slice("c-1", "x", "c",
                                                             annotations=self.TRIGGER))
        self.c.services.replace([service("c", "x", ["10.0.0.1"])], "1")
        self.c.endpoint_slices.apply("ADDED", endpoint_slice("c-2", "x", "c"))
        self.c.endpoint_slices.apply("ADDED", endpoint_slice("c-3", "x", "c", annotations={
            "endpoints.kubernetes.io/last-change-trigger-time": "yesterday"}))
        self.assertEqual(self.count("cluster_ip"), 0)

    def test_in_the_process_registry(self):
        """The plugin's histogram is the one the *prometheus* plugin serves."""
        registry = metrics.fresh()
        plugin = Plugin(". {\n    kubernetes cluster.local\n}\n")
        plugin.cluster.event(watch.ENDPOINT_SLICES, "ADDED", endpoint_slice(
            "svc1-slice2", "testns", "svc1", annotations={
                "endpoints.kubernetes.io/last-change-trigger-time":
                    "2017-07-06T13:30:22Z"}))  # a second before the fake clock's time
        self.assertEqual(registry.get_sample_value(
            "coredns_kubernetes_dns_programming_duration_seconds_sum",
            {"service_kind": "cluster_ip"}), 1.0)

    def test_rfc3339(self):
        self.assertEqual(parse_rfc3339("1970-01-01T00:00:01Z"), 1)
        self.assertEqual(parse_rfc3339("1970-01-01T01:00:01.25+01:00"), 1.25)
        self.assertEqual(parse_rfc3339("1970-01-01T00:00:00.123456789-00:30"), 1800.123456789)
        for bad in ("1970-01-01 00:00:01Z", "1970-13-01T00:00:01Z", "1970-01-01T00:00:01"):
            self.assertRaises(ValueError, parse_rfc3339, bad)
