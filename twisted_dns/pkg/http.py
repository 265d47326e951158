"""A small HTTP endpoint on ``[HOST]:PORT``, as *health*, *ready* and *prometheus* serve.

Addresses are written as Go's ``net.SplitHostPort`` reads them (``:8080``, ``localhost:8091``,
``[::1]:8181``) and rejected with its messages. An empty host means every address, IPv6 and
IPv4 alike, as Go listens. Requests are not access-logged: probes come every second.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.web import resource, server

from twisted_dns.addresses import split_host_port
from twisted_dns.pkg import sharedports

#: (status, body) for one request; a str body is sent UTF-8 encoded
Answer = tuple[int, str | bytes]
#: what health and ready answer with (Go's default for a plain string body)
TEXT_PLAIN = b"text/plain; charset=utf-8"


def port_number(port: str) -> int:
    """A port as a number: digits, or a TCP service name (``http``); ValueError otherwise."""
    if port.isdigit():
        number = int(port)
        if number > 65535:
            raise ValueError(f"invalid port {port!r}")
        return number
    try:
        return socket.getservbyname(port, "tcp")
    except OSError:
        raise ValueError(f"unknown port {port!r}") from None


class _Path(resource.Resource):
    """Answers every method on exactly one path (Go's ``mux.HandleFunc("/health", ...)``)."""

    isLeaf = True

    def __init__(self, answer: Callable[[], Answer], content_type: bytes = TEXT_PLAIN) -> None:
        super().__init__()
        self._answer = answer
        self._content_type = content_type

    def render(self, request: Any) -> bytes:
        status, body = self._answer()
        request.setResponseCode(status)
        request.setHeader(b"content-type", self._content_type)
        return body.encode("utf-8") if isinstance(body, str) else body


class _NotFound(resource.Resource):
    isLeaf = True

    def render(self, request: Any) -> bytes:
        request.setResponseCode(404)
        request.setHeader(b"content-type", TEXT_PLAIN)
        return b"404 page not found\n"


class _Root(resource.Resource):
    def __init__(self, paths: dict[bytes, resource.Resource]) -> None:
        super().__init__()
        self._paths = paths
        self._not_found = _NotFound()

    def getChildWithDefault(self, path: bytes, request: Any) -> resource.Resource:  # noqa: N802
        # Only the exact path answers: "/health/" or "/health/x" are 404s, as in Go's mux.
        if request.postpath:
            return self._not_found
        return self._paths.get(path, self._not_found)

    def render(self, request: Any) -> bytes:
        return self._not_found.render(request)


class _QuietSite(server.Site):
    noisy = False

    def log(self, request: Any) -> None:
        """No access log: health probes would flood it."""


class HTTPEndpoint:
    """One listening HTTP server answering fixed paths (``{"health": answer}``).

    Every path answers with ``content_type``.
    """

    def __init__(self, address: str, paths: dict[str, Callable[[], Answer]],
                 reactor: Any, content_type: bytes = TEXT_PLAIN) -> None:
        self.address = address
        self.host, self._port_text = split_host_port(address)
        self.reactor = reactor
        self.site = _QuietSite(_Root({name.encode(): _Path(answer, content_type)
                                      for name, answer in paths.items()}))
        #: the next configuration's endpoint with this key takes the open port over (reload)
        self.key = (reactor, self.host, self._port_text, tuple(sorted(paths)))
        self.listening: Any = None

    @property
    def port(self) -> int | None:
        """The port actually listened on (useful with ``:0``), None when not listening."""
        return self.listening.getHost().port if self.listening is not None else None

    def start(self) -> None:
        """Start listening; raises ValueError (bad port) or CannotListenError."""
        if self.listening is not None:
            return
        port = port_number(self._port_text)
        self.listening = sharedports.listen(self.key, self.site,
                                            lambda site: self._listen(port, site))

    def _listen(self, port: int, site: server.Site) -> Any:
        if self.host:
            return self.reactor.listenTCP(port, site, interface=self.host)
        try:  # every address: a dual-stack IPv6 socket, else IPv4 only
            return self.reactor.listenTCP(port, site, interface="::")
        except CannotListenError as exc:
            if getattr(exc.socketError, "errno", None) in (errno.EADDRINUSE, errno.EACCES):
                raise
            return self.reactor.listenTCP(port, site, interface="")

    def stop(self) -> defer.Deferred:
        """Stop listening; fires when the port is closed (at once when handed over)."""
        listening, self.listening = self.listening, None
        if listening is None:
            return defer.succeed(None)
        return defer.maybeDeferred(listening.stopListening)


def address_arg(c: Any, default: str) -> str:
    """The optional ADDRESS of an HTTP plugin's line (health, ready, prometheus), checked
    like Go's ``net.SplitHostPort``, its port too (so ``--validate`` catches it); errors at
    the line's FILE:LINE."""
    args = c.remaining_args()
    if len(args) > 1:
        raise c.arg_err()
    if not args:
        return default
    try:
        port_number(split_host_port(args[0])[1])
    except ValueError as exc:
        raise c.err(str(exc)) from None
    return args[0]
