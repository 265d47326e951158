"""In-process cost of the server's async path (a plugin returning a Deferred), no sockets.

    python bench/async_path.py [--queries N] [--batch B]

``QueryHandler.handle`` is fed the same query N times, B at a time, on the real reactor
(not running: only its timer bookkeeping is used); the plugin either answers at once
(``sync``: returns an rcode) or returns a Deferred that is fired after each batch of B
(``async``: as forward does when the upstream answers). The difference is what the server
spends per query on waiting: Deferred plumbing and the deadline. Best of 5 rounds each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import dns.message
from twisted.internet import defer, reactor

sys.path.append(str(Path(__file__).resolve().parent.parent))  # for tests.server

from tests.server import Plugin, block
from twisted_dns.server.handler import QueryHandler
from twisted_dns.server.routing import ZoneRouter

CLIENT = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 53)


class NullWriter:
    """Accepts a reply and drops it: the writer's own cost is not what is measured."""

    __slots__ = ("closed", "rcode", "request", "written")

    def __init__(self, request: Any) -> None:
        self.request = request
        self.written = False
        self.rcode = None
        self.closed = False

    def write(self, data: Any) -> None:
        self.written = True

    def close(self) -> None:
        self.closed = True


def per_query_us(asynchronous: bool, queries: int, batch: int) -> float:
    waiting: list[tuple[defer.Deferred, NullWriter]] = []

    def serve(request: Any, writer: Any) -> Any:
        if not asynchronous:
            writer.write(b"")
            return 0
        d: defer.Deferred = defer.Deferred()
        waiting.append((d, writer))
        return d

    plugin = Plugin(serve)
    handler = QueryHandler(ZoneRouter([(".", block(plugin))]), reactor)
    data = dns.message.make_query("example.org.", "A").to_wire()
    handle = handler.handle
    start = time.perf_counter()
    for _ in range(queries // batch):
        for _ in range(batch):
            handle(data, CLIENT, SERVER, "udp", NullWriter)
        for d, writer in waiting:
            writer.written = True
            d.callback(0)
        waiting.clear()
        plugin.requests.clear()
    return (time.perf_counter() - start) / (queries // batch * batch) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=64, help="queries in flight (default 64)")
    args = ap.parse_args()
    sync = min(per_query_us(False, args.queries, args.batch) for _ in range(5))
    async_ = min(per_query_us(True, args.queries, args.batch) for _ in range(5))
    print(f"sync {sync:.2f} us/query, async {async_:.2f} us/query, "
          f"the async path adds {async_ - sync:.2f} us")
    left = reactor.getDelayedCalls()
    if left:
        raise SystemExit(f"timers left behind: {left}")


if __name__ == "__main__":
    main()
