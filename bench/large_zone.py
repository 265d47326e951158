"""Large zones: load time, memory and qps of pydns and BIND on a 1,000,000-record zone.

    python bench/large_zone.py                          # everything, zone in a temp dir
    python bench/large_zone.py --records 100000 --only load
    python bench/large_zone.py --json bench/results/DATE-large-zone.json --profile PROF.txt

Steps (each bounded in time; see ``--help``):

1. generate ``big.test.`` deterministically (SOA, NS and glue; ``hostN`` names with an
   A/AAAA/TXT/MX mix; wildcards; delegations with glue) and a dnsperf query file of existing
   names (each with its own type) plus 10 % names that do not exist;
2. **load**: ``Zone.from_file`` (what the *file* plugin does) in a fresh Python process: wall
   time of the call and the process's peak RSS (VmHWM) before and after;
3. **named**: BIND's ``named -g`` with just that zone (``twisted_dns.testing.peers``'s config):
   time from exec until the zone's SOA answers, then VmRSS/VmHWM of the process;
4. **qps**: dnsperf for ``--duration`` seconds against ``twistd -n pydns`` serving the zone
   with *file*, then against named (server pinned to CPU 0, dnsperf to CPU 1, as
   ``bench/run.py``); pydns's start time and RSS are recorded the same way as named's;
5. **axfr**: the whole zone transferred over TCP from each server (dnspython's client), the
   time until the last message and the records received, while a second client checks that
   the server keeps answering queries (the slowest of its answers is recorded).

The zone is written to a temporary directory, removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import dns.exception
import dns.message
import dns.query

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run  # noqa: E402 - bench/run.py, the qps driver's helpers

from twisted_dns.testing import free_port  # noqa: E402
from twisted_dns.testing.peers import NamedServer  # noqa: E402

ORIGIN = "big.test."
WILDCARDS = 100
DELEGATIONS = 100
#: records outside the host loop: SOA, 2 NS, 2 glue A; each wildcard 1; each delegation 2
FIXED = 5 + WILDCARDS + 2 * DELEGATIONS
#: host i's record type by i % 10: 60 % A, 20 % AAAA, 10 % TXT, 10 % MX
KINDS = ("A",) * 6 + ("AAAA",) * 2 + ("TXT", "MX")
LOAD_SCRIPT = """
import json, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
import dns.zone, dns.rdtypes.IN.A, dns.rdtypes.IN.AAAA, dns.rdtypes.ANY.TXT, dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS, dns.rdtypes.ANY.SOA
from twisted_dns.plugins.file import Zone
before = hwm()
start = time.perf_counter()
if len(sys.argv) > 3:
    import cProfile, pstats
    profile = cProfile.Profile()
    zone = profile.runcall(Zone.from_file, sys.argv[1], sys.argv[2])
    with open(sys.argv[3], "w") as out:
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
else:
    zone = Zone.from_file(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "records": len(zone), "hwm_before_kib": before,
                  "hwm_kib": hwm()}))
