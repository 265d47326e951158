"""Yardstick: the bare-Twisted ceiling, a UDP server that does almost no DNS work.

    python bench/yardsticks/udp_echo.py PORT [--rcvbuf BYTES] [--sendto]

Each datagram is answered with the smallest valid reply that can be cut from the
query's own bytes: the header with QR set (ID, opcode and RD kept), QDCOUNT 1 and
no other records, followed by the query's first question copied verbatim.  No
answer, no EDNS.  What this costs per query is the price of Twisted's reactor and
a ``recvfrom``/``sendto`` pair, which no Twisted DNS server can beat.

With ``--sendto`` replies go straight to the socket's ``sendto`` instead of through
``transport.write``, which re-validates the address text on every call; pydns's UDP
writer does the same, so that variant is the ceiling for pydns's own approach.
"""

from __future__ import annotations

import argparse
import socket

from twisted.internet import protocol, reactor

_COUNTS = b"\x00\x01\x00\x00\x00\x00\x00\x00"  # QD=1, AN=NS=AR=0


def reply_for(query: bytes) -> bytes | None:
    """The minimal reply to ``query``, or None when it has no parsable question."""
    if len(query) < 12 or query[2] & 0x80 or query[4:6] == b"\x00\x00":
        return None
    end = 12
    n = len(query)
    while end < n:
        length = query[end]
        if length == 0:
            end += 1
            break
        if length & 0xC0:  # no compression pointers in a question we copy
            return None
        end += 1 + length
    else:
        return None
    end += 4  # QTYPE, QCLASS
    if end > n:
        return None
    flags = bytes(((query[2] & 0x79) | 0x80, 0x80))  # QR; opcode, RD kept; RA; NOERROR
    return query[:2] + flags + _COUNTS + query[12:end]


class Echo(protocol.DatagramProtocol):
    noisy = False

    def __init__(self, raw_sendto: bool = False) -> None:
        self.raw_sendto = raw_sendto

    def startProtocol(self) -> None:  # noqa: N802 - Twisted's name
        self.send = self.transport.socket.sendto if self.raw_sendto else self.transport.write

    def datagramReceived(self, data: bytes, addr: tuple[str, int]) -> None:  # noqa: N802
        reply = reply_for(data)
        if reply is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs more per datagram
                self.send(reply, addr)
            except OSError:  # a full send buffer: UDP may drop, the client retries
                pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--rcvbuf", type=int, default=4 << 20,
                    help="SO_RCVBUF for the UDP socket (0 keeps the kernel default)")
    ap.add_argument("--sendto", action="store_true",
                    help="reply with the socket's sendto, bypassing transport.write")
    args = ap.parse_args(argv)
    port = reactor.listenUDP(args.port, Echo(args.sendto), interface="127.0.0.1")
    if args.rcvbuf:
        port.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    reactor.run()


if __name__ == "__main__":
    main()
