"""Listening sockets made by hand, so we choose their options before Twisted adopts them.

Twisted's ``listenUDP``/``listenTCP`` bind at once; a DNS listener needs more: SO_REUSEPORT
(several processes, or the ``multisocket`` plugin, on one port), a large UDP receive buffer
(under load the kernel's default drops queries), a dual-stack ``::`` socket with IPV6_V6ONLY
off, and, for port 0, one number free for both UDP and TCP.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from twisted_dns.addresses import join_host_port
from twisted_dns.errors import ConfigError

#: Default UDP receive buffer: room for a few thousand queries in flight.
DEFAULT_RCVBUF = 4 * 1024 * 1024
#: How often port 0 retries when the TCP port's number is taken for UDP.
PORT_ZERO_ATTEMPTS = 32

_NO_IPV6 = {errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT}


class ListenError(ConfigError):
    """An address we cannot listen on, as one line naming it (e.g. the port is in use)."""


@dataclass
class SocketPair:
    """A listening TCP socket and a bound UDP socket on the same address and port."""

    family: int
    host: str
    port: int
    tcp: socket.socket
    udp: socket.socket

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


def _resolve(host: str, port: int) -> tuple[int, tuple]:
    try:
        info = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_DGRAM, 0,
                                  socket.AI_NUMERICHOST | socket.AI_PASSIVE)
    except socket.gaierror:
        raise ListenError(f"cannot listen on {host!r}: not an IP address") from None
    family, _type, _proto, _name, sockaddr = info[0]
    return family, sockaddr


def _socket(family: int, kind: int, dual_stack: bool, reuseport: bool) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def set_rcvbuf(sock: socket.socket, size: int) -> int:
    """Ask for a ``size`` receive buffer (best effort); returns what the kernel granted."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        force = getattr(socket, "SO_RCVBUFFORCE", None)
        # Linux reports twice the size asked; below that, rmem_max capped it. Privileged
        # processes may go past the cap.
        if force is not None and granted < size:
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, size)
                granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            except OSError:
                pass
        return granted
    except OSError:
        return 0


def _bind(family: int, sockaddr: tuple, port: int, dual_stack: bool,
          reuseport: bool) -> tuple[socket.socket, socket.socket]:
    """Bind TCP then UDP on ``port``; raises OSError (closing both) on failure."""
    address = (sockaddr[0], port, *sockaddr[2:])
    tcp = _socket(family, socket.SOCK_STREAM, dual_stack, reuseport)
    try:
        tcp.bind(address)
        port = tcp.getsockname()[1]
        address = (sockaddr[0], port, *sockaddr[2:])
        udp = _socket(family, socket.SOCK_DGRAM, dual_stack, reuseport)
        try:
            udp.bind(address)
        except BaseException:
            udp.close()
            raise
    except BaseException:
        tcp.close()
        raise
    return tcp, udp


def bind_pair(host: str, port: int, *, reuseport: bool = True, rcvbuf: int = DEFAULT_RCVBUF,
              backlog: int = 1024) -> SocketPair:
    """Listen on TCP and UDP ``host:port``; ``host`` "" is every address, port 0 any port.

    Raises :class:`ListenError` with the address when it cannot.
    """
    if host == "":
        candidates = [(socket.AF_INET6, ("::", 0, 0, 0), True),
                      (socket.AF_INET, ("0.0.0.0", 0), False)]
    else:
        family, sockaddr = _resolve(host, port)
        candidates = [(family, sockaddr, family == socket.AF_INET6 and sockaddr[0] == "::")]
    # With port 0 the kernel picks a fresh number: SO_REUSEPORT there could only make us
    # share some other process's port by accident.
    reuse = reuseport and port != 0
    last_error: OSError | None = None
    for family, sockaddr, dual_stack in candidates:
        attempts = PORT_ZERO_ATTEMPTS if port == 0 else 1
        for _ in range(attempts):
            try:
                tcp, udp = _bind(family, sockaddr, port, dual_stack, reuse)
            except OSError as e:
                last_error = e
                if port == 0 and e.errno == errno.EADDRINUSE:
                    continue  # the TCP number is taken for UDP: draw again
                break
            else:
                try:
                    tcp.listen(backlog)
                except OSError as e:
                    tcp.close()
                    udp.close()
                    raise ListenError(f"listen tcp {join_host_port(sockaddr[0], port)}: "
                                      f"{e.strerror or e}") from None
                if rcvbuf:
                    set_rcvbuf(udp, rcvbuf)
                return SocketPair(family, udp.getsockname()[0], udp.getsockname()[1], tcp, udp)
        if host != "" or last_error is None or last_error.errno not in _NO_IPV6:
            break  # only "no IPv6 here" moves the wildcard on to 0.0.0.0
    assert last_error is not None
    shown = join_host_port(host if host else "", port)
    raise ListenError(f"listen {shown}: {last_error.strerror or last_error}") from None
