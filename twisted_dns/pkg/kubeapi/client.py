"""Requests to the Kubernetes API on Twisted's HTTP client: JSON out, nothing blocking.

    client = KubeClient(reactor, config, qps=None, burst=None, max_inflight=None)
    services = await client.get("/api/v1/services", {"limit": "500"})
    await client.watch("/api/v1/services", {"watch": "1", ...}, on_event)   # until it ends
    await client.close()

What it copies from client-go (``rest.Config`` through ``kubernetes.NewForConfig``, as CoreDNS
builds it): ``Accept: application/json``, a User-Agent, bearer (re-read from ``token_file``
at most once a minute of reactor time) or basic authentication; a token bucket of ``qps``
and ``burst`` (5 and 10 when unset) on ``get`` and never on ``watch``, and at most
``max_inflight`` requests waiting for their response headers, watches included, like
CoreDNS's round tripper (a watch's open stream holds no slot). Connections are kept open
and reused (``HTTPConnectionPool(persistent=True)``); TLS is ``optionsForClientTLS`` with the
configured CA (the platform's without one) and client certificate.
"""

from __future__ import annotations

import base64
import json
import platform
import sys
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import twisted
from twisted.internet import defer, protocol, ssl, task
from twisted.internet.error import ConnectingCancelledError
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    PotentialDataLoss,
    ResponseDone,
    ResponseNeverReceived,
    readBody,
)
from twisted.web.http_headers import Headers
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from twisted_dns import __version__
from twisted_dns.pkg.kubeapi.config import ClusterConfig, client_certificate, trust_root

USER_AGENT = (f"twisted-dns/{__version__} ({sys.platform}/{platform.machine()}) "
              f"python/{platform.python_version()} twisted/{twisted.__version__}")
#: client-go's rest.DefaultQPS and rest.DefaultBurst
DEFAULT_QPS, DEFAULT_BURST = 5.0, 10
#: client-go's cachingTokenSource period for a token file
TOKEN_REREAD = 60.0
#: client-go's dialer timeout
CONNECT_TIMEOUT = 30.0


class APIError(Exception):
    """A non-2xx answer (or a watch's ERROR event): the HTTP ``status``, the ``reason``
    phrase (a watch ERROR: the Status's reason), the raw ``body`` and, from the
    ``Status`` JSON in it, its ``message``."""

    def __init__(self, status: int, reason: str, body: bytes) -> None:
        self.status, self.reason, self.body = status, reason, body
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict) and document.get("message"):
            self.message = str(document["message"])
        else:
            self.message = body.decode("utf-8", "replace").strip()[:200] or reason
        super().__init__(f"{status} {reason}: {self.message}")


class TokenBucket:
    """client-go's token bucket (``flowcontrol.NewTokenBucketRateLimiter``): ``burst``
    requests at once, then ``qps`` a second of ``clock`` time; a caller without a token
    waits its turn, and gives its reservation back when cancelled."""

    def __init__(self, clock: Any, qps: float, burst: int) -> None:
        self._clock, self._qps, self._burst = clock, qps, burst
        self._tokens = float(burst)
        self._at = clock.seconds()

    def _refill(self) -> None:
        now = self._clock.seconds()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._qps)
        self._at = now

    async def take(self) -> None:
        self._refill()
        self._tokens -= 1
        if self._tokens >= 0:
            return
        try:
            await task.deferLater(self._clock, -self._tokens / self._qps)
        except defer.CancelledError:
            self._refill()
            self._tokens = min(self._burst, self._tokens + 1)
            raise


class _Authorization:
    """The Authorization header: basic, or a bearer token that follows ``token_file``
    (re-read at most once every TOKEN_REREAD seconds; the last good token otherwise)."""

    def __init__(self, clock: Any, config: ClusterConfig) -> None:
        self._clock, self._file, self._token = clock, config.token_file, config.token
        self._read_at: float | None = None
        self._basic = None
        if config.username is not None:
            pair = f"{config.username}:{config.password}".encode()
            self._basic = b"Basic " + base64.b64encode(pair)

    def header(self) -> bytes | None:
        if self._basic is not None:
            return self._basic
        now = self._clock.seconds()
        if self._file and (self._read_at is None or now - self._read_at >= TOKEN_REREAD):
            self._read_at = now
            try:
                with open(self._file, encoding="utf-8") as handle:
                    self._token = handle.read().strip() or self._token
            except OSError:
                pass  # client-go keeps the token it has
        return f"Bearer {self._token}".encode() if self._token else None


@implementer(IPolicyForHTTPS)
class _ClusterTLS:
    """The API server's TLS: its CA (or the platform's), our certificate, or no
    verification at all with ``insecure``."""

    def __init__(self, config: ClusterConfig) -> None:
        self._trust = trust_root(config.ca_pem)
        self._certificate = client_certificate(config.cert_pem, config.key_pem)
        self._insecure = config.insecure
        self._creators: dict[tuple[bytes, int], Any] = {}

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:  # noqa: N802 (Twisted's)
        creator = self._creators.get((hostname, port))
        if creator is None:
            if self._insecure:
                mine = self._certificate
                creator = ssl.CertificateOptions(
                    verify=False, privateKey=mine and mine.privateKey.original,
                    certificate=mine and mine.original)
            else:
                creator = ssl.optionsForClientTLS(hostname.decode("ascii"), self._trust,
                                                  self._certificate)
            self._creators[(hostname, port)] = creator
        return creator


