"""A real Kubernetes control plane for tests: etcd and kube-apiserver on loopback, nothing else.

    plane = yield threads.deferToThread(shared_control_plane)   # blocking: run it in a thread
    api = plane.client()                        # the admin (group system:masters)
    api.create_namespace("t1")                  # each test in namespaces of its own
    api.create_service("t1", "web", {"clusterIP": "10.96.5.5",
                                     "ports": [{"name": "http", "port": 80}]})
    api.create_endpoint_slice("t1", "web-1", "web", [{"addresses": ["10.244.0.7"]}],
                              ports=[{"name": "http", "port": 8080, "protocol": "TCP"}])
    api.create_pod("t1", "client", ips=["10.244.0.9"])        # status.podIP through /status
    plane.write_kubeconfig(path, user="cert")                 # or "token", or any token
    token = plane.service_account_token("t1", "dns")          # may list and watch, nothing more

:class:`ControlPlane` starts etcd (its data in ``directory``) and kube-apiserver on free ports
of 127.0.0.1, with a test CA made here (a serving certificate for 127.0.0.1, ::1, localhost
and kubernetes.default.svc; client certificates), an admin token, RBAC, a dual-stack Service
range (10.96.0.0/16 and fd00:10:96::/112) and service account tokens. There is no scheduler,
controller-manager or kubelet: Pods stay Pending (their IPs are set by hand), no controller
writes EndpointSlices (tests write them) and nothing empties a deleted Namespace, which
:meth:`APIClient.delete_namespace` does itself. The apiserver itself keeps the
``default`` and ``kube-system`` Namespaces and the ``kubernetes`` Service. The API rejects
loopback and link-local addresses in EndpointSlices, so tests use 10.x or 192.0.2.x ones.

:class:`APIClient` is plain JSON over ``urllib`` (no client library): its objects are the
API's own dicts, what a watch delivers. Every call blocks, as :func:`shared_control_plane`
does: tests run them with ``deferToThread``. The processes are ``subprocess.Popen`` children,
not the reactor's, so trial's dirty-reactor check never sees them; the shared one stops at
interpreter exit. When kube-apiserver or etcd is not built (``.ci/build-kube-apiserver``),
the test skips, or fails under CI, as :func:`~twisted_dns.testing.peers.require_program`.

Measured (2 shared cores, kube-apiserver v1.37.2, etcd v3.7.0): ready 3.1 to 4.7 s after
start; RSS about 280 MB for kube-apiserver and 40 to 45 MB for etcd; a create about 10 ms;
:meth:`ControlPlane.restart_apiserver` 3.8 to 4.6 s; the ServiceImport CRD served 0.2 to 2 s
after it is created.
"""

from __future__ import annotations

import atexit
import base64
import datetime
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from twisted_dns.testing.peers import go_bin_directories, require_program
from twisted_dns.testing.server import free_port

#: the Service ranges the apiserver allocates ClusterIPs from (dual stack)
SERVICE_CLUSTER_IP_RANGES = ("10.96.0.0/16", "fd00:10:96::/112")
#: the ClusterIP of the ``kubernetes`` Service (the first of the range), in the serving
#: certificate as in a real cluster's
KUBERNETES_SERVICE_IP = str(ipaddress.ip_network(SERVICE_CLUSTER_IP_RANGES[0])[1])
#: the address the ``kubernetes`` Service's EndpointSlice names (unreachable, TEST-NET-1)
ADVERTISE_ADDRESS = "192.0.2.1"
#: the context every kubeconfig from :meth:`ControlPlane.write_kubeconfig` also holds, whose
#: server refuses connections (so a test can tell which context a reader chose)
UNREACHABLE_CONTEXT = "unreachable"
#: the user the admin client certificate names, in group system:masters
CERTIFICATE_USER = "twisted-dns-admin"
#: what a service account from :meth:`ControlPlane.service_account_token` may do
READER_ROLE = "twisted-dns-reader"
READER_RULES = [
    {"apiGroups": [""], "resources": ["services", "namespaces", "pods"],
     "verbs": ["list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
     "verbs": ["list", "watch"]},
    {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceimports"],
     "verbs": ["list", "watch"]},
]

#: resource (plural, as in the API's paths) -> (its API prefix, whether it is namespaced)
RESOURCES = {
    "namespaces": ("/api/v1", False),
    "services": ("/api/v1", True),
    "pods": ("/api/v1", True),
    "serviceaccounts": ("/api/v1", True),
    "endpointslices": ("/apis/discovery.k8s.io/v1", True),
    "serviceimports": ("/apis/multicluster.x-k8s.io/v1alpha1", True),
    "clusterroles": ("/apis/rbac.authorization.k8s.io/v1", False),
    "clusterrolebindings": ("/apis/rbac.authorization.k8s.io/v1", False),
    "customresourcedefinitions": ("/apis/apiextensions.k8s.io/v1", False),
}

#: what :meth:`APIClient.delete_namespace` empties a Namespace of
NAMESPACE_CONTENTS = ("pods", "endpointslices", "services", "serviceimports", "serviceaccounts")

#: ServiceImport (sigs.k8s.io/mcs-api), which the kubernetes plugin's ``multicluster`` watches;
#: its spec and status are kept as given (the API checks no field of them)
SERVICE_IMPORT_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "serviceimports.multicluster.x-k8s.io"},
    "spec": {
        "group": "multicluster.x-k8s.io", "scope": "Namespaced",
        "names": {"plural": "serviceimports", "singular": "serviceimport",
                  "kind": "ServiceImport", "listKind": "ServiceImportList"},
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                part: {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                for part in ("spec", "status")}}},
        }],
    },
}

