"""pkg.kubeapi.config: the API server and credentials, from a kubeconfig, the pod's service
account, or CoreDNS's ``endpoint`` and ``tls`` (files written by the tests)."""

from __future__ import annotations

import base64
import os
from typing import Any

import yaml
from twisted.logger import LogLevel, capturedLogs
from twisted.trial import unittest

from tests.pkg.test_kubeapi_fake import Certificates
from twisted_dns.pkg.kubeapi import ClusterConfig

CERTS = Certificates()


class Files(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    def write(self, name: str, content: bytes | str) -> str:
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content.encode() if isinstance(content, str) else content)
        return path

    def assert_one_line(self, error: Exception, *words: str) -> None:
        text = str(error)
        self.assertNotIn("\n", text)
        for word in words:
            self.assertIn(word, text)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class EndpointTests(Files):
    """CoreDNS's ``endpoint URL`` and ``tls CERT KEY CACERT``."""

    def test_a_plain_http_endpoint(self) -> None:
        config = ClusterConfig.from_endpoint("http://127.0.0.1:8080")
        self.assertEqual(config, ClusterConfig(server="http://127.0.0.1:8080"))

    def test_https_with_client_certificate_and_ca(self) -> None:
        config = ClusterConfig.from_endpoint(
            "https://k8s.example:6443", self.write("c.pem", CERTS.client_cert_pem),
            self.write("k.pem", CERTS.client_key_pem), self.write("ca.pem", CERTS.ca_pem))
        self.assertEqual((config.server, config.cert_pem, config.key_pem, config.ca_pem),
                         ("https://k8s.example:6443", CERTS.client_cert_pem,
                          CERTS.client_key_pem, CERTS.ca_pem))
        self.assertIsNone(config.token)

    def test_a_host_and_port_is_http_without_tls_and_https_with_it(self) -> None:
        self.assertEqual(ClusterConfig.from_endpoint("10.0.0.1:8080").server,
                         "http://10.0.0.1:8080")
        ca = self.write("ca.pem", CERTS.ca_pem)
        self.assertEqual(ClusterConfig.from_endpoint("k8s:6443", ca=ca).server,
                         "https://k8s:6443")

    def test_bad_urls(self) -> None:
        for url, words in [("ftp://k8s", ("ftp://k8s", "http")), ("https://", ("https://",)),
                           ("https://k8s:http", ("bad port",))]:
            with self.assertRaises(ValueError) as caught:
                ClusterConfig.from_endpoint(url)
            self.assert_one_line(caught.exception, *words)

    def test_a_missing_file_is_named(self) -> None:
        missing = os.path.join(self.dir, "nope.pem")
        with self.assertRaises(ValueError) as caught:
            ClusterConfig.from_endpoint("https://k8s", ca=missing)
        self.assert_one_line(caught.exception, missing, "No such file")

    def test_bad_pem(self) -> None:
        not_pem = self.write("x.pem", b"hello")
        cert = self.write("c.pem", CERTS.client_cert_pem)
        key = self.write("k.pem", CERTS.client_key_pem)
        other_key = self.write("other.pem", CERTS.server_key_pem)
        for args, words in [((None, None, not_pem), ("certificate authority",)),
                            ((cert, None, None), ("both",)),
                            ((None, key, None), ("both",)),
                            ((not_pem, key, None), ("not valid PEM",)),
                            ((cert, other_key, None), ("does not match",))]:
            with self.assertRaises(ValueError) as caught:
                ClusterConfig.from_endpoint("https://k8s", *args)
            self.assert_one_line(caught.exception, *words)

    def test_secrets_stay_out_of_repr(self) -> None:
        shown = repr(ClusterConfig(server="https://k8s", token="s3cret",
                                   cert_pem=CERTS.client_cert_pem, key_pem=CERTS.client_key_pem))
        shown += repr(ClusterConfig(server="https://k8s", username="u", password="hunter2"))
        self.assertNotIn("s3cret", shown)
        self.assertNotIn("hunter2", shown)
        self.assertNotIn("PRIVATE", shown)
        self.assertIn("username='u'", shown)