"""


def host_record(i: int) -> tuple[str, str]:
    """The type and data of host ``i`` (deterministic)."""
    kind = KINDS[i % 10]
    if kind == "A":
        return kind, f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    if kind == "AAAA":
        return kind, f"2001:db8::{i >> 16:x}:{i & 0xffff:x}"
    if kind == "TXT":
        return kind, f'"host {i} v=bench"'
    return kind, f"10 mail{i % 1000}.big.test."


def generate(folder: Path, records: int, queries: int, seed: int = 1) -> tuple[Path, Path, int]:
    """Write the zone and the query file; (zone path, query path, hosts)."""
    hosts = records - FIXED
    if hosts < 10:
        raise ValueError(f"--records must be at least {FIXED + 10}")
    zone = folder / "db.big.test"
    with zone.open("w") as out:
        out.write("$TTL 3600\n"
                  "@ IN SOA ns1 hostmaster 2026112801 7200 3600 1209600 300\n"
                  "  IN NS ns1\n  IN NS ns2\n"
                  "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n")
        for k in range(WILDCARDS):
            out.write(f"*.wild{k} IN A 192.0.2.{k % 250 + 3}\n")
        for k in range(DELEGATIONS):
            out.write(f"sub{k} IN NS ns.sub{k}\nns.sub{k} IN A 198.51.100.{k % 250 + 1}\n")
        lines = []
        for i in range(hosts):
            kind, data = host_record(i)
            lines.append(f"host{i} IN {kind} {data}\n")
            if len(lines) == 10000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    rng = random.Random(seed)
    query_file = folder / "queries"
    with query_file.open("w") as out:
        for _ in range(queries):
            pick = rng.random()
            if pick < 0.1:
                out.write(f"nohost{rng.randrange(hosts)}.big.test A\n")
            elif pick < 0.12:
                out.write(f"x{rng.randrange(1000)}.wild{rng.randrange(WILDCARDS)}.big.test A\n")
            elif pick < 0.14:
                out.write(f"www.sub{rng.randrange(DELEGATIONS)}.big.test A\n")
            else:
                i = rng.randrange(hosts)
                out.write(f"host{i}.big.test {host_record(i)[0]}\n")
    return zone, query_file, hosts


def status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0].lower() + "_kib"] = int(line.split()[1])
    return out


def soa_answers(port: int, timeout: float = 0.2) -> bool:
    query = dns.message.make_query(ORIGIN, "SOA")
    try:
        reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return False
    return reply.rcode() == 0 and bool(reply.answer)


def start_timed(argv: Sequence[str], port: int, cpu: int | None, log: Path, timeout: float,
                cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, float]:
    """Start a server; (process, seconds until the zone's SOA answered)."""
    with log.open("w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                preexec_fn=run.pinned(cpu))
    deadline = start + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited ({proc.returncode}):\n{run.tail(log)}")
        if soa_answers(port):
            return proc, time.monotonic() - start
        time.sleep(0.02)
    run.stop(proc)
    raise RuntimeError(f"{argv[0]} did not answer the SOA in {timeout}s:\n{run.tail(log)}")


def measure_load(zone: Path, timeout: float, profile: str | None) -> dict:
    """``Zone.from_file`` in a fresh interpreter: seconds, records, peak RSS."""
    argv = [sys.executable, "-c", LOAD_SCRIPT, str(zone), ORIGIN, *([profile] if profile else [])]
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            preexec_fn=run.pinned(0))
    if result.returncode != 0:
        raise RuntimeError(f"loading failed:\n{result.stderr[-3000:]}")
    stats = json.loads(result.stdout.splitlines()[-1])
    stats["process_seconds"] = time.monotonic() - start
    return stats


def measure_axfr(port: int, timeout: float) -> dict:
    """Transfer the zone from the server; meanwhile ask it for its SOA again and again."""
    done = threading.Event()
    slowest = [0.0]

    def probe() -> None:
        while not done.is_set():
            start = time.monotonic()
            soa_answers(port, timeout=60.0)
            slowest[0] = max(slowest[0], time.monotonic() - start)

    prober = threading.Thread(target=probe)
    start = time.monotonic()
    prober.start()
    try:
        records = raw_axfr(port, timeout)
    finally:
        seconds = time.monotonic() - start
        done.set()
        prober.join()
    return {"seconds": seconds, "records": records, "slowest_query_s": slowest[0]}


def raw_axfr(port: int, timeout: float) -> int:
    """AXFR over TCP, reading only what it takes to count records and see the closing SOA
    (a dnspython client would take longer than either server)."""
    query = dns.message.make_query(ORIGIN, "AXFR").to_wire()
    records = soas = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(query)) + query)
        stream = sock.makefile("rb")
        while soas < 2:
            head = stream.read(2)
            if len(head) < 2:
                raise RuntimeError(f"AXFR ended after {records} records without its last SOA")
            message = stream.read(struct.unpack("!H", head)[0])
            questions, count = struct.unpack_from("!HH", message, 4)
            records += count
            offset = 12
            for _ in range(questions):
                offset = _skip_name(message, offset) + 4
            for _ in range(count):
                offset = _skip_name(message, offset)
                rdtype, _, _, length = struct.unpack_from("!HHIH", message, offset)
                soas += rdtype == 6
                offset += 10 + length
    return records


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length >= 0xC0:
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset


def named_server(zone: Path, workdir: Path) -> tuple[list[str], int]:
    """argv and port of a named serving just the zone (the test peer's config and files)."""
    server = NamedServer(str(workdir / "named"), {ORIGIN: str(zone)}, port=free_port(),
                         extra_zone_options="allow-transfer { any; };")
    return server.prepare(), server.port


def pydns_server(zone: Path, workdir: Path) -> tuple[list[str], int, dict[str, str]]:
    """argv, port and environment of ``twistd -n pydns`` serving the zone with *file*."""
    port = free_port()
    corefile = workdir / "Corefile"
    corefile.write_text(f"{ORIGIN} {{\n    file {zone} {{\n        reload 0\n    }}\n"
                        "    transfer {\n        to *\n    }\n}\n")
    env = dict(run.dropin_env(workdir) or os.environ)
    argv = [run._twistd(), "-n", "--pidfile=", "pydns", "-c", str(corefile), "-p", str(port)]
    return argv, port, env


