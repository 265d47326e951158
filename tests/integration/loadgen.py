"""A query load for reload tests, run in its own process so the server's reactor is free.

    python loadgen.py HOST PORT COUNT EVERY

Sends COUNT queries for ``example.org A`` one after the other, each awaited (2 s at most):
nine in ten over UDP, one in ten over one persistent TCP connection. Prints ``progress N``
after every EVERY answers (the test reloads on each), then one JSON line of totals.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from collections import Counter

import dns.message
import dns.rcode

TIMEOUT = 2.0


def query(qid: int) -> bytes:
    message = dns.message.make_query("example.org", "A")
    message.id = qid
    return message.to_wire()


def ask_udp(sock: socket.socket, qid: int) -> dns.message.Message | None:
    sock.send(query(qid))
    while True:
        try:
            data = sock.recv(65535)
        except TimeoutError:
            return None
        reply = dns.message.from_wire(data)
        if reply.id == qid:
            return reply  # (an older, late reply would have another ID: skip it)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def ask_tcp(sock: socket.socket, qid: int) -> dns.message.Message:
    wire = query(qid)
    sock.sendall(struct.pack("!H", len(wire)) + wire)
    (size,) = struct.unpack("!H", recv_exactly(sock, 2))
    return dns.message.from_wire(recv_exactly(sock, size))


def main(host: str, port: int, count: int, every: int) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(TIMEOUT)
    udp.connect((host, port))
    tcp = socket.create_connection((host, port), timeout=TIMEOUT)
    totals: Counter[str] = Counter()
    for i in range(count):
        qid = i % 65536
        try:
            reply = ask_tcp(tcp, qid) if i % 10 == 9 else ask_udp(udp, qid)
        except (OSError, ConnectionError) as exc:
            totals[f"error {type(exc).__name__}"] += 1
            continue
        if reply is None:
            totals["timeout"] += 1
            continue
        totals[dns.rcode.to_text(reply.rcode())] += 1
        if (i + 1) % every == 0:
            print(f"progress {i + 1}", flush=True)
    print(json.dumps(dict(totals)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
