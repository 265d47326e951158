"""The ``kubernetes`` directive: CoreDNS's setup_test.go and setup_ttl_test.go, ported, and
the README's examples."""

from __future__ import annotations

from twisted.trial import unittest

from tests.plugins.test_kubernetes_fake import Plugin, coredns_fake
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.kubernetes.kubernetes import Options
from twisted_dns.plugins.kubernetes.setup import (
    bound_ips,
    install,
    parse,
    search_from_resolv_conf,
    setup,
)
from twisted_dns.testing import check_examples, configure, controller


def options(body: str, keys: str = ".") -> Options:
    return parse(controller("kubernetes", f"{keys} {{\n{body}\n}}\n"), search=[])


class ParseTests(unittest.TestCase):
    def test_zones(self):
        self.assertEqual(options("kubernetes coredns.local").zones, ["coredns.local."])
        self.assertEqual(options("kubernetes coredns.local test.local").zones,
                         ["coredns.local.", "test.local."])
        self.assertEqual(options("kubernetes coredns.local {\n}").zones, ["coredns.local."])
        # none given: the block's
        self.assertEqual(options("kubernetes", "cluster.local 10.0.0.0/24").zones,
                         ["cluster.local.", "0.0.10.in-addr.arpa."])

    def test_defaults(self):
        found = options("kubernetes coredns.local")
        self.assertEqual((found.pod_mode, found.ttl, found.endpoints, found.namespaces,
                          found.fall.zones, str(found.startup_timeout), found.labels,
                          found.endpoint, found.kubeconfig, found.ignore_empty_service,
                          found.zonal, found.multicluster_zones, found.endpoint_pod_names),
                         ("disabled", 5, True, set(), (), "5s", "", "", None, False, False, [],
                          False))
        self.assertEqual(found.primary_zone, "coredns.local.")

    def test_options(self):
        found = options("""kubernetes coredns.local test.local {
    endpoint http://localhost:8080
    namespaces demo test
    labels environment in (production, staging, qa),application=nginx
    fallthrough
    pods verified
    endpoint_pod_names
    ttl 56
    noendpoints
    ignore empty_service
    kubeconfig file context
    tls cert key cacert
    startup_timeout 1s
    apiserver_qps 50.0
    apiserver_burst 100
    apiserver_max_inflight 25
}""")
        self.assertEqual(
            (found.zones, found.endpoint, found.namespaces, found.labels, found.fall.zones,
             found.pod_mode, found.endpoint_pod_names, found.ttl, found.endpoints,
             found.ignore_empty_service, found.kubeconfig, found.tls,
             str(found.startup_timeout), found.api_qps, found.api_burst,
             found.api_max_inflight),
            (["coredns.local.", "test.local."], "http://localhost:8080", {"demo", "test"},
             "application=nginx,environment in (production,qa,staging)", (".",), "verified",
             True, 56, False, True, ("file", "context"), ("cert", "key", "cacert"), "1s", 50.0,
             100, 25))

    def test_more(self):
        self.assertEqual(options("kubernetes coredns.local {\n endpoint http://localhost:9090 "
                                 "http://localhost:9091\n}").endpoint, "http://localhost:9090")
        self.assertEqual(options("kubernetes coredns.local {\n kubeconfig file\n}").kubeconfig,
                         ("file", None))
        self.assertEqual(options("kubernetes coredns.local {\n fallthrough ip6.arpa "
                                 "inaddr.arpa foo.com\n}").fall.zones,
                         ("ip6.arpa.", "inaddr.arpa.", "foo.com."))
        self.assertEqual(options("kubernetes coredns.local {\n namespace_labels "
                                 "istio-injection=enabled\n}").namespace_labels,
                         "istio-injection=enabled")
        self.assertEqual(options("kubernetes coredns.local clusterset.local {\n multicluster "
                                 "clusterset.local\n}").multicluster_zones, ["clusterset.local."])
        self.assertEqual(options("kubernetes coredns.local {\n multicluster\n}")
                         .multicluster_zones, [])
        self.assertTrue(options("kubernetes coredns.local {\n zonal\n}").zonal)
        self.assertTrue(options("kubernetes coredns.local {\n ignore empty_service ixnay\n}")
                        .ignore_empty_service)
        self.assertFalse(options("kubernetes coredns.local {\n ignore\n}").ignore_empty_service)
        for ttl in ("0", "3600"):
            self.assertEqual(options(f"kubernetes cluster.local {{\n ttl {ttl}\n}}").ttl,
                             int(ttl))

    def test_errors(self):
        arg = "wrong argument count or unexpected line ending after"
        for body, message in [
            ("kubernetes coredns.local {\n endpoint\n}", f"Corefile:3: {arg} 'endpoint'"),
            ("kubernetes coredns.local {\n namespaces\n}", f"Corefile:3: {arg} 'namespaces'"),
            ("kubernetes coredns.local {\n labels\n}", f"Corefile:3: {arg} 'labels'"),
            ("kubernetes coredns.local {\n labels environment in (production, qa\n}",
             "Corefile:3: unable to parse label selector value: 'environment in (production, "
             "qa': couldn't parse the selector string \"environment in (production, qa\": "
             "unable to parse requirement: found '', expected: ',' or ')'"),
            ("kubernetes coredns.local {\n namespace_labels a!=b\n}",
             "Corefile:3: unable to parse namespace_label selector value: 'a!=b': \"!=\" is not "
             "a valid label selector operator"),
            ("kubernetes coredns.local {\n namespaces foo bar\n namespace_labels "
             "istio-injection=enabled\n}",
             "Corefile:5: namespaces and namespace_labels cannot both be set"),
            ("kubernetes coredns.local {\n pods giant_seed\n}",
             "Corefile:3: wrong value for pods: giant_seed,  must be one of: disabled, "
             "verified, insecure"),
            ("kubernetes coredns.local {\n pods\n}", f"Corefile:3: {arg} 'pods'"),
            ("kubernetes coredns.local\nkubernetes cluster.local",
             "Corefile:3: this plugin can only be used once per Server Block"),
            ("kubernetes coredns.local {\n kubeconfig\n}", f"Corefile:3: {arg} 'kubeconfig'"),
            ("kubernetes coredns.local {\n kubeconfig file context extraarg\n}",
             f"Corefile:3: {arg} 'extraarg'"),
            ("kubernetes coredns.local {\n endpoint_pod_names giant_seed\n}",
             f"Corefile:3: {arg} 'giant_seed'"),
            ("kubernetes coredns.local {\n noendpoints ixnay on the endpointsay\n}",
             f"Corefile:3: {arg} 'endpointsay'"),
            ("kubernetes coredns.local {\n ignore ixnay on the endpointsay\n}",
             "Corefile:3: unable to parse ignore value: 'ixnay'"),
            ("kubernetes coredns.local {\n multicluster clusterset.local\n}",
             "Corefile:4: is not authoritative for the multicluster zone clusterset.local. "
             "(authoritative zones: [coredns.local.])"),
            ("kubernetes coredns.local clusterset.local {\n multicluster clusterset.local "
             "test.local\n}", "Corefile:4: is not authoritative for the multicluster zone "
             "test.local. (authoritative zones: [coredns.local. clusterset.local.])"),
            ("kubernetes coredns.local {\n apiserver_qps -10\n}",
             "Corefile:3: apiserver_qps must be >= 0"),
            ("kubernetes coredns.local {\n ttl 5\n apiserver_qps 10\n}",
             "Corefile:4: burst is required to be greater than 0 when RateLimiter is not set "
             "and QPS is set: set apiserver_burst too"),
            ("kubernetes coredns.local {\n apiserver_burst -5\n}",
             "Corefile:3: apiserver_burst must be >= 0"),
            ("kubernetes coredns.local {\n apiserver_max_inflight -1\n}",
             "Corefile:3: apiserver_max_inflight must be >= 0"),
            ("kubernetes coredns.local {\n apiserver_qps fast\n}",
             'Corefile:3: invalid apiserver_qps "fast": strconv.ParseFloat: parsing "fast": '
             "invalid syntax"),
            ("kubernetes coredns.local {\n apiserver_burst 1.5\n}",
             'Corefile:3: invalid apiserver_burst "1.5": strconv.Atoi: parsing "1.5": '
             "invalid syntax"),
            ("kubernetes coredns.local {\n apiserver_qps 1 2\n}", f"Corefile:3: {arg} '2'"),
            ("kubernetes coredns.local {\n zonal us-west-2a\n}",
             f"Corefile:3: {arg} 'us-west-2a'"),
            ("kubernetes coredns.local {\n zonal\n noendpoints\n}",
             "Corefile:5: zonal requires the endpoint cache; remove noendpoints"),
            ("kubernetes cluster.local {\n ttl -1\n}",
             "Corefile:3: ttl must be in range [0, 3600]: -1"),
            ("kubernetes cluster.local {\n ttl 3601\n}",
             "Corefile:3: ttl must be in range [0, 3600]: 3601"),
            ("kubernetes cluster.local {\n ttl five\n}",
             'Corefile:3: strconv.Atoi: parsing "five": invalid syntax'),
            ("kubernetes cluster.local {\n ttl\n}", f"Corefile:3: {arg} 'ttl'"),
            ("kubernetes cluster.local {\n startup_timeout 5x\n}",
             'Corefile:3: failed to parse startup_timeout: 5x, time: unknown unit "x" in '
             'duration "5x"'),
            ("kubernetes cluster.local {\n resyncperiod 5s\n}",
             "Corefile:3: unknown property 'resyncperiod'"),
            ("kubernetes 10.in-addr.arpa", "Corefile:2: non-reverse zone name must be used"),
        ]:
            with self.subTest(body=body):
                self.assertEqual(str(self.assertRaises(ConfigError, options, body)), message)


