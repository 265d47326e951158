"""Yardstick: twisted.names serving a one-record authoritative zone over UDP.

    python bench/yardsticks/names_server.py PORT [--rcvbuf BYTES]

Serves ``example.org. 3600 IN A 127.0.0.1`` (plus the zone's SOA, which
``FileAuthority`` needs to know its origin) from memory, with no cache and no
recursion, on 127.0.0.1:PORT over UDP only, until SIGTERM.  This is what stock
Twisted offers for DNS; the pydns benchmark target is compared against it.
"""

from __future__ import annotations

import argparse
import socket

from twisted.internet import reactor
from twisted.names import authority, dns, server

ORIGIN = b"example.org"


class OneRecordAuthority(authority.FileAuthority):
    """A FileAuthority whose zone is built in memory instead of read from a file."""

    def loadFile(self, filename: object) -> None:  # noqa: N802 - Twisted's name
        soa = dns.Record_SOA(
            mname=b"ns." + ORIGIN, rname=b"hostmaster." + ORIGIN, serial=1,
            refresh=3600, retry=600, expire=86400, minimum=3600, ttl=3600,
        )
        self.soa = (ORIGIN, soa)
        self.records = {
            ORIGIN: [soa, dns.Record_A("127.0.0.1", ttl=3600)],
        }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--rcvbuf", type=int, default=4 << 20,
                    help="SO_RCVBUF for the UDP socket (0 keeps the kernel default)")
    args = ap.parse_args(argv)

    factory = server.DNSServerFactory(authorities=[OneRecordAuthority(None)], verbose=0)
    factory.noisy = False
    proto = dns.DNSDatagramProtocol(controller=factory)
    proto.noisy = False
    port = reactor.listenUDP(args.port, proto, interface="127.0.0.1")
    if args.rcvbuf:
        port.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    reactor.run()


if __name__ == "__main__":
    main()