def serve_and_load(name: str, make: Callable[[], tuple], queries: Path, workdir: Path,
                   args: argparse.Namespace) -> dict:
    """Start the server, time its start, read its memory, run dnsperf if asked, stop it."""
    argv, port, *env = make()
    proc, seconds = start_timed(argv, port, args.server_cpu, workdir / f"{name}.log",
                                args.start_timeout, workdir, env[0] if env else None)
    try:
        record = {"start_seconds": seconds, **status_kib(proc.pid)}
        print(f"   {name}: SOA answered after {seconds:.2f} s, "
              f"RSS {record['vmrss_kib'] / 1024:.0f} MiB", file=sys.stderr)
        if "qps" in args.only:
            stats, _ = run.run_dnsperf(port, queries, 1.0, args, workdir / f"{name}.dnsperf")
            before = run.cpu_seconds(proc.pid)
            stats, _ = run.run_dnsperf(port, queries, args.duration, args,
                                       workdir / f"{name}.dnsperf")
            stats["server_cpu_pct"] = (100.0 * (run.cpu_seconds(proc.pid) - before)
                                       / stats["runtime_s"])
            record["dnsperf"] = stats
            record.update(status_kib(proc.pid))
            print(f"   {name}: {stats['qps']:.0f} qps, lost {stats['lost_pct']:.2f} %, "
                  f"rcodes {stats['rcodes']}", file=sys.stderr)
        if "axfr" in args.only:
            record["axfr"] = axfr = measure_axfr(port, args.start_timeout)
            print(f"   {name}: AXFR of {axfr['records']} records in {axfr['seconds']:.2f} s; "
                  f"slowest query meanwhile {axfr['slowest_query_s'] * 1000:.0f} ms",
                  file=sys.stderr)
        return record
    finally:
        run.stop(proc)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200_000, help="lines in the query file")
    ap.add_argument("--only", nargs="+", default=["load", "named", "qps", "axfr"],
                    choices=["load", "named", "qps", "axfr"])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of dnsperf load")
    ap.add_argument("--clients", type=int, default=run.DEFAULT_CLIENTS)
    ap.add_argument("--outstanding", type=int, default=run.DEFAULT_OUTSTANDING)
    ap.add_argument("--timeout", type=float, default=2.0, help="dnsperf -t")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--start-timeout", type=float, default=600.0,
                    help="seconds a load or a server start may take")
    ap.add_argument("--profile", help="write a cProfile of Zone.from_file to this file")
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--keep", action="store_true", help="keep the generated zone folder")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pydns-large-zone-"))
    report: dict = {"environment": run.environment(), "records": args.records,
                    "settings": {k: v for k, v in vars(args).items() if k != "json"}}
    report["environment"]["named"] = subprocess.run(
        [NamedServer.binary() or "named", "-v"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    try:
        start = time.monotonic()
        zone, queries, hosts = generate(workdir, args.records, args.queries)
        report["generate_seconds"] = time.monotonic() - start
        report["zone_bytes"] = zone.stat().st_size
        print(f"zone: {args.records} records ({hosts} hosts), "
              f"{report['zone_bytes'] / 2**20:.0f} MiB, in {workdir}", file=sys.stderr)
        if "load" in args.only:
            report["pydns_load"] = load = measure_load(zone, args.start_timeout, args.profile)
            print(f"   pydns Zone.from_file: {load['seconds']:.2f} s, {load['records']} records,"
                  f" peak RSS {load['hwm_kib'] / 1024:.0f} MiB", file=sys.stderr)
        if {"named", "qps", "axfr"} & set(args.only):
            report["named"] = serve_and_load("named", lambda: named_server(zone, workdir),
                                             queries, workdir, args)
        if "qps" in args.only or "axfr" in args.only:
            report["pydns"] = serve_and_load("pydns", lambda: pydns_server(zone, workdir),
                                             queries, workdir, args)
        if "pydns_load" in report and "named" in report:
            ratio = report["pydns_load"]["seconds"] / report["named"]["start_seconds"]
            report["load_ratio_vs_named"] = ratio
            print(f"load time pydns/named: {ratio:.2f}x (goal: within 3x)"
                  + (" (under cProfile: not comparable)" if args.profile else ""),
                  file=sys.stderr)
        if "pydns" in report and "named" in report:
            ratio = report["pydns"]["start_seconds"] / report["named"]["start_seconds"]
            report["start_ratio_vs_named"] = ratio
            print(f"start to SOA answer pydns/named: {ratio:.2f}x", file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
