"""The control plane peer: a real kube-apiserver and etcd (one for the whole module), its
object helpers, service account tokens under RBAC, kubeconfigs read by the official client,
and an apiserver restart that keeps the data."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket

import kubernetes
import urllib3
from twisted.internet import defer, threads
from twisted.trial import unittest

from twisted_dns.testing.kube import (
    SERVICE_CLUSTER_IP_RANGES,
    UNREACHABLE_CONTEXT,
    APIStatusError,
    ControlPlane,
    resource_path,
    shared_control_plane,
)

PORTS = [{"name": "http", "port": 80, "protocol": "TCP"}]


class ControlPlaneTests(unittest.TestCase):
    """Each test runs its blocking body in a thread, in a namespace of its own."""

    @defer.inlineCallbacks
    def setUp(self):
        self.plane = yield threads.deferToThread(shared_control_plane)
        self.api = self.plane.client()
        self.namespace = f"test-kube-{secrets.token_hex(4)}"
        yield threads.deferToThread(self.api.create_namespace, self.namespace)
        self.addCleanup(threads.deferToThread, self.api.delete_namespace, self.namespace)

    def test_ready(self):
        """/readyz answers ok to the admin token, and /version is the release built."""
        def check():
            self.assertEqual(self.api.call("GET", "/readyz"), b"ok")
            self.assertEqual(self.api.request("GET", "/version")["gitVersion"], "v1.37.2")
            self.assertIs(shared_control_plane(), self.plane)
        return threads.deferToThread(check)

    def test_services_of_every_kind(self):
        ns = self.namespace

        def check():
            self.api.create_service(ns, "fixed", {"clusterIP": "10.96.7.7", "ports": PORTS})
            self.api.create_service(ns, "dual", {"ipFamilyPolicy": "RequireDualStack",
                                                 "ports": PORTS})
            self.api.create_service(ns, "headless", {"clusterIP": "None", "ports": PORTS})
            self.api.create_service(ns, "external", {"type": "ExternalName",
                                                     "externalName": "example.org"})
            self.api.create_service(ns, "outside", {"externalIPs": ["192.0.2.40"],
                                                    "ports": PORTS})
            self.api.create_service(ns, "balanced", {"type": "LoadBalancer", "ports": PORTS})
            self.api.set_load_balancer_ingress(ns, "balanced", [{"ip": "192.0.2.50"},
                                                                {"hostname": "lb.example.org"}])
            specs = {service["metadata"]["name"]: (service["spec"], service["status"])
                     for service in self.api.items("services", ns)}
            self.assertEqual(specs["fixed"][0]["clusterIPs"], ["10.96.7.7"])
            v4, v6 = (ipaddress.ip_address(ip) for ip in specs["dual"][0]["clusterIPs"])
            self.assertEqual([v4 in ipaddress.ip_network(SERVICE_CLUSTER_IP_RANGES[0]),
                              v6 in ipaddress.ip_network(SERVICE_CLUSTER_IP_RANGES[1])],
                             [True, True])
            self.assertEqual(specs["headless"][0]["clusterIP"], "None")
            self.assertEqual(specs["external"][0]["externalName"], "example.org")
            self.assertEqual(specs["outside"][0]["externalIPs"], ["192.0.2.40"])
            self.assertEqual(specs["balanced"][1]["loadBalancer"]["ingress"],
                             [{"ip": "192.0.2.50", "ipMode": "VIP"},
                              {"hostname": "lb.example.org"}])
        return threads.deferToThread(check)

    def test_endpoint_slices_and_pods(self):
        ns = self.namespace

        def check():
            self.api.create_service(ns, "web", {"clusterIP": "None", "ports": PORTS})
            self.api.create_endpoint_slice(
                ns, "web-v6", "web", [{"addresses": ["fd00:10:244::5"], "hostname": "a",
                                       "conditions": {"ready": False}}],
                ports=PORTS, address_type="IPv6")
            [endpoint_slice] = self.api.items(
                "endpointslices", ns, labelSelector="kubernetes.io/service-name=web")
            self.assertEqual((endpoint_slice["addressType"], endpoint_slice["endpoints"]),
                             ("IPv6", [{"addresses": ["fd00:10:244::5"], "hostname": "a",
                                        "conditions": {"ready": False}}]))
            self.api.patch("endpointslices", "web-v6", {"endpoints": [
                {"addresses": ["fd00:10:244::6"], "conditions": {"ready": True}}]}, ns)
            self.assertEqual(self.api.get("endpointslices", "web-v6", ns)["endpoints"],
                             [{"addresses": ["fd00:10:244::6"], "conditions": {"ready": True}}])
            self.api.create_pod(ns, "client", ips=["10.244.0.9", "fd00:10:244::9"])
            status = self.api.get("pods", "client", ns)["status"]
            self.assertEqual((status["podIP"], status["podIPs"]),
                             ("10.244.0.9", [{"ip": "10.244.0.9"}, {"ip": "fd00:10:244::9"}]))
            self.api.delete("pods", "client", ns)
            self.assertEqual(self.api.items("pods", ns), [])
        return threads.deferToThread(check)

    def test_deleted_namespace_is_gone(self):
        """With no namespace controller, delete_namespace still removes it and what is in it
        at once."""
        short = f"{self.namespace}-short"

        def check():
            self.api.create_namespace(short)
            self.api.create_service(short, "web", {"clusterIP": "None", "ports": PORTS})
            self.api.delete_namespace(short)
            with self.assertRaises(APIStatusError) as caught:
                self.api.get("namespaces", short)
            self.assertEqual(caught.exception.status, 404)
            self.assertNotIn(short, [service["metadata"]["namespace"]
                                     for service in self.api.items("services")])
        return threads.deferToThread(check)

    def test_service_imports(self):
        def check():
            self.api.ensure_service_imports()
            self.api.create_service_import(self.namespace, "shared", {
                "type": "ClusterSetIP", "ips": ["10.96.99.1"], "ports": PORTS})
            [service_import] = self.api.items("serviceimports", self.namespace)
            self.assertEqual(service_import["spec"]["ips"], ["10.96.99.1"])
        return threads.deferToThread(check)

    def test_service_account_may_list_and_watch_only(self):
        ns = self.namespace

        def check():
            token = self.plane.service_account_token(ns, "dns")
            reader = self.plane.client(token)
            for resource in ("services", "endpointslices", "namespaces", "pods"):
                self.assertIsInstance(reader.items(resource), list)
            with reader.open("GET", resource_path("services", ns) + "?watch=1") as events:
                self.api.create_service(ns, "seen", {"clusterIP": "None", "ports": PORTS})
                event = json.loads(events.readline())
            self.assertEqual((event["type"], event["object"]["metadata"]["name"]),
                             ("ADDED", "seen"))
            with self.assertRaises(APIStatusError) as caught:
                reader.create_service(ns, "forbidden", {"clusterIP": "None", "ports": PORTS})
            self.assertEqual(caught.exception.status, 403)
            with self.assertRaises(APIStatusError) as caught:
                reader.items("serviceaccounts", ns)
            self.assertEqual(caught.exception.status, 403)
        return threads.deferToThread(check)

    def test_kubeconfigs(self):
        """Token and client-certificate kubeconfigs (data embedded or in files) work with the
        official client; the context chosen wins over the file's current one."""
        directory = self.mktemp()
        os.makedirs(directory)

        def check():
            token = self.plane.service_account_token(self.namespace, "kubeconfig")
            for n, (user, embed) in enumerate([("token", True), ("cert", True),
                                               ("cert", False), (token, False)]):
                path = self.plane.write_kubeconfig(
                    os.path.join(directory, f"config{n}"), user, "pydns",
                    current_context=UNREACHABLE_CONTEXT, embed=embed)
                names = [namespace.metadata.name for namespace in
                         self.core_v1(path, "pydns").list_namespace().items]
                self.assertIn(self.namespace, names)
            with self.assertRaises(urllib3.exceptions.MaxRetryError):
                self.core_v1(path, None).list_namespace()
        return threads.deferToThread(check)

    @staticmethod
    def core_v1(path, context):
        client = kubernetes.config.new_client_from_config(config_file=path, context=context)
        client.configuration.retries = 0
        return kubernetes.client.CoreV1Api(client)