#: how long a blocking wait (the control plane's start, a CRD, an RBAC grant) may take
TIMEOUT = 60.0


class APIStatusError(Exception):
    """The API answered ``status`` (not 2xx); ``body`` is its Status object (a dict)."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        try:
            self.body = json.loads(body)
        except ValueError:
            self.body = {"message": body.decode("utf-8", "replace")}
        self.status = status
        super().__init__(f"{method} {path}: {status} {self.body.get('message', '')}")


def resource_path(resource: str, namespace: str | None = None, name: str | None = None,
                  subresource: str | None = None) -> str:
    """The API path of ``resource`` (in ``namespace``; all namespaces when None), of one object
    of it, or of that object's ``subresource`` (``status``)."""
    prefix, namespaced = RESOURCES[resource]
    parts = [prefix]
    if namespaced and namespace is not None:
        parts.append(f"namespaces/{namespace}")
    parts.append(resource)
    parts.extend(part for part in (name, subresource) if part)
    return "/".join(parts)


def metadata(name: str, namespace: str | None = None, labels: Mapping[str, str] | None = None,
             annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An object's ``metadata``."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def wait_until(condition: Callable[[], Any], timeout: float = TIMEOUT,
               what: str | Callable[[], str] = "the condition") -> Any:
    """``condition()``'s first true result, asked every 50 ms (this blocks: it is for a thread);
    a ``TimeoutError`` naming ``what`` (called, if callable) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what() if callable(what) else what}")
        time.sleep(0.05)
    return result


class APIClient:
    """A small blocking client of the API at ``url``, trusting ``ca_pem``, as ``token``."""

    def __init__(self, url: str, ca_pem: bytes, token: str | None, timeout: float = 30.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self._tls = ssl.create_default_context(cadata=ca_pem.decode("ascii"))

    def open(self, method: str, path: str, body: Any = None,
             content_type: str = "application/json") -> http.client.HTTPResponse:
        """The answer to ``method path`` (``body`` sent as JSON) as it arrives, for the caller
        to close: a watch (``?watch=1``) is one JSON event a line. An :class:`APIStatusError`
        unless it is 2xx."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout, context=self._tls)
        except urllib.error.HTTPError as failure:
            raise APIStatusError(method, path, failure.code, failure.read()) from None

    def call(self, method: str, path: str, body: Any = None,
             content_type: str = "application/json") -> bytes:
        """The whole body of :meth:`open`'s answer."""
        with self.open(method, path, body, content_type) as response:
            return response.read()

    def request(self, method: str, path: str, body: Any = None,
                content_type: str = "application/json") -> dict[str, Any]:
        """:meth:`call`, its answer decoded from JSON."""
        return json.loads(self.call(method, path, body, content_type))

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("GET", resource_path(resource, namespace, name))

    def items(self, resource: str, namespace: str | None = None,
              **query: str) -> list[dict[str, Any]]:
        """The objects of ``resource`` (in ``namespace``, else everywhere); ``query`` adds
        parameters such as ``labelSelector``."""
        path = resource_path(resource, namespace)
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self.request("GET", path)["items"]

    def create(self, resource: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """``obj`` created (its namespace is its metadata's)."""
        namespace = obj["metadata"].get("namespace")
        return self.request("POST", resource_path(resource, namespace), obj)

    def patch(self, resource: str, name: str, changes: Mapping[str, Any],
              namespace: str | None = None, subresource: str | None = None) -> dict[str, Any]:
        """The object with ``changes`` merged in (a JSON merge patch: None deletes a key, a
        list replaces the old one); ``subresource="status"`` to change its status."""
        return self.request("PATCH", resource_path(resource, namespace, name, subresource),
                            changes, "application/merge-patch+json")

    def delete(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("DELETE", resource_path(resource, namespace, name))

    def ensure(self, resource: str, obj: Mapping[str, Any]) -> None:
        """``obj`` created, unless one of its name is there already."""
        try:
            self.create(resource, obj)
        except APIStatusError as failure:
            if failure.status != 409:
                raise

    def create_namespace(self, name: str,
                         labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": metadata(name, labels=labels)})

    def delete_namespace(self, name: str) -> None:
        """The Namespace and the objects of :data:`NAMESPACE_CONTENTS` in it deleted at once:
        the namespace controller's work, which this control plane lacks (without it the
        Namespace would stay Terminating, and what is in it would still be listed)."""
        for resource in NAMESPACE_CONTENTS:
            try:
                self.request("DELETE", resource_path(resource, name))  # the whole collection
            except APIStatusError as failure:
                if failure.status != 404:  # ServiceImport not installed
                    raise
        namespace = self.delete("namespaces", name)
        namespace["spec"]["finalizers"] = []
        self.request("PUT", resource_path("namespaces", name=name, subresource="finalize"),
                     namespace)

    def create_service(self, namespace: str, name: str, spec: Mapping[str, Any],
                       labels: Mapping[str, str] | None = None,
                       annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A Service of any type: ``spec`` is the API's (``type``, ``clusterIP``/``clusterIPs``
        or ``"None"``, ``ipFamilyPolicy``, ``ports``, ``externalName``, ``externalIPs``...)."""
        return self.create("services", {"apiVersion": "v1", "kind": "Service",
                                        "metadata": metadata(name, namespace, labels, annotations),
                                        "spec": dict(spec)})

    def set_load_balancer_ingress(self, namespace: str, name: str,
                                  ingress: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """A LoadBalancer Service's ``status.loadBalancer.ingress`` (``[{"ip": ...},
        {"hostname": ...}]``), as a cloud controller would write it."""
        return self.patch("services", name, {"status": {"loadBalancer": {
            "ingress": [dict(entry) for entry in ingress]}}}, namespace, "status")

    def create_endpoint_slice(self, namespace: str, name: str, service: str,
                              endpoints: Iterable[Mapping[str, Any]],
                              ports: Iterable[Mapping[str, Any]] = (),
                              address_type: str = "IPv4",
                              labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """An EndpointSlice of ``service`` (label kubernetes.io/service-name, plus ``labels``):
        ``endpoints`` as the API's (``{"addresses": [...], "conditions": {"ready": True},
        "hostname": ..., "targetRef": ...}``), ``ports`` (``{"name", "port", "protocol"}``)."""
        return self.create("endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": metadata(name, namespace,
                                 {"kubernetes.io/service-name": service, **(labels or {})}),
            "addressType": address_type,
            "endpoints": [dict(endpoint) for endpoint in endpoints],
            "ports": [dict(port) for port in ports]})

    def create_pod(self, namespace: str, name: str, ips: Sequence[str] = (),
                   labels: Mapping[str, str] | None = None,
                   spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A Pod (one container; ``spec`` adds fields such as ``hostname``, ``subdomain``),
        with ``ips`` as its status.podIP/podIPs when given (no kubelet ever runs it)."""
        pod = self.create("pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": metadata(name, namespace, labels),
            "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}],
                     **(spec or {})}})
        return self.set_pod_ips(namespace, name, ips) if ips else pod

    def set_pod_ips(self, namespace: str, name: str, ips: Sequence[str]) -> dict[str, Any]:
        """The Pod's status.podIP (``ips[0]``) and podIPs (one per family), as a kubelet
        reports them."""
        return self.patch("pods", name, {"status": {
            "podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips]}}, namespace, "status")

    def ensure_service_imports(self) -> None:
        """The ServiceImport resource (multicluster.x-k8s.io/v1alpha1) installed and served."""
        self.ensure("customresourcedefinitions", SERVICE_IMPORT_CRD)
        wait_until(self._serves_service_imports, what="ServiceImport is served")

    def _serves_service_imports(self) -> bool:
        try:
            self.items("serviceimports")
        except APIStatusError as failure:
            if failure.status not in (404, 429):  # not yet known, its storage starting
                raise
            return False
        return True

    def create_service_import(self, namespace: str, name: str,
                              spec: Mapping[str, Any]) -> dict[str, Any]:
        """A ServiceImport (after :meth:`ensure_service_imports`): ``spec`` as mcs-api's
        (``type``: ClusterSetIP or Headless, ``ips``, ``ports``)."""
        return self.create("serviceimports", {
            "apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
            "metadata": metadata(name, namespace), "spec": dict(spec)})


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(thing: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(thing, x509.Certificate):
        return thing.public_bytes(serialization.Encoding.PEM)
    return thing.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())


def _certificate(key: ec.EllipticCurvePrivateKey, common_name: str, *,
                 organization: str | None = None, issuer: x509.Certificate | None = None,
                 issuer_key: ec.EllipticCurvePrivateKey | None = None,
                 server_names: Sequence[str] = (), client: bool = False) -> x509.Certificate:
    """A certificate for ``key``: the CA's (self-signed) when ``issuer`` is None, else signed
    by it, for a server (``server_names``: IPs and DNS names) or a ``client``."""
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        subject.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    now = datetime.datetime.now(datetime.timezone.utc)
    signer = issuer_key or key
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name(subject))
               .issuer_name(issuer.subject if issuer else x509.Name(subject))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   signer.public_key()), False))
    if issuer is None:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), True)
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
    if server_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [_general_name(server_name) for server_name in server_names]), False)
    return builder.sign(signer, hashes.SHA256())


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _yaml_scalar(value: str) -> str:
    """``value`` as YAML: bare when plain (as kubectl writes it), else double-quoted."""
    return value if re.fullmatch(r"[A-Za-z0-9_/][\w./:@+=-]*", value) else json.dumps(value)


