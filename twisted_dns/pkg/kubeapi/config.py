"""Where the Kubernetes API is and who we are to it: client-go's ``rest.Config``, the part the
kubernetes plugin uses.

    ClusterConfig.from_kubeconfig("/etc/coredns/kubeconfig", context=None)
    ClusterConfig.in_cluster()                    # the pod's service account
    ClusterConfig.from_endpoint("https://10.0.0.1:6443", cert, key, ca)   # endpoint + tls

Everything is read and checked here, at configuration time (files, base64, PEM), so a bad
setting is one ``ValueError`` line the plugin turns into ``FILE:LINE``; the client only
builds connections from what is here. The one thing read again later is ``token_file``:
service-account tokens rotate, so the client re-reads it (see ``client.py``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import yaml
from OpenSSL import crypto
from twisted.internet import ssl
from twisted.internet.error import VerifyError
from twisted.logger import Logger

from twisted_dns.addresses import join_host_port

log = Logger(namespace="kubernetes")

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)

#: kubeconfig settings that change where or as whom we connect, which we cannot honour:
#: refusing them is better than talking to the wrong place as the wrong user
_UNSUPPORTED = {
    "cluster": {"proxy-url": "a proxy, which is not supported",
                "tls-server-name": "tls-server-name, which is not supported"},
    "user": {"exec": "exec credentials, which are not supported",
             "auth-provider": "an auth-provider, which is not supported",
             **dict.fromkeys(("as", "as-groups", "as-uid"),
                             "impersonation, which is not supported")},
}

@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """The API server's URL, the CA to trust and our credentials (client certificate, bearer
    token, or user name and password). Built by the constructors below; checked on creation."""

    server: str
    ca_pem: bytes | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = dataclasses.field(default=None, repr=False)
    token: str | None = dataclasses.field(default=None, repr=False)
    #: read again by the client at most once a minute (it wins over ``token`` when readable)
    token_file: str | None = None
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    #: do not verify the server's certificate (kubeconfig's insecure-skip-tls-verify)
    insecure: bool = False

    def __post_init__(self) -> None:
        url = urlsplit(self.server)
        try:
            url.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            raise ValueError(f"server {self.server}: bad port") from None
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"server {self.server}: not an http:// or https:// URL")
        if self.insecure and self.ca_pem:
            raise ValueError("a certificate authority with insecure-skip-tls-verify "
                             "is not allowed")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic authentication needs both a username and a password")
        if self.username is not None and (self.token or self.token_file):
            raise ValueError("more than one authentication method: a token and basic "
                             "authentication")
        trust_root(self.ca_pem)
        client_certificate(self.cert_pem, self.key_pem)

    @classmethod
    def from_endpoint(cls, url: str, cert: str | None = None, key: str | None = None,
                      ca: str | None = None) -> ClusterConfig:
        """CoreDNS's ``endpoint URL`` with ``tls CERT KEY CACERT`` (file paths): no other
        credentials. A URL without a scheme is https when TLS files are given, else http."""
        return cls(server=_with_scheme(url, tls=bool(cert or key or ca)),
                   ca_pem=_read(ca, "tls CA certificate"),
                   cert_pem=_read(cert, "tls certificate"), key_pem=_read(key, "tls key"))

    @classmethod
    def in_cluster(cls, environ: Mapping[str, str] = os.environ,
                   root: str = SERVICE_ACCOUNT) -> ClusterConfig:
        """client-go's ``rest.InClusterConfig``: the API at KUBERNETES_SERVICE_HOST:PORT, the
        service account's token (re-read as it rotates) and CA (platform roots without it,
        logged, as client-go does)."""
        host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ValueError("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                             "and KUBERNETES_SERVICE_PORT must be defined")
        token_file = os.path.join(root, "token")
        token = _read(token_file, "service account token")
        ca_file = os.path.join(root, "ca.crt")
        try:
            ca = _read(ca_file, "service account CA")
        except ValueError as error:
            log.error("{error}; trusting the platform's certificate authorities", error=error)
            ca = None
        return cls(server=f"https://{join_host_port(host, port)}", ca_pem=ca,
                   token=token.decode().strip(), token_file=token_file)

    @classmethod
    def from_kubeconfig(cls, path: str, context: str | None = None) -> ClusterConfig:
        """client-go's loading of one explicit kubeconfig file: ``context`` or the file's
        current-context, its cluster and user; ``*-data`` (base64) wins over the file it
        replaces, and relative paths are relative to the kubeconfig's directory."""
        return _Kubeconfig(path).cluster_config(context)