class InClusterTests(Files):
    """client-go's rest.InClusterConfig."""

    def account(self, token: str = "tok-1\n", ca: bytes | None = CERTS.ca_pem) -> str:
        self.write("sa/token", token)
        if ca is not None:
            self.write("sa/ca.crt", ca)
        return os.path.join(self.dir, "sa")

    def test_service_host_port_token_and_ca(self) -> None:
        root = self.account()
        config = ClusterConfig.in_cluster(
            {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, root)
        self.assertEqual(config, ClusterConfig(
            server="https://10.96.0.1:443", ca_pem=CERTS.ca_pem, token="tok-1",
            token_file=os.path.join(root, "token")))

    def test_an_ipv6_service_host_is_bracketed(self) -> None:
        config = ClusterConfig.in_cluster(
            {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"},
            self.account())
        self.assertEqual(config.server, "https://[fd00::1]:6443")

    def test_outside_a_cluster(self) -> None:
        for environ in [{}, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"},
                        {"KUBERNETES_SERVICE_PORT": "443"}]:
            with self.assertRaises(ValueError) as caught:
                ClusterConfig.in_cluster(environ, self.account())
            self.assert_one_line(caught.exception, "KUBERNETES_SERVICE_HOST and "
                                 "KUBERNETES_SERVICE_PORT must be defined")

    def test_without_a_token(self) -> None:
        root = os.path.join(self.dir, "empty")
        with self.assertRaises(ValueError) as caught:
            ClusterConfig.in_cluster({"KUBERNETES_SERVICE_HOST": "h",
                                      "KUBERNETES_SERVICE_PORT": "1"}, root)
        self.assert_one_line(caught.exception, os.path.join(root, "token"))

    def test_without_a_ca_trusts_the_platform_and_says_so(self) -> None:
        with capturedLogs() as events:
            config = ClusterConfig.in_cluster({"KUBERNETES_SERVICE_HOST": "h",
                                               "KUBERNETES_SERVICE_PORT": "1"},
                                              self.account(ca=None))
        self.assertIsNone(config.ca_pem)
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["log_namespace"], "kubernetes")


class KubeconfigTests(Files):
    """client-go's loading of one kubeconfig file (``kubeconfig FILE [CONTEXT]``)."""

    def kubeconfig(self, users: list[dict] | None = None, clusters: list[dict] | None = None,
                   current: str | None = "one", **extra: Any) -> str:
        doc = {"apiVersion": "v1", "kind": "Config", **extra,
               "clusters": clusters or [
                   {"name": "c1", "cluster": {"server": "https://one.example:6443",
                                              "certificate-authority-data": b64(CERTS.ca_pem)}},
                   {"name": "c2", "cluster": {"server": "http://two.example:8080"}}],
               "users": users or [{"name": "u1", "user": {"token": "tok-one"}}],
               "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u1"}},
                            {"name": "two", "context": {"cluster": "c2"}}]}
        if current:
            doc["current-context"] = current
        return self.write("conf/kubeconfig", yaml.safe_dump(doc))

    def user(self, **fields: Any) -> str:
        return self.kubeconfig(users=[{"name": "u1", "user": fields}])

    def rejects(self, path: str, *words: str, context: str | None = None) -> None:
        with self.assertRaises(ValueError) as caught:
            ClusterConfig.from_kubeconfig(path, context)
        self.assert_one_line(caught.exception, path, *words)

    def test_the_current_context(self) -> None:
        config = ClusterConfig.from_kubeconfig(self.kubeconfig())
        self.assertEqual(config, ClusterConfig(server="https://one.example:6443",
                                               ca_pem=CERTS.ca_pem, token="tok-one"))

    def test_a_context_given_wins_over_the_current_one(self) -> None:
        config = ClusterConfig.from_kubeconfig(self.kubeconfig(), "two")
        self.assertEqual(config, ClusterConfig(server="http://two.example:8080"))

    def test_an_unknown_context_is_named(self) -> None:
        self.rejects(self.kubeconfig(), "context 'three' was not found", context="three")
        self.rejects(self.kubeconfig(current="gone"), "context 'gone' was not found")

    def test_no_context_at_all(self) -> None:
        self.rejects(self.kubeconfig(current=None), "no current-context")

    def test_unknown_cluster_and_user(self) -> None:
        path = self.kubeconfig(clusters=[{"name": "c2", "cluster": {"server": "http://x"}}])
        self.rejects(path, "cluster 'c1' was not found (context one)")
        path = self.kubeconfig(users=[{"name": "someone", "user": {}}])
        self.rejects(path, "user 'u1' was not found (context one)")

    def test_a_cluster_without_server(self) -> None:
        self.rejects(self.kubeconfig(clusters=[{"name": "c1", "cluster": {}}]),
                     "cluster c1 has no server")

    def test_certificate_files_are_relative_to_the_kubeconfig(self) -> None:
        self.write("conf/pki/ca.crt", CERTS.ca_pem)
        self.write("conf/pki/me.crt", CERTS.client_cert_pem)
        self.write("conf/pki/me.key", CERTS.client_key_pem)
        path = self.kubeconfig(
            clusters=[{"name": "c1", "cluster": {"server": "https://one:6443",
                                                 "certificate-authority": "pki/ca.crt"}}],
            users=[{"name": "u1", "user": {"client-certificate": "pki/me.crt",
                                           "client-key": "pki/me.key"}}])
        config = ClusterConfig.from_kubeconfig(path)
        self.assertEqual((config.ca_pem, config.cert_pem, config.key_pem, config.token),
                         (CERTS.ca_pem, CERTS.client_cert_pem, CERTS.client_key_pem, None))

    def test_data_wins_over_files_and_may_be_wrapped(self) -> None:
        encoded = b64(CERTS.client_cert_pem)
        wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
        path = self.user(**{"client-certificate": "missing.crt",
                            "client-certificate-data": wrapped,
                            "client-key-data": b64(CERTS.client_key_pem)})
        config = ClusterConfig.from_kubeconfig(path)
        self.assertEqual((config.cert_pem, config.key_pem),
                         (CERTS.client_cert_pem, CERTS.client_key_pem))

    def test_a_missing_certificate_file(self) -> None:
        self.rejects(self.user(**{"client-certificate": "nope.crt", "client-key": "nope.key"}),
                     "user u1 client-certificate", os.path.join(self.dir, "conf", "nope.crt"))

    def test_data_that_is_not_base64(self) -> None:
        self.rejects(self.user(**{"client-key-data": "%%%"}), "client-key-data is not base64")

    def test_a_certificate_without_key(self) -> None:
        self.rejects(self.user(**{"client-certificate-data": b64(CERTS.client_cert_pem)}),
                     "context one", "both the certificate and its key")

    def test_a_token_file_is_read_and_kept_for_rereading(self) -> None:
        self.write("conf/secrets/token", "tok-file\n")
        config = ClusterConfig.from_kubeconfig(self.user(tokenFile="secrets/token"))
        self.assertEqual((config.token, config.token_file),
                         ("tok-file", os.path.join(self.dir, "conf", "secrets", "token")))

    def test_a_token_and_a_token_file(self) -> None:
        """client-go starts with the token and follows the file (read by the client)."""
        config = ClusterConfig.from_kubeconfig(self.user(token="tok", tokenFile="later"))
        self.assertEqual((config.token, config.token_file),
                         ("tok", os.path.join(self.dir, "conf", "later")))

    def test_a_missing_token_file(self) -> None:
        self.rejects(self.user(tokenFile="nope"), "user u1 tokenFile")

    def test_basic_authentication(self) -> None:
        config = ClusterConfig.from_kubeconfig(self.user(username="admin", password="pw"))
        self.assertEqual((config.username, config.password, config.token), ("admin", "pw", None))
        self.rejects(self.user(username="admin"), "both a username and a password")
        self.rejects(self.user(username="admin", password="pw", token="t"),
                     "more than one authentication method")

    def test_insecure_skip_tls_verify(self) -> None:
        path = self.kubeconfig(clusters=[{"name": "c1", "cluster": {
            "server": "10.0.0.1:6443", "insecure-skip-tls-verify": True}}])
        config = ClusterConfig.from_kubeconfig(path)
        self.assertEqual((config.server, config.insecure, config.ca_pem),
                         ("https://10.0.0.1:6443", True, None))
        path = self.kubeconfig(clusters=[{"name": "c1", "cluster": {
            "server": "https://x", "insecure-skip-tls-verify": True,
            "certificate-authority-data": b64(CERTS.ca_pem)}}])
        self.rejects(path, "insecure-skip-tls-verify is not allowed")

    def test_unsupported_credentials_are_refused(self) -> None:
        exec_user = {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}
        self.rejects(self.user(exec=exec_user),
                     "user u1 uses exec credentials, which are not supported")
        self.rejects(self.user(**{"auth-provider": {"name": "gcp"}}),
                     "user u1 uses an auth-provider, which is not supported")
        self.rejects(self.user(token="t", **{"as": "someone-else"}), "impersonation")
        path = self.kubeconfig(clusters=[{"name": "c1", "cluster": {
            "server": "https://x", "proxy-url": "http://proxy:3128"}}])
        self.rejects(path, "cluster c1 uses a proxy, which is not supported")

    def test_an_anonymous_context(self) -> None:
        config = ClusterConfig.from_kubeconfig(self.kubeconfig(), "two")
        self.assertEqual((config.token, config.username, config.cert_pem), (None, None, None))

    def test_files_that_are_not_kubeconfigs(self) -> None:
        self.rejects(self.write("bad.yaml", "a: [b\n"), "not YAML")
        self.rejects(self.write("list.yaml", "- a\n"), "not a kubeconfig")
        self.rejects(self.write("clusters.yaml", "clusters: 3\ncurrent-context: x\n"
                                "contexts: [{name: x, context: {cluster: c}}]\n"),
                     "clusters is not a list")
        self.rejects(os.path.join(self.dir, "absent"), "cannot read kubeconfig")