class ResolvConfTests(unittest.TestCase):
    def test_search(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("nameserver 10.0.0.10\nsearch Default.svc.cluster.local "
                         "svc.cluster.local\noptions ndots:5\n")
        self.assertEqual(search_from_resolv_conf(path),
                         ["default.svc.cluster.local.", "svc.cluster.local."])
        with open(path, "w") as handle:
            handle.write("search a.example\ndomain b.example\n")
        self.assertEqual(search_from_resolv_conf(path), ["b.example."])
        self.assertEqual(search_from_resolv_conf(path + ".missing"), [])


class BoundIPsTests(unittest.TestCase):
    """TestBoundIPs: with *bind*, only hosts written as CIDRs count, as CoreDNS reads them."""

    def test_listen_hosts(self):
        self.assertEqual(bound_ips(["192.168.1.1/24"]), ["192.168.1.1"])
        self.assertEqual(bound_ips(["127.0.0.1/8"]), [])
        self.assertEqual(bound_ips(["10.1.2.3"]), [])
        self.assertEqual(bound_ips(["fd00::1/64", "::1/128"]), ["fd00::1"])

    def test_every_interface(self):
        found = bound_ips([])
        self.assertNotIn("127.0.0.1", found)
        self.assertEqual(found, bound_ips([""]))


class SetupTests(unittest.TestCase):
    def test_connection_errors_are_at_the_directive(self):
        def connect(reactor, options, controller):
            raise ValueError("no kubeconfig at /nope")

        def fails(c):
            install(c, parse(c, []), connect)

        corefile = ". {\n    whoami\n    kubernetes cluster.local {\n        ttl 5\n    }\n}\n"
        self.assertEqual(str(self.assertRaises(ConfigError, configure, fails, "kubernetes",
                                               corefile)),
                         "Corefile:3: no kubeconfig at /nope")

    def test_started_and_stopped_with_the_server(self):
        plugin = Plugin(". {\n    kubernetes cluster.local\n}\n")
        feed = plugin.cluster.feeds[0]
        self.assertTrue(feed.started)
        self.assertEqual(len(plugin.clock.getDelayedCalls()), 1)  # the startup timeout
        plugin.configured.shutdown()
        self.assertTrue(feed.stopped)
        self.assertEqual(plugin.clock.getDelayedCalls(), [])

    def test_cluster_options_reach_the_connection(self):
        cluster = coredns_fake()
        Plugin(". {\n    kubernetes cluster.local {\n        endpoint https://k8s:6443\n"
               "        apiserver_qps 5\n        apiserver_burst 10\n    }\n}\n", cluster)
        (seen,) = cluster.connected
        self.assertEqual((seen.endpoint, seen.api_qps), ("https://k8s:6443", 5.0))


class ReadmeTests(unittest.TestCase):
    def test_examples_set_up(self):
        """Each example's kubernetes directive sets up (on the fake cluster)."""
        for example in check_examples(self, "kubernetes"):
            with self.subTest(example=example):
                plugin = Plugin(example)
                self.assertEqual(plugin.plugin.Name(), "kubernetes")

    def test_setup_is_the_entry_point(self):
        from importlib.metadata import EntryPoint

        entry = EntryPoint("kubernetes", "twisted_dns.plugins.kubernetes.setup:setup",
                           "twisted_dns.plugins")
        self.assertIs(entry.load(), setup)