def _built_program(program: str) -> str:
    """``program`` as .ci/build-kube-apiserver built it (the Go bin directory first: a
    distribution's older etcd may be on PATH), else on PATH; skips (fails under CI) if none."""
    for directory in go_bin_directories():
        candidate = os.path.join(directory, program)
        if os.access(candidate, os.X_OK):
            return candidate
    return require_program(program)


class ControlPlane:
    """etcd and kube-apiserver on 127.0.0.1, their files in ``directory``; :meth:`start`."""

    host = "127.0.0.1"

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = os.path.abspath(directory)
        self.port = free_port()
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.url = f"https://{self.host}:{self.port}"
        self.etcd_url = f"http://{self.host}:{self.etcd_port}"
        self.admin_token = secrets.token_hex(16)
        self._etcd: subprocess.Popen | None = None
        self._apiserver: subprocess.Popen | None = None
        self._make_credentials()

    @staticmethod
    def require() -> dict[str, str]:
        """The paths of ``etcd`` and ``kube-apiserver``; skips the calling test when one is
        not built (fails under CI)."""
        return {program: _built_program(program) for program in ("etcd", "kube-apiserver")}

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def _write(self, name: str, data: bytes) -> str:
        path = self._path(name)
        with open(path, "wb") as file:
            file.write(data)
        return path

    def _make_credentials(self) -> None:
        """The test CA, the apiserver's serving certificate, the admin's client certificate,
        the service account signing key and the token file."""
        ca_key = _new_key()
        ca = _certificate(ca_key, "twisted-dns test CA")
        self.ca_pem = _pem(ca)
        self.ca_path = self._write("ca.crt", self.ca_pem)
        serving_key = _new_key()
        self._write("apiserver.key", _pem(serving_key))
        self._write("apiserver.crt", _pem(_certificate(
            serving_key, "kube-apiserver", issuer=ca, issuer_key=ca_key, server_names=[
                "127.0.0.1", "::1", KUBERNETES_SERVICE_IP, "localhost", "kubernetes",
                "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local"])))
        client_key = _new_key()
        self.client_key_pem = _pem(client_key)
        self.client_key_path = self._write("admin.key", self.client_key_pem)
        self.client_cert_pem = _pem(_certificate(
            client_key, CERTIFICATE_USER, organization="system:masters", issuer=ca,
            issuer_key=ca_key, client=True))
        self.client_cert_path = self._write("admin.crt", self.client_cert_pem)
        signing_key = _new_key()
        self._write("service-account.key", _pem(signing_key))
        self._write("service-account.pub", signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        self._write("tokens.csv", f'{self.admin_token},admin,admin,"system:masters"\n'.encode())

    def _spawn(self, name: str, arguments: list[str]) -> subprocess.Popen:
        """``arguments`` run with their output appended to ``NAME.log``."""
        with open(self._path(f"{name}.log"), "ab") as log:
            return subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.directory)

    def _log(self, name: str, lines: int = 30) -> str:
        """The last ``lines`` lines of ``NAME.log``."""
        try:
            with open(self._path(f"{name}.log"), encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except FileNotFoundError:
            return ""

    def _start_etcd(self) -> None:
        peer = f"http://{self.host}:{self.etcd_peer_port}"
        self._etcd = self._spawn("etcd", [
            self.require()["etcd"], "--name=test", f"--data-dir={self._path('etcd')}",
            f"--listen-client-urls={self.etcd_url}", f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=test={peer}", "--unsafe-no-fsync", "--log-level=warn"])

    def _start_apiserver(self, timeout: float) -> None:
        self._apiserver = self._spawn("kube-apiserver", [
            self.require()["kube-apiserver"],
            # the kubernetes Service's endpoint: the API forbids loopback ones, so a TEST-NET
            # address stands for the unreachable node (clients use url, not it)
            f"--bind-address={self.host}", f"--advertise-address={ADVERTISE_ADDRESS}",
            f"--secure-port={self.port}",
            f"--etcd-servers={self.etcd_url}",
            f"--service-cluster-ip-range={','.join(SERVICE_CLUSTER_IP_RANGES)}",
            "--authorization-mode=RBAC",
            f"--token-auth-file={self._path('tokens.csv')}",
            f"--client-ca-file={self.ca_path}",
            f"--tls-cert-file={self._path('apiserver.crt')}",
            f"--tls-private-key-file={self._path('apiserver.key')}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self._path('service-account.pub')}",
            f"--service-account-signing-key-file={self._path('service-account.key')}",
            # it would wait for a default ServiceAccount that only a controller-manager makes
            "--disable-admission-plugins=ServiceAccount",
            "--profiling=false"])
        wait_until(self._ready, timeout, self._not_ready)

    def _ready(self) -> bool:
        """Whether /readyz says ok and the ``kubernetes`` Service is there; raises if either
        process has exited."""
        for name, process in (("etcd", self._etcd), ("kube-apiserver", self._apiserver)):
            if process is None or process.poll() is not None:
                code = process and process.returncode
                raise RuntimeError(f"{name} exited ({code}):\n{self._log(name)}")
        api = APIClient(self.url, self.ca_pem, self.admin_token, timeout=5.0)
        try:
            api.get("services", "kubernetes", "default")
            return api.call("GET", "/readyz") == b"ok"
        except (OSError, APIStatusError):  # refused, not up yet, not ready
            return False

    def _not_ready(self) -> str:
        return (f"the control plane at {self.url} is not ready\n"
                f"etcd:\n{self._log('etcd')}\nkube-apiserver:\n{self._log('kube-apiserver')}")

    def start(self, timeout: float = TIMEOUT) -> ControlPlane:
        """Both processes started and the API ready (blocks; raises with their logs if not
        within ``timeout`` s)."""
        self._start_etcd()
        self._start_apiserver(timeout)
        return self

    def restart_apiserver(self, timeout: float = TIMEOUT) -> None:
        """kube-apiserver stopped and started again on the same port (etcd and so every
        object kept): what a watching client sees as the apiserver restarting."""
        _end(self._apiserver)
        self._start_apiserver(timeout)

    def stop(self) -> None:
        """Both processes stopped (the files stay in ``directory``)."""
        for process in (self._apiserver, self._etcd):
            _end(process)

    def client(self, token: str | None = None) -> APIClient:
        """An :class:`APIClient` as ``token`` (the admin's by default)."""
        return APIClient(self.url, self.ca_pem, token or self.admin_token)

    def write_kubeconfig(self, path: str, user: str = "token", context: str = "twisted-dns",
                         current_context: str | None = None, embed: bool = True) -> str:
        """A kubeconfig at ``path`` (returned), whose context ``context`` reaches this
        control plane as ``user``: ``"token"`` (the admin token), ``"cert"`` (the admin client
        certificate) or any other string, a bearer token (a service account's, say).

        It also holds the context :data:`UNREACHABLE_CONTEXT` (same user, a server that refuses
        connections); ``current_context`` (``context`` by default) may name it, to check that
        a reader uses the context it is given. ``embed=False`` names the CA and certificate
        files instead of embedding their data.
        """
        if context == UNREACHABLE_CONTEXT:
            raise ValueError(f"the context {context!r} is the unreachable one")

        def credential(key: str, pem: bytes, file: str) -> str:
            if embed:
                return f"{key}-data: {base64.b64encode(pem).decode('ascii')}"
            return f"{key}: {_yaml_scalar(file)}"

        if user == "cert":
            credentials = [credential("client-certificate", self.client_cert_pem,
                                      self.client_cert_path),
                           credential("client-key", self.client_key_pem, self.client_key_path)]
        else:
            credentials = [f"token: {_yaml_scalar(self.admin_token if user == 'token' else user)}"]
        authority = credential("certificate-authority", self.ca_pem, self.ca_path)
        lines = ["apiVersion: v1", "kind: Config", "clusters:"]
        for cluster, server in ((context, self.url),
                                (UNREACHABLE_CONTEXT, f"https://{self.host}:1")):
            lines += [f"- name: {_yaml_scalar(cluster)}", "  cluster:",
                      f"    server: {server}", f"    {authority}"]
        lines += ["users:", "- name: twisted-dns", "  user:"]
        lines += [f"    {line}" for line in credentials]
        lines.append("contexts:")
        for name in (context, UNREACHABLE_CONTEXT):
            lines += [f"- name: {_yaml_scalar(name)}", "  context:",
                      f"    cluster: {_yaml_scalar(name)}", "    user: twisted-dns",
                      "    namespace: default"]
        lines.append(f"current-context: {_yaml_scalar(current_context or context)}")
        with open(path, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        return path

    def service_account_token(self, namespace: str, name: str,
                              expiration_seconds: int = 3600) -> str:
        """A real token (TokenRequest API) of the ServiceAccount ``namespace/name``, created
        with its Namespace when missing and bound to :data:`READER_ROLE`: it may list and
        watch Services, EndpointSlices, Namespaces, Pods and ServiceImports, nothing else.
        Returns once the API grants it that (RBAC reads its rules from a cache)."""
        api = self.client()
        api.ensure("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": metadata(namespace)})
        api.ensure("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                       "metadata": metadata(name, namespace)})
        rbac = "rbac.authorization.k8s.io"
        api.ensure("clusterroles", {"apiVersion": f"{rbac}/v1", "kind": "ClusterRole",
                                    "metadata": metadata(READER_ROLE), "rules": READER_RULES})
        api.ensure("clusterrolebindings", {
            "apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding",
            "metadata": metadata(f"{READER_ROLE}:{namespace}:{name}"),
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": READER_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]})
        user = f"system:serviceaccount:{namespace}:{name}"

        def granted() -> bool:
            review = api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": user, "groups": ["system:serviceaccounts"],
                         "resourceAttributes": {"verb": "watch", "resource": "services"}}})
            return review["status"].get("allowed", False)

        wait_until(granted, what=f"RBAC grants {user} {READER_ROLE}")
        answer = api.request(
            "POST", resource_path("serviceaccounts", namespace, name, "token"),
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": expiration_seconds}})
        return answer["status"]["token"]


def _end(process: subprocess.Popen | None) -> None:
    """``process`` terminated (killed if it takes over 15 s) and reaped."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_shared: ControlPlane | None = None
_shared_failure: BaseException | None = None
_shared_lock = threading.Lock()


def shared_control_plane() -> ControlPlane:
    """This process's one control plane, started on first use (blocks: call it in a thread)
    and stopped at interpreter exit; tests keep apart by namespace. When it cannot start,
    every later call raises the same error at once instead of trying again."""
    global _shared, _shared_failure
    ControlPlane.require()  # skips (fails under CI) each test when they are not built
    with _shared_lock:
        if _shared_failure is not None:
            raise _shared_failure
        if _shared is None:
            plane = ControlPlane(tempfile.mkdtemp(prefix="twisted-dns-kube-"))
            atexit.register(shutil.rmtree, plane.directory, True)
            atexit.register(plane.stop)
            try:
                _shared = plane.start()
            except Exception as failure:
                _shared_failure = failure
                raise
        return _shared