class _JSONLines(protocol.Protocol):
    """A watch's body: one JSON object per line, each given to ``on_event`` as it completes
    (a line may span chunks, a chunk hold many lines). ``done`` fires at the body's end,
    fails with the first bad line or ``on_event``'s exception, which also drops the stream."""

    def __init__(self, on_event: Callable[[dict], Any]) -> None:
        self._on_event = on_event
        self._partial: list[bytes] = []
        self._cancelled = False
        self.done: defer.Deferred[None] = defer.Deferred(self._cancel)

    def _cancel(self, _: defer.Deferred[None]) -> None:
        self._cancelled = True  # done fails with CancelledError, whatever the stream says
        self.transport.stopProducing()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted's)
        if self.done.called:
            return
        self._partial.append(data)
        if b"\n" not in data:
            return
        *lines, rest = b"".join(self._partial).split(b"\n")
        self._partial = [rest]
        for line in lines:
            if self.done.called or not self._deliver(line):
                return

    def _deliver(self, line: bytes) -> bool:
        if not line.strip():
            return True
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            why = ValueError(f"a watch line is not a JSON object: {line[:80]!r}")
            return self._stop(Failure(why))
        try:
            self._on_event(event)
        except Exception:
            return self._stop(Failure())
        return True

    def _stop(self, failure: Failure) -> bool:
        self.done.errback(failure)
        self.transport.stopProducing()
        return False

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:  # noqa: N802
        if self.done.called or self._cancelled:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            if self._deliver(b"".join(self._partial)):
                self.done.callback(None)
        else:
            self.done.errback(reason)


class KubeClient:
    """GET and watch requests to one API server (``config``), on ``reactor``.

    ``qps`` and ``burst`` as client-go takes them: None or 0 for its defaults (5 and 10), a
    negative ``qps`` for no limit, and a ``qps`` without a ``burst`` refused. ``max_inflight``:
    None or 0 for no cap."""

    def __init__(self, reactor: Any, config: ClusterConfig, qps: float | None = None,
                 burst: int | None = None, max_inflight: int | None = None) -> None:
        if qps and qps > 0 and not burst:
            # kubernetes.NewForConfig's rule, so CoreDNS's with apiserver_qps alone
            raise ValueError("burst is required to be greater than 0 when qps is set")
        if burst is not None and burst < 0:
            raise ValueError("burst must be >= 0")
        qps = qps or DEFAULT_QPS
        self._bucket = TokenBucket(reactor, qps, burst or DEFAULT_BURST) if qps > 0 else None
        self._inflight = defer.DeferredSemaphore(max_inflight) if max_inflight else None
        self._base = config.server.rstrip("/")
        self._authorization = _Authorization(reactor, config)
        self._pool = HTTPConnectionPool(reactor, persistent=True)
        self._agent = Agent(reactor, contextFactory=_ClusterTLS(config),
                            connectTimeout=CONNECT_TIMEOUT, pool=self._pool)
        self._pending: set[defer.Deferred[Any]] = set()

    def get(self, path: str, params: Mapping[str, str] | None = None) -> defer.Deferred[dict]:
        """The JSON object at ``path``; APIError for a non-2xx answer. Rate-limited."""
        return self._track(self._get(path, params))

    def watch(self, path: str, params: Mapping[str, str] | None,
              on_event: Callable[[dict], Any]) -> defer.Deferred[None]:
        """Stream ``path`` (``params`` should hold ``watch``), calling ``on_event`` with each
        event; fires when the server ends the stream, fails when it breaks, when a line is
        not JSON or when ``on_event`` raises. Cancelling it closes the connection."""
        return self._track(self._watch(path, params, on_event))

    def close(self) -> defer.Deferred[None]:
        """Cancel every request in flight and close the kept-open connections."""
        for pending in list(self._pending):
            pending.cancel()
        return self._pool.closeCachedConnections()

    def _track(self, coroutine: Any) -> defer.Deferred[Any]:
        request = defer.Deferred.fromCoroutine(coroutine)
        if not request.called:
            self._pending.add(request)
            request.addBoth(lambda result: (self._pending.discard(request), result)[1])
        return request

    async def _get(self, path: str, params: Mapping[str, str] | None) -> dict:
        if self._bucket is not None:
            await self._bucket.take()
        response = await self._send(path, params)
        body = await readBody(response)
        if not 200 <= response.code < 300:
            raise APIError(response.code, response.phrase.decode("latin-1"), body)
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ValueError(f"GET {path}: the answer is not a JSON object")
        return document

    async def _watch(self, path: str, params: Mapping[str, str] | None,
                     on_event: Callable[[dict], Any]) -> None:
        response = await self._send(path, params)
        if not 200 <= response.code < 300:
            body = await readBody(response)
            raise APIError(response.code, response.phrase.decode("latin-1"), body)
        lines = _JSONLines(on_event)
        response.deliverBody(lines)
        await lines.done

    async def _send(self, path: str, params: Mapping[str, str] | None) -> Any:
        """The response to ``GET path?params`` (its headers; the body is the caller's),
        within the max_inflight slots."""
        url = self._base + path + (f"?{urlencode(params)}" if params else "")
        headers = Headers({b"accept": [b"application/json"],
                           b"user-agent": [USER_AGENT.encode()]})
        authorization = self._authorization.header()
        if authorization is not None:
            headers.addRawHeader(b"authorization", authorization)
        if self._inflight is not None:
            await self._inflight.acquire()
        try:
            return await self._agent.request(b"GET", url.encode("ascii"), headers)
        except ConnectingCancelledError:
            raise defer.CancelledError() from None  # cancelled by us, not a failure
        except ResponseNeverReceived as error:
            if any(reason.check(defer.CancelledError) for reason in error.reasons):
                raise defer.CancelledError() from None
            raise
        finally:
            if self._inflight is not None:
                self._inflight.release()