class RestartTests(unittest.TestCase):

    def test_restart_keeps_the_data(self):
        def check():
            plane = shared_control_plane()
            api = plane.client()
            namespace = f"test-restart-{secrets.token_hex(4)}"
            api.create_namespace(namespace)
            try:
                api.create_service(namespace, "kept", {"clusterIP": "10.96.8.8",
                                                       "ports": PORTS})
                url = plane.url
                plane.restart_apiserver()
                self.assertEqual(plane.url, url)
                self.assertEqual(api.get("services", "kept", namespace)["spec"]["clusterIP"],
                                 "10.96.8.8")
            finally:
                api.delete_namespace(namespace)
        return threads.deferToThread(check)

    def test_failure_to_start_says_why(self):
        """An apiserver that cannot listen fails start() at once, with its log."""
        directory = self.mktemp()

        def check():
            ControlPlane.require()
            plane = ControlPlane(directory)
            with socket.socket() as taken:  # bound, not listening: connections are refused
                taken.bind((plane.host, plane.port))
                try:
                    with self.assertRaises(RuntimeError) as caught:
                        plane.start()
                finally:
                    plane.stop()
            self.assertIn("kube-apiserver exited", str(caught.exception))
            self.assertIn("address already in use", str(caught.exception))
        return threads.deferToThread(check)
