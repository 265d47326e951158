"""Unbound answering the bench's names from ``local-data``, exec'd so its pid is unbound's.

    python bench/yardsticks/unbound_server.py PORT [QUERY_FILE]

Every name of QUERY_FILE (dnsperf input, default ``bench/queries/bench.example-A``) gets an
A record (192.0.2.N, TTL 3600) in a ``static`` local zone for ``.``, so unbound answers every
bench query itself, never asks the network, and answers anything else NXDOMAIN. The config is
the one the test peer ``twisted_dns.testing.peers.UnboundServer`` writes (one thread, no
chroot, no syslog). It is written under ``$PYDNS_BENCH_WORKDIR`` (run.py's temporary
directory; else a new temporary directory) and this process then becomes
``unbound -d -c CONF``: run.py measures and stops the very process it started.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH.parent))

from twisted_dns.testing.peers import UnboundServer  # noqa: E402

DEFAULT_QUERIES = BENCH / "queries" / "bench.example-A"


def records(queries: Path) -> dict[str, list[str]]:
    """owner -> ["3600 IN A 192.0.2.N"] for each distinct name of a dnsperf query file."""
    out: dict[str, list[str]] = {}
    for line in queries.read_text().splitlines():
        fields = line.split()
        if fields and not line.startswith("#") and fields[0] not in out:
            out[fields[0]] = [f"3600 IN A 192.0.2.{len(out) % 254 + 1}"]
    return out


def server(port: int, directory: str, queries: Path = DEFAULT_QUERIES) -> UnboundServer:
    return UnboundServer(directory, records(queries), port=port)


def main(argv: list[str]) -> None:
    port = int(argv[0])
    queries = Path(argv[1]) if len(argv) > 1 else DEFAULT_QUERIES
    if UnboundServer.binary() is None:
        raise SystemExit("unbound_server.py: unbound is not installed")
    workdir = os.environ.get("PYDNS_BENCH_WORKDIR") or tempfile.mkdtemp(prefix="pydns-bench-")
    argv = server(port, os.path.join(workdir, f"unbound-{port}"), queries).prepare()
    sys.stdout.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
