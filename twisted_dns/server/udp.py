"""DNS over UDP: one datagram in, the handler, one datagram back to the sender."""

from __future__ import annotations

from functools import partial
from typing import Any

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from twisted_dns.response import UDPWriter
from twisted_dns.server.handler import QueryHandler

log = Logger(namespace="server")

#: Read whole datagrams: a query over UDP may carry up to 64 KiB (Twisted's default is 8 KiB).
MAX_DATAGRAM = 65535


class DNSDatagramProtocol(DatagramProtocol):
    """Feeds each datagram to the handler; nothing a datagram does can stop the port."""

    def __init__(self, handler: QueryHandler, server: tuple[str, int]) -> None:
        self.handler = handler
        #: the listening address, reported as the request's server address
        self.server = server
        self._make_writer: Any = None

    def startProtocol(self) -> None:  # noqa: N802 - Twisted's name
        # Replies go straight to the socket's sendto (see UDPWriter); a transport without a
        # socket (tests) is written to. One C-level partial per port, not a closure per query.
        sock = getattr(self.transport, "socket", None)
        send = sock.sendto if sock is not None else self.transport.write
        self._make_writer = partial(UDPWriter, send)

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:  # noqa: N802
        try:
            self.handler.handle(datagram, addr, self.server, "udp", self._make_writer)
        except Exception:
            log.failure("datagram from {addr} not handled", addr=addr)