class _Kubeconfig:
    """One kubeconfig file: lookups by name, with errors that name the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.base = os.path.dirname(os.path.abspath(path))
        try:
            self.doc = yaml.safe_load(_read(path, "kubeconfig"))
        except yaml.YAMLError as error:
            raise self.error(f"not YAML ({' '.join(str(error).split())})") from None
        if not isinstance(self.doc, dict):
            raise self.error("not a kubeconfig (a YAML mapping)")

    def error(self, why: str) -> ValueError:
        return ValueError(f"kubeconfig {self.path}: {why}")

    def named(self, kind: str, name: str, used_by: str = "") -> dict[str, Any]:
        """The ``kind`` (cluster, user, context) called ``name`` in the ``kind + "s"`` list."""
        entries = self.doc.get(kind + "s") or []
        if not isinstance(entries, list):
            raise self.error(f"{kind}s is not a list")
        for entry in entries:
            if isinstance(entry, dict) and entry.get("name") == name:
                body = entry.get(kind) or {}
                if not isinstance(body, dict):
                    raise self.error(f"{kind} {name} is not a mapping")
                return body
        raise self.error(f"{kind} {name!r} was not found{used_by}")

    def data(self, section: dict[str, Any], key: str, owner: str) -> bytes | None:
        """``key-data`` (base64) if set, else the file ``key`` names."""
        encoded = section.get(key + "-data")
        if encoded:
            try:
                # Go's base64 (kubeconfig []byte fields) skips line breaks
                text = str(encoded).replace("\n", "").replace("\r", "")
                return base64.b64decode(text, validate=True)
            except binascii.Error:
                raise self.error(f"{owner}: {key}-data is not base64") from None
        return self.file(section, key, owner)

    def file(self, section: dict[str, Any], key: str, owner: str) -> bytes | None:
        name = section.get(key)
        if not name:
            return None
        try:
            return _read(os.path.join(self.base, str(name)), f"{owner} {key}")
        except ValueError as error:
            raise self.error(str(error)) from None

    def cluster_config(self, context_name: str | None) -> ClusterConfig:
        context_name = context_name or self.doc.get("current-context")
        if not context_name:
            raise self.error("no current-context and no context given")
        context = self.named("context", context_name)
        cluster_name = context.get("cluster")
        if not cluster_name:
            raise self.error(f"context {context_name} names no cluster")
        cluster = self.named("cluster", cluster_name, f" (context {context_name})")
        user_name = context.get("user")
        user = self.named("user", user_name, f" (context {context_name})") if user_name else {}
        for kind, section, name in (("cluster", cluster, cluster_name),
                                    ("user", user, user_name)):
            for key, what in _UNSUPPORTED[kind].items():
                if section.get(key):
                    raise self.error(f"{kind} {name} uses {what}")
        if not cluster.get("server"):
            raise self.error(f"cluster {cluster_name} has no server")
        ca = self.data(cluster, "certificate-authority", f"cluster {cluster_name}")
        cert = self.data(user, "client-certificate", f"user {user_name}")
        key = self.data(user, "client-key", f"user {user_name}")
        insecure = bool(cluster.get("insecure-skip-tls-verify"))
        token_file = user.get("tokenFile")
        token = user.get("token")
        if token_file:
            token_file = os.path.join(self.base, str(token_file))
            if not token:
                token = self.file(user, "tokenFile", f"user {user_name}").decode().strip()
        username, password = user.get("username"), user.get("password")
        try:
            return ClusterConfig(
                server=_with_scheme(str(cluster["server"]), tls=bool(ca or cert or insecure)),
                ca_pem=ca, cert_pem=cert, key_pem=key, token=str(token) if token else None,
                token_file=token_file or None,
                username=None if username is None else str(username),
                password=None if password is None else str(password), insecure=insecure)
        except ValueError as error:
            raise self.error(f"context {context_name}: {error}") from None


def trust_root(ca_pem: bytes | None) -> Any:
    """The CA bundle as a Twisted trust root (every certificate in it), None for the
    platform's; ValueError when it holds no certificate."""
    if ca_pem is None:
        return None
    blocks = _PEM_CERTIFICATE.findall(ca_pem)
    if not blocks:
        raise ValueError("the certificate authority is not a PEM certificate")
    try:
        return ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(b) for b in blocks])
    except crypto.Error:
        raise ValueError("the certificate authority is not a valid PEM certificate") from None


def client_certificate(cert_pem: bytes | None, key_pem: bytes | None) -> Any:
    """Our certificate and its key as a Twisted ``PrivateCertificate``, None without one;
    ValueError when one comes without the other, either is not PEM, or they do not match."""
    if cert_pem is None and key_pem is None:
        return None
    if cert_pem is None or key_pem is None:
        raise ValueError("a client certificate needs both the certificate and its key")
    try:
        return ssl.PrivateCertificate.loadPEM(cert_pem + b"\n" + key_pem)
    except crypto.Error:
        raise ValueError("the client certificate or key is not valid PEM") from None
    except VerifyError:
        raise ValueError("the client key does not match the client certificate") from None


def _with_scheme(server: str, tls: bool) -> str:
    """client-go's ``DefaultServerURL``: ``host:port`` becomes a URL, https when TLS is set."""
    if "://" in server:
        return server
    return ("https://" if tls else "http://") + server


def _read(path: str | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ValueError(f"cannot read {what} {path}: {error.strerror}") from None
