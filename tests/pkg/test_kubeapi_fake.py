"""A FAKE kube-apiserver, and the certificates to reach it over TLS, for the kubeapi tests.

Not a test module (it holds none): what ``test_kubeapi_client`` and ``test_kubeapi_reflector``
talk to. It is a twisted.web Resource on 127.0.0.1 speaking the parts of the API protocol a
reflector uses, and it can be told to misbehave:

- collections of objects by path, each change bumping a global resourceVersion and going to
  the open watches of that path (every event line is written as two chunks, so that a line
  always spans chunks);
- lists in pages (``limit`` capped by ``page_size``) with ``continue`` tokens, which
  ``compact()`` (etcd's compaction) expires with a 410 Status, as it expires old watch
  versions with an ERROR event;
- ``fail(operation, status)``: the next list or watch answers that HTTP status;
- ``bookmark()``, ``watch_error()``, ``send()`` (raw bytes), ``end_watches()`` (a clean end,
  like timeoutSeconds), ``drop_watches()`` (the connection aborted);
- ``hold = True`` parks list requests until ``release()``;
- ``when(predicate)``: a Deferred that fires once the predicate holds, checked after every
  request and every watch that closes (no polling, no sleeping).

The real kube-apiserver is the lead's end-to-end peer; this fake makes each behaviour of the
protocol happen on demand.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import defer, reactor, ssl
from twisted.web import http, resource, server


@dataclasses.dataclass
class Seen:
    """One request as the fake received it."""

    path: str
    args: dict[str, str]
    headers: dict[str, str]
    client_cn: str | None


class _Channel(http.HTTPChannel):
    def connectionMade(self) -> None:
        super().connectionMade()
        self.site.fake.channels.add(self)

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        self.site.fake.channels.discard(self)
        self.site.fake.changed()


class FakeAPIServer(resource.Resource):
    """A fake kube-apiserver: see the module's docstring."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.version = 100
        self.collections: dict[str, dict[str, dict]] = {}
        self.history: list[tuple[int, str, str, dict]] = []  # version, path, type, object
        self.compacted = 0
        self.page_size = 500
        self.failures: list[tuple[str, int]] = []
        self.canned: dict[str, tuple[int, bytes]] = {}
        self.requests: list[Seen] = []
        self.watches: list[Any] = []  # the open watch requests
        self.hold = False
        self.held: list[Any] = []
        self.channels: set[http.HTTPChannel] = set()
        self._waiters: list[tuple[Callable[[], bool], defer.Deferred[None]]] = []
        self._port: Any = None

    # -- running ---------------------------------------------------------------------------

    def listen(self, certificates: Certificates | None = None, require_client: bool = True,
               host: str = "127.0.0.1") -> str:
        """Listen on an OS-chosen port of ``host``; the server URL (https with
        ``certificates``, then asking for a client certificate unless not ``require_client``)."""
        site = server.Site(self)
        site.protocol = _Channel
        site.fake = self
        if certificates is None:
            self._port = reactor.listenTCP(0, site, interface=host)
            scheme = "http"
        else:
            self._port = reactor.listenSSL(0, site, certificates.server_options(require_client),
                                           interface=host)
            scheme = "https"
        name = f"[{host}]" if ":" in host else host
        return f"{scheme}://{name}:{self._port.getHost().port}"

    async def stop(self) -> None:
        """Stop listening and drop every connection; returns once all are gone."""
        await self._port.stopListening()
        for channel in list(self.channels):
            channel.transport.abortConnection()
        await self.when(lambda: not self.channels)

    def when(self, predicate: Callable[[], bool]) -> defer.Deferred[None]:
        if predicate():
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append((predicate, waiter))
        return waiter

    def changed(self) -> None:
        for entry in list(self._waiters):
            if entry[0]():
                self._waiters.remove(entry)
                entry[1].callback(None)

    # -- the data ----------------------------------------------------------------------------

    def change(self, path: str, event_type: str, obj: dict) -> dict:
        """Add, modify or delete ``obj`` (by namespace/name) in ``path``; sends the event."""
        self.version += 1
        obj = json.loads(json.dumps(obj))
        metadata = obj.setdefault("metadata", {})
        metadata["resourceVersion"] = str(self.version)
        key = f"{metadata.get('namespace', '')}/{metadata['name']}"
        collection = self.collections.setdefault(path, {})
        if event_type == "DELETED":
            collection.pop(key, None)
        else:
            collection[key] = obj
        self.history.append((self.version, path, event_type, obj))
        for watch in self.open_watches(path):
            self._event(watch, event_type, obj)
        return obj

    def compact(self) -> None:
        """Forget every version up to now: old continue tokens and watch versions are gone."""
        self.compacted = self.version

    def fail(self, operation: str, status: int) -> None:
        """The next ``operation`` ("list" or "watch") answers HTTP ``status``."""
        self.failures.append((operation, status))

    def open_watches(self, path: str | None = None) -> list[Any]:
        return [w for w in self.watches if path is None or w.path.decode() == path]

    def bookmark(self, path: str | None = None) -> None:
        for watch in self.open_watches(path):
            if watch.args.get(b"allowWatchBookmarks") == [b"true"]:
                self._event(watch, "BOOKMARK", {"kind": "Service", "metadata": {
                    "resourceVersion": str(self.version)}})

    def watch_error(self, code: int, path: str | None = None) -> None:
        for watch in self.open_watches(path):
            self._event(watch, "ERROR", _status(code, "Expired" if code == 410 else "Error"))

    def send(self, *chunks: bytes) -> None:
        for watch in self.open_watches():
            for chunk in chunks:
                watch.write(chunk)

    def end_watches(self) -> None:
        for watch in self.open_watches():
            watch.finish()

    def drop_watches(self) -> None:
        for watch in self.open_watches():
            watch.channel.transport.abortConnection()

    def release(self) -> None:
        held, self.held = self.held, []
        for request in held:
            request.write(self._list(request))
            request.finish()

    # -- serving -----------------------------------------------------------------------------

    def render_GET(self, request: Any) -> Any:
        try:
            return self._render(request)
        finally:
            self.changed()

    def _render(self, request: Any) -> Any:
        path = request.path.decode()
        args = {k.decode(): v[0].decode() for k, v in request.args.items()}
        peer = getattr(request.channel.transport, "getPeerCertificate", lambda: None)()
        self.requests.append(Seen(
            path, args, {k.decode().lower(): v[0].decode()
                         for k, v in request.requestHeaders.getAllRawHeaders()},
            peer.get_subject().CN if peer is not None else None))
        request.setHeader(b"content-type", b"application/json")
        if path in self.canned:
            request.setResponseCode(self.canned[path][0])
            return self.canned[path][1]
        operation = "watch" if args.get("watch") in ("1", "true") else "list"
        if self.failures and self.failures[0][0] == operation:
            code = self.failures.pop(0)[1]
            request.setResponseCode(code)
            return json.dumps(_status(code, "Scripted")).encode()
        if operation == "watch":
            return self._watch(request, args)
        if self.hold:
            self.held.append(request)
            return server.NOT_DONE_YET
        return self._list(request)

    def _list(self, request: Any) -> bytes:
        path = request.path.decode()
        args = {k.decode(): v[0].decode() for k, v in request.args.items()}
        items = [self.collections.get(path, {})[key]
                 for key in sorted(self.collections.get(path, {}))]
        snapshot, offset = self.version, 0
        if "continue" in args:
            snapshot, offset = (int(part) for part in
                                base64.b64decode(args["continue"]).decode().split(":"))
            if snapshot <= self.compacted:
                request.setResponseCode(410)
                return json.dumps(_status(410, "Expired")).encode()
        size = min(int(args["limit"]), self.page_size) if args.get("limit") else len(items)
        page = items[offset:offset + size]
        metadata = {"resourceVersion": str(snapshot)}
        if offset + size < len(items):
            token = f"{snapshot}:{offset + size}".encode()
            metadata["continue"] = base64.b64encode(token).decode()
        return json.dumps({"kind": "List", "apiVersion": "v1", "metadata": metadata,
                           "items": page}).encode()

    def _watch(self, request: Any, args: dict[str, str]) -> Any:
        since = int(args.get("resourceVersion") or self.version)
        request.path_text = request.path.decode()
        request.write(b"")  # the headers, at once, as the API server sends them
        if since < self.compacted:
            self._event(request, "ERROR", _status(410, "Expired"))
            request.finish()
            return server.NOT_DONE_YET
        self.watches.append(request)
        request.notifyFinish().addBoth(self._closed, request)
        for version, path, event_type, obj in self.history:
            if version > since and path == request.path_text:
                self._event(request, event_type, obj)
        return server.NOT_DONE_YET

    def _closed(self, _: Any, request: Any) -> None:
        self.watches.remove(request)
        self.changed()

    def _event(self, request: Any, event_type: str, obj: dict) -> None:
        line = json.dumps({"type": event_type, "object": obj}).encode() + b"\n"
        request.write(line[:len(line) // 2])
        request.write(line[len(line) // 2:])


def _status(code: int, reason: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": f"fake: {reason.lower()} ({code})"}


def service(name: str, namespace: str = "default", **spec: Any) -> dict:
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


class Certificates:
    """A CA, the fake's certificate (127.0.0.1, ::1 and localhost) and a client certificate
    (CN twisted-dns) signed by it, plus a second, unrelated CA; all PEM, made with
    cryptography."""

    def __init__(self) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-ca")])
        self.ca_pem = _pem(self._sign(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True))
        other_key = ec.generate_private_key(ec.SECP256R1())
        other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other-ca")])
        self.other_ca_pem = _pem(self._sign(other_name, other_key.public_key(), other_name,
                                            other_key, ca=True))
        self.server_cert_pem, self.server_key_pem = self._leaf("fake-apiserver", ca_name,
                                                               ca_key, server=True)
        self.client_cert_pem, self.client_key_pem = self._leaf("twisted-dns", ca_name, ca_key,
                                                               server=False)

    def server_options(self, require_client: bool) -> Any:
        mine = ssl.PrivateCertificate.loadPEM(self.server_cert_pem + self.server_key_pem)
        if require_client:
            return mine.options(ssl.Certificate.loadPEM(self.ca_pem))
        return mine.options()

    def _leaf(self, name: str, issuer: x509.Name, issuer_key: Any,
              server: bool) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        certificate = self._sign(subject, key.public_key(), issuer, issuer_key, ca=False,
                                 server=server)
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return _pem(certificate), key_pem

    @staticmethod
    def _sign(subject: x509.Name, public_key: Any, issuer: x509.Name, issuer_key: Any,
              ca: bool, server: bool = False) -> x509.Certificate:
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                  critical=True))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)
