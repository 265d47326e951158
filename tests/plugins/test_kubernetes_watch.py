"""The wiring to the API client (watch.py), with fakes of ``twisted_dns.pkg.kubeapi``'s
``ClusterConfig`` constructors, ``KubeClient`` and ``Reflector`` in its place (the real ones
against a real kube-apiserver: tests/kube/)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, task
from twisted.trial import unittest

from tests.plugins.test_kubernetes_fake import endpoint, endpoint_slice, service
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.kubernetes import watch
from twisted_dns.plugins.kubernetes.controller import Controller
from twisted_dns.plugins.kubernetes.setup import parse, setup
from twisted_dns.testing import configure, controller


class ClusterConfig:
    made: list[tuple] = []

    @classmethod
    def from_kubeconfig(cls, path, context=None):
        if path == "/missing":
            raise ValueError(f"cannot read kubeconfig {path}: No such file or directory")
        cls.made.append(("kubeconfig", path, context))
        return ("kubeconfig", path, context)

    @classmethod
    def from_endpoint(cls, url, cert=None, key=None, ca=None):
        cls.made.append(("endpoint", url, cert, key, ca))
        return ("endpoint", url)

    @classmethod
    def in_cluster(cls, environ=None, root=None):
        raise ValueError("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and"
                         " KUBERNETES_SERVICE_PORT must be defined")


class KubeClient:
    def __init__(self, reactor, config, qps=None, burst=None, max_inflight=None):
        self.args = (config, qps, burst, max_inflight)
        self.closed = False

    def close(self):
        self.closed = True


class Reflector:
    made: list[Reflector] = []

    def __init__(self, client, clock, path, sink, label_selector=None, field_selector=None):
        self.client, self.clock, self.path, self.sink = client, clock, path, sink
        self.selectors = (label_selector, field_selector)
        self.running = False
        Reflector.made.append(self)

    def start(self):
        self.running = True

    def stop(self):
        self.running = False
        return defer.succeed(None)


class WatchTests(unittest.TestCase):
    def setUp(self):
        for fake in (ClusterConfig, KubeClient, Reflector):
            self.patch(watch, fake.__name__, fake)
        ClusterConfig.made = []
        Reflector.made = []

    def options(self, body: str) -> Any:
        return parse(controller("kubernetes", f"cluster.local {{\n{body}\n}}\n"), search=[])

    def test_feeds(self):
        options = self.options("kubernetes cluster.local clusterset.local {\n"
                               " labels app=web\n namespace_labels team in (a,b)\n"
                               " pods verified\n multicluster clusterset.local\n}")
        c = Controller(task.Clock(), pods=True, multicluster=True)
        self.assertEqual([(f.path, f.store, f.label_selector, f.field_selector)
                          for f in watch.feeds(options, c)], [
            (watch.SERVICES, c.services, "app=web", None),
            (watch.ENDPOINT_SLICES, c.endpoint_slices, "app=web", None),
            (watch.NAMESPACES, c.namespaces, "team in (a,b)", None),
            (watch.PODS, c.pods, "app=web", watch.RUNNING_PODS),
            (watch.ENDPOINT_SLICES, c.multicluster_endpoint_slices,
             "app=web,multicluster.kubernetes.io/service-name", None),
            (watch.SERVICE_IMPORTS, c.service_imports, "team in (a,b)", None)])
        options = self.options("kubernetes cluster.local {\n noendpoints\n}")
        self.assertEqual([f.path for f in watch.feeds(options, Controller(task.Clock()))],
                         [watch.SERVICES, watch.NAMESPACES])

    def test_cluster_configs(self):
        watch.cluster_config(self.options("kubernetes {\n kubeconfig /etc/kube.conf ctx\n"
                                          " endpoint https://ignored:6443\n}"))
        watch.cluster_config(self.options("kubernetes {\n endpoint https://k8s:6443\n"
                                          " tls c.pem k.pem ca.pem\n}"))
        watch.cluster_config(self.options("kubernetes {\n endpoint https://k8s:6443\n}"))
        self.assertEqual(ClusterConfig.made, [
            ("kubeconfig", "/etc/kube.conf", "ctx"),
            ("endpoint", "https://k8s:6443", "c.pem", "k.pem", "ca.pem"),
            ("endpoint", "https://k8s:6443", None, None, None)])

    def test_setup_errors(self):
        """A cluster named by the options is reached at setup: its errors are the
        directive's."""
        self.assertEqual(str(self.assertRaises(
            ConfigError, configure, setup, "kubernetes",
            ". {\n    kubernetes cluster.local {\n        kubeconfig /missing\n    }\n}\n")),
            "Corefile:2: cannot read kubeconfig /missing: No such file or directory")

    def test_in_cluster_is_read_at_start(self):
        """Outside a cluster the configuration loads, and fails to start saying why."""
        configured = configure(setup, "kubernetes", ". {\n    kubernetes cluster.local\n}\n")
        failure = self.failureResultOf(configured.startup(), ConfigError)
        self.assertEqual(str(failure.value),
                         "Corefile:2: unable to load in-cluster configuration, "
                         "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
        self.assertEqual(Reflector.made, [])
        self.successResultOf(configured.shutdown())

    def test_started_and_stopped(self):
        configured = configure(setup, "kubernetes", ". {\n    kubernetes cluster.local {\n"
                               "        endpoint https://k8s:6443\n        apiserver_qps 20\n"
                               "        apiserver_burst 40\n    }\n}\n")
        self.assertEqual(Reflector.made, [])  # nothing before the server starts
        configured.startup()
        plugin = configured.plugin("kubernetes")
        self.assertEqual([(r.path, r.sink) for r in Reflector.made], [
            (watch.SERVICES, plugin.controller.services),
            (watch.ENDPOINT_SLICES, plugin.controller.endpoint_slices),
            (watch.NAMESPACES, plugin.controller.namespaces)])
        self.assertTrue(all(r.running for r in Reflector.made))
        client = Reflector.made[0].client
        self.assertEqual(client.args, (("endpoint", "https://k8s:6443"), 20.0, 40, None))
        self.assertIs(Reflector.made[0].clock, configured.reactor)
        # what a reflector hands its sink is what the plugin answers from
        Reflector.made[0].sink.replace([service("web", "prod", ["10.0.0.1"])], "3")
        Reflector.made[1].sink.replace([endpoint_slice("web-1", "prod", "web",
                                                       [endpoint("10.1.0.1")])], "3")
        self.assertEqual([s.name for s in plugin.controller.svc_index("web.prod")], ["web"])
        self.successResultOf(configured.shutdown())
        self.assertFalse(any(r.running for r in Reflector.made))
        self.assertTrue(client.closed)
