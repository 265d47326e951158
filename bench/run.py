"""Benchmark driver: dnsperf against pydns, CoreDNS, Twisted yardsticks and Unbound.

    python bench/run.py [--duration SECONDS] [--only NAME ...] [--clients N]
                        [--outstanding Q] [--runs N] [--json PATH]

For each target the driver picks a free port on 127.0.0.1, starts the server pinned
to one CPU, waits (bounded) until it answers a query, runs dnsperf pinned to another
CPU, parses dnsperf's statistics, stops the server with SIGTERM and finally prints a
table and the ratios the issues set targets for.  A target with ``upstream`` gets an
Unbound of its own (bench/yardsticks/unbound_server.py) on dnsperf's CPU, its address in
the server's environment as PYDNS_BENCH_UPSTREAM.  Each ``coredns-NAME`` target runs
CoreDNS (GOMAXPROCS=1, same pinning) on the Corefile of pydns's ``NAME``, and the report
gives pydns / CoreDNS for every such pair.  Everything stays on loopback and every step
has a time limit.  See bench/README.md for what the targets mean and for
recorded results.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from twisted_dns.testing import free_port

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: dnsperf -c / -q: see "Load shape" in bench/README.md
DEFAULT_CLIENTS = 4
DEFAULT_OUTSTANDING = 64
#: the issues' targets: cache hits / bare Twisted echo, and forwarding qps per core
CACHE_ECHO_TARGET = 0.45
FORWARD_QPS_TARGET = 15_000
#: issue 11's goals: pydns / CoreDNS per core (qps per server CPU-second), by pydns target
COREDNS_GOALS = {"whoami": 1.0, "file": 1.0, "cache": 1.0, "forward": 0.8}
COREDNS_VERSION = "v1.14.7"
UNBOUND_SCRIPT = BENCH / "yardsticks" / "unbound_server.py"


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    description: str
    queries: str  # file under bench/queries/
    command: Callable[[int], list[str]]  # port -> argv
    #: runs ``twistd pydns``, so needs the dropin (see dropin_env)
    twistd_pydns: bool = False
    #: needs an Unbound to forward to (see upstream)
    upstream: bool = False
    #: for a CoreDNS target, the pydns target whose Corefile it serves
    twin_of: str | None = None
    #: added to the server's environment
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _twistd() -> str:
    candidate = BIN / "twistd"
    return str(candidate) if candidate.exists() else "twistd"


def _pydns(corefile: str) -> Callable[[int], list[str]]:
    """argv of ``twistd pydns`` serving bench/corefiles/``corefile`` on a port."""
    return lambda port: [_twistd(), "-n", "--pidfile=", "pydns",
                         "-c", str(BENCH / "corefiles" / corefile), "-p", str(port)]


def coredns_binary() -> str | None:
    """``coredns`` on PATH, else in Go's bin directory (where ``go install`` puts it)."""
    found = shutil.which("coredns")
    if found:
        return found
    gopath = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        go = shutil.which("go") or "/usr/local/go/bin/go"
        gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
    gopath = gopath.split(os.pathsep)[0] or str(Path.home() / "go")
    candidate = Path(gopath) / "bin" / "coredns"
    return str(candidate) if os.access(candidate, os.X_OK) else None


def _coredns(corefile: str) -> Callable[[int], list[str]]:
    """argv of CoreDNS serving bench/corefiles/``corefile`` on a port."""
    def command(port: int) -> list[str]:
        binary = coredns_binary()
        if binary is None:
            raise RuntimeError("coredns not found on PATH nor in $(go env GOPATH)/bin "
                               f"(go install github.com/coredns/coredns@{COREDNS_VERSION})")
        return [binary, "-conf", str(BENCH / "corefiles" / corefile), "-dns.port", str(port),
                "-quiet"]

    return command


def _with_coredns_twin(target: Target) -> tuple[Target, Target]:
    """A pydns target and CoreDNS serving the same Corefile, on one Go thread (GOMAXPROCS=1)
    pinned like pydns: the same queries, an Unbound of its own if pydns's has one."""
    twin = Target(f"coredns-{target.name}",
                  f"CoreDNS {COREDNS_VERSION}, GOMAXPROCS=1, bench/corefiles/{target.name}",
                  target.queries, _coredns(target.name), upstream=target.upstream,
                  twin_of=target.name, env={"GOMAXPROCS": "1"})
    return target, twin


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        *_with_coredns_twin(Target(
            "whoami",
            "pydns, Corefile bench/corefiles/whoami (. { whoami })",
            "example.org-A",
            _pydns("whoami"),
            twistd_pydns=True,
        )),
        *_with_coredns_twin(Target(
            "file",
            "pydns, bench/corefiles/file (file bench/zones/bench.test.db), the query mix",
            "bench.test-mix",
            _pydns("file"),
            twistd_pydns=True,
        )),
        *_with_coredns_twin(Target(
            "cache",
            "pydns, bench/corefiles/cache (cache, forward . UNBOUND): all hits after warmup",
            "bench.example-A",
            _pydns("cache"),
            twistd_pydns=True,
            upstream=True,
        )),
        *_with_coredns_twin(Target(
            "forward",
            "pydns, bench/corefiles/forward (forward . UNBOUND, no cache)",
            "bench.example-A",
            _pydns("forward"),
            twistd_pydns=True,
            upstream=True,
        )),
        Target(
            "unbound",
            "Unbound alone, answering the same names from local-data (reference)",
            "bench.example-A",
            lambda port: [sys.executable, str(UNBOUND_SCRIPT), str(port)],
        ),
        Target(
            "names",
            "twisted.names DNSServerFactory + one-record authority (yardstick)",
            "example.org-A",
            lambda port: [sys.executable, str(BENCH / "yardsticks" / "names_server.py"),
                          str(port)],
        ),
        Target(
            "echo",
            "bare Twisted UDP, reply cut from the query bytes (ceiling)",
            "example.org-A",
            lambda port: [sys.executable, str(BENCH / "yardsticks" / "udp_echo.py"),
                          str(port)],
        ),
        Target(
            "echo-sendto",
            "as echo, replies by socket.sendto, skipping transport.write (as pydns does)",
            "example.org-A",
            lambda port: [sys.executable, str(BENCH / "yardsticks" / "udp_echo.py"),
                          str(port), "--sendto"],
        ),
    )
}


# -- processes -------------------------------------------------------------------------

def dropin_env(workdir: Path) -> dict[str, str] | None:
    """An environment in which twistd finds the ``pydns`` dropin, or None if it already does.

    A plain ``pip install -e .`` leaves ``twisted/plugins/pydns.py`` out (see the project
    README: ``--config-settings editable_mode=strict``); then the repository's own
    ``twisted_plugins/pydns.py`` is put on PYTHONPATH as ``twisted/plugins/pydns.py``.
    """
    import importlib.util

    if importlib.util.find_spec("twisted.plugins.pydns") is not None:
        return None
    plugins = workdir / "dropin" / "twisted" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "twisted_plugins" / "pydns.py", plugins / "pydns.py")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(workdir / "dropin"), env.get("PYTHONPATH")]))
    return env




def pinned(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None

    def preexec() -> None:
        os.sched_setaffinity(0, {cpu})

    return preexec


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by a live process (its threads included)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def answers(port: int, timeout: float) -> bool:
    import dns.exception
    import dns.message
    import dns.query

    query = dns.message.make_query("example.org.", "A")
    try:
        dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return False
    return True


def wait_ready(proc: subprocess.Popen, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before answering")
        if answers(port, 0.25):
            return
        time.sleep(0.05)
    raise RuntimeError("server did not answer a query in time")


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# -- dnsperf ---------------------------------------------------------------------------

_NUM = r"([0-9.]+)"
_PATTERNS = {
    "sent": rf"Queries sent:\s+{_NUM}",
    "completed": rf"Queries completed:\s+{_NUM}",
    "lost": rf"Queries lost:\s+{_NUM}",
    "runtime_s": rf"Run time \(s\):\s+{_NUM}",
    "qps": rf"Queries per second:\s+{_NUM}",
    "avg_latency_s": rf"Average Latency \(s\):\s+{_NUM}",
    "min_latency_s": rf"Average Latency \(s\):.*\(min\s+{_NUM}",
    "max_latency_s": rf"Average Latency \(s\):.*max\s+{_NUM}\)",
    "stddev_latency_s": rf"Latency StdDev \(s\):\s+{_NUM}",
}


def parse_dnsperf(output: str) -> dict:
    """The statistics block of dnsperf's output as numbers; raises if it is missing."""
    stats: dict = {}
    for key, pattern in _PATTERNS.items():
        match = re.search(pattern, output)
        if match is None:
            if key.endswith("latency_s"):  # absent when nothing completed
                stats[key] = None
                continue
            raise ValueError(f"dnsperf output has no {key!r}")
        value = float(match.group(1))
        stats[key] = int(value) if key in ("sent", "completed", "lost") else value
    stats["lost_pct"] = 100.0 * stats["lost"] / stats["sent"] if stats["sent"] else 0.0
    rcodes = re.search(r"Response codes:\s+(.*)", output)
    stats["rcodes"] = {
        name: int(count)
        for name, count in re.findall(r"([A-Z]+) (\d+) \(", rcodes.group(1) if rcodes else "")
    }
    return stats


def run_dnsperf(port: int, queries: Path, duration: float, args: argparse.Namespace,
                log: Path) -> tuple[dict, str]:
    argv = [
        "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
        "-l", str(duration), "-c", str(args.clients), "-q", str(args.outstanding),
        "-t", str(args.timeout),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        argv, capture_output=True, text=True, preexec_fn=pinned(args.client_cpu),
        timeout=duration + args.timeout + 30,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("a") as handle:
        handle.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(f"dnsperf failed ({result.returncode}): {result.stderr.strip()}")
    stats = parse_dnsperf(result.stdout)
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stats["client_cpu_pct"] = 100.0 * client_cpu / stats["runtime_s"]
    return stats, result.stdout


@contextlib.contextmanager
def started(name: str, argv: Sequence[str], port: int, cpu: int | None, env: dict[str, str],
            workdir: Path, start_timeout: float) -> Iterator[subprocess.Popen]:
    """Run ``argv`` pinned to ``cpu`` until it answers on ``port``; stop it on exit.

    Raises RuntimeError, with the tail of its log (workdir/NAME.log), if it never answers.
    """
    log = workdir / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=REPO, env=env, preexec_fn=pinned(cpu),
        )
    try:
        try:
            wait_ready(proc, port, time.monotonic() + start_timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{name}: {exc}\n{tail(log)}".rstrip()) from None
        yield proc
    finally:
        stop(proc)


def upstream(args: argparse.Namespace, workdir: Path,
             env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen]:
    """An Unbound for a forwarding target, on dnsperf's CPU: the server keeps its own CPU
    to itself, and what Unbound costs is not charged to it. ``env`` gains its address."""
    port = free_port()
    env["PYDNS_BENCH_UPSTREAM"] = f"127.0.0.1:{port}"
    return started("unbound-upstream", [sys.executable, str(UNBOUND_SCRIPT), str(port)], port,
                   args.client_cpu, env, workdir, args.start_timeout)


@contextlib.contextmanager
def serving(target: Target, args: argparse.Namespace, workdir: Path,
            wrap: Sequence[str] = ()) -> Iterator[tuple[subprocess.Popen, int]]:
    """Run ``target`` (its argv prefixed by ``wrap``) until it answers; stop it on exit.

    A target with ``upstream`` gets its Unbound first, as ``proc.upstream`` (else None).
    Raises RuntimeError, with the tail of the server's log, if it never answers.
    """
    port = free_port()
    env = dropin_env(workdir) if target.twistd_pydns else None
    if env is not None and not getattr(args, "_dropin_warned", False):
        args._dropin_warned = True
        print("   note: twistd has no pydns dropin installed; using twisted_plugins/pydns.py "
              "via PYTHONPATH", file=sys.stderr)
    env = dict(env or os.environ, PYDNS_BENCH_WORKDIR=str(workdir), PYDNS_BENCH_DIR=str(BENCH),
               **target.env)
    with contextlib.ExitStack() as stack:
        helper = stack.enter_context(upstream(args, workdir, env)) if target.upstream else None
        proc = stack.enter_context(started(target.name, [*wrap, *target.command(port)], port,
                                           args.server_cpu, env, workdir, args.start_timeout))
        proc.upstream = helper
        yield proc, port


def cpu_busy(cpu: int | None) -> float:
    """Seconds one CPU (or all, for None) has spent not idle, from /proc/stat."""
    label = "cpu" if cpu is None else f"cpu{cpu}"
    with open("/proc/stat") as handle:
        for line in handle:
            fields = line.split()
            if fields[0] == label:
                ticks = [int(value) for value in fields[1:8]]  # user .. softirq, steal
                return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK  # minus idle, iowait
    raise RuntimeError(f"{label} not in /proc/stat")


def measure_once(target: Target, args: argparse.Namespace, workdir: Path, record: dict) -> None:
    """Start ``target``, warm it up, load it with dnsperf once, stop it; add the run."""
    log = workdir / f"{target.name}.dnsperf"
    queries = BENCH / "queries" / target.queries
    with serving(target, args, workdir) as (proc, port):
        record.setdefault("command", target.command(port))
        if target.env:
            record.setdefault("env", dict(target.env))
        if args.warmup > 0:  # for the cache target, this fills the cache
            run_dnsperf(port, queries, args.warmup, args, log)
        helper = proc.upstream
        up0 = cpu_seconds(helper.pid) if helper is not None else 0.0
        cpu0, busy0, t0 = cpu_seconds(proc.pid), cpu_busy(args.server_cpu), time.monotonic()
        stats, raw = run_dnsperf(port, queries, args.duration, args, log)
        cpu1, busy1, t1 = cpu_seconds(proc.pid), cpu_busy(args.server_cpu), time.monotonic()
        if helper is not None:
            # Unbound shares dnsperf's CPU: near 100 % together means the client side limits
            stats["upstream_cpu_pct"] = 100.0 * (cpu_seconds(helper.pid) - up0) / (t1 - t0)
        alive = proc.poll() is None
    if not alive:
        raise RuntimeError(f"server exited with status {proc.returncode} under load\n"
                           f"{tail(workdir / f'{target.name}.log')}")
    stats["server_cpu_pct"] = 100.0 * (cpu1 - cpu0) / (t1 - t0)
    # the rate per second of CPU the server actually got: what it would do on a core of its
    # own, robust against other jobs taking turns on that CPU
    stats["qps_per_cpu"] = (stats["completed"] / (cpu1 - cpu0)) if cpu1 > cpu0 else None
    if args.server_cpu is not None:
        # whatever else ran on the server's CPU meanwhile (other jobs, interrupts)
        stats["server_cpu_other_pct"] = max(0.0, 100.0 * ((busy1 - busy0) - (cpu1 - cpu0))
                                            / (t1 - t0))
    stats["dnsperf_output"] = raw[raw.find("Statistics:"):].strip()  # the rest is banner
    record["runs"].append(stats)


def summarise(record: dict) -> None:
    """Pick the run with the median rate as the target's result."""
    if not record["runs"]:
        return
    ranked = sorted(record["runs"], key=lambda run: run["qps"])
    record["result"] = ranked[(len(ranked) - 1) // 2]
    record["qps_all"] = [round(run["qps"], 1) for run in record["runs"]]
    per_cpu = [run["qps_per_cpu"] for run in record["runs"] if run.get("qps_per_cpu")]
    if per_cpu:
        record["qps_per_cpu"] = statistics.median(per_cpu)
    if len(ranked) > 1:
        record["qps_stdev"] = statistics.stdev(record["qps_all"])


# -- reporting -------------------------------------------------------------------------

def environment() -> dict:
    cpu_model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break

    def version(dist: str) -> str | None:
        from importlib import metadata

        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    dnsperf = subprocess.run(["dnsperf", "-h"], capture_output=True, text=True, timeout=10)
    match = re.search(r"Version (\S+)", dnsperf.stdout + dnsperf.stderr)
    coredns, binary = None, coredns_binary()
    if binary is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            coredns = subprocess.run([binary, "-version"], capture_output=True, text=True,
                                     timeout=10).stdout.split("\n", 1)[0].strip() or None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "twisted": version("twisted"),
        "dnspython": version("dnspython"),
        "twisted_dns": version("twisted-dns"),
        "dnsperf": match.group(1) if match else None,
        "coredns": coredns,
        **source_version(),
    }


def source_version() -> dict:
    """The commit the server code is at, whether it differs from it, and a digest of it."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "twisted_dns").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    info: dict = {"twisted_dns_source_sha256": digest.hexdigest()[:16]}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                 "twisted_dns", "twisted_plugins"],
                                capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            info["git_head"] = head.stdout.strip()
            info["twisted_dns_modified"] = bool(status.stdout.strip())
    return info


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(records: Sequence[dict]) -> str:
    head = ("target", "qps", "min-max", "qps/cpu-s", "lost %", "avg ms", "max ms", "srv cpu %",
            "other %", "dnsperf cpu %", "unbound cpu %", "rcodes")
    rows = [head]
    for rec in records:
        res = rec.get("result")
        if res is None:
            rows.append((rec["target"], "FAILED", *[""] * (len(head) - 2)))
            continue
        qps = f"{res['qps']:.0f}"
        spread = f"{min(rec['qps_all']):.0f}-{max(rec['qps_all']):.0f}"
        rcodes = " ".join(f"{k}={v}" for k, v in res["rcodes"].items())
        per_cpu = rec.get("qps_per_cpu")
        rows.append((rec["target"], qps, spread, "-" if per_cpu is None else f"{per_cpu:.0f}",
                     f"{res['lost_pct']:.3f}", _ms(res["avg_latency_s"]),
                     _ms(res["max_latency_s"]), f"{res['server_cpu_pct']:.0f}",
                     _pct(res.get("server_cpu_other_pct")), f"{res['client_cpu_pct']:.0f}",
                     _pct(res.get("upstream_cpu_pct")), rcodes))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ratio(records: Sequence[dict], numerator: str, denominator: str,
          key: str = "qps") -> float | None:
    """``key`` of one target over another's: "qps" (median runs) or "qps_per_cpu"."""
    def value(name: str) -> float | None:
        for rec in records:
            if rec["target"] == name and "result" in rec:
                return rec["result"]["qps"] if key == "qps" else rec.get(key)
        return None

    top, bottom = value(numerator), value(denominator)
    if top is None or not bottom:
        return None
    return top / bottom


#: the ratios the report prints beside pydns / CoreDNS for every pair in the run
YARDSTICK_RATIOS = (("whoami", "names"), ("whoami", "echo"), ("whoami", "echo-sendto"),
                    ("names", "echo"), ("cache", "echo"), ("cache", "echo-sendto"),
                    ("cache", "names"), ("forward", "names"), ("forward", "unbound"))
#: (pydns target, its CoreDNS twin)
COREDNS_PAIRS = tuple((target.twin_of, target.name) for target in TARGETS.values()
                      if target.twin_of)


def ratios(records: Sequence[dict]) -> dict[str, dict[str, float | None]]:
    """"NUM/DEN" -> {"qps": ..., "qps_per_cpu": ...} for each pair whose two targets ran."""
    out = {}
    for num, den in (*YARDSTICK_RATIOS, *COREDNS_PAIRS):
        value = ratio(records, num, den)
        if value is not None:
            out[f"{num}/{den}"] = {"qps": value,
                                   "qps_per_cpu": ratio(records, num, den, "qps_per_cpu")}
    return out


def verdicts(records: Sequence[dict]) -> list[str]:
    """The issues' targets, met or not, by qps and by qps per server CPU-second."""
    lines = []
    for key in ("qps", "qps_per_cpu"):
        cache = ratio(records, "cache", "echo", key)
        if cache is not None:
            lines.append(f"target cache / echo >= {CACHE_ECHO_TARGET} ({key}): {cache:.2f}x, "
                         f"{'met' if cache >= CACHE_ECHO_TARGET else 'NOT met'}")
    forward = next((rec for rec in records if rec["target"] == "forward" and "result" in rec),
                   None)
    if forward is not None:
        for key, value in (("qps", forward["result"]["qps"]),
                           ("qps_per_cpu", forward.get("qps_per_cpu"))):
            if value is not None:
                lines.append(f"target forward >= {FORWARD_QPS_TARGET} ({key}): {value:.0f}, "
                             f"{'met' if value >= FORWARD_QPS_TARGET else 'NOT met'}")
    for name, goal in COREDNS_GOALS.items():
        # per core is the goal; raw qps can be capped by dnsperf's single CPU
        value = ratio(records, name, f"coredns-{name}", "qps_per_cpu")
        if value is not None:
            lines.append(f"goal {name} / coredns-{name} >= {goal} (qps_per_cpu): {value:.2f}x, "
                         f"{'met' if value >= goal else 'NOT met'}")
    return lines


def add_load_options(ap: argparse.ArgumentParser) -> None:
    """The options that shape the load and the placement (shared with profile_target.py)."""
    ap.add_argument("--duration", type=float, default=10.0,
                    help="seconds of load per run (default 10)")
    ap.add_argument("--clients", type=int, default=DEFAULT_CLIENTS,
                    help=f"dnsperf -c (default {DEFAULT_CLIENTS})")
    ap.add_argument("--outstanding", type=int, default=DEFAULT_OUTSTANDING,
                    help=f"dnsperf -q, queries in flight (default {DEFAULT_OUTSTANDING})")
    ap.add_argument("--timeout", type=float, default=2.0,
                    help="dnsperf -t, seconds before a query counts as lost (default 2)")
    ap.add_argument("--server-cpu", type=int, default=0, help="CPU for the server (default 0)")
    ap.add_argument("--client-cpu", type=int, default=1, help="CPU for dnsperf (default 1)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    ap.add_argument("--start-timeout", type=float, default=30.0,
                    help="seconds to wait for a server to answer its first query")


def check_load_options(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.duration <= 0 or args.clients < 1 or args.outstanding < 1:
        ap.error("--duration, --clients and --outstanding must be positive")
    available = os.sched_getaffinity(0)
    if args.no_pin:
        args.server_cpu = args.client_cpu = None
        return
    for cpu in (args.server_cpu, args.client_cpu):
        if cpu not in available:
            ap.error(f"CPU {cpu} is not available (have {sorted(available)}); "
                     "use --server-cpu/--client-cpu or --no-pin")
    if args.server_cpu == args.client_cpu:
        ap.error("server and dnsperf must be on different CPUs")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="dnsperf benchmark of pydns and yardsticks")
    ap.add_argument("--only", nargs="+", choices=list(TARGETS), metavar="NAME",
                    help=f"targets to run (default all: {', '.join(TARGETS)})")
    add_load_options(ap)
    ap.add_argument("--runs", type=int, default=1,
                    help="measured runs per target; the median is reported (default 1)")
    ap.add_argument("--warmup", type=float, default=1.0,
                    help="seconds of unrecorded load before measuring (default 1, 0 = none)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    check_load_options(ap, args)
    if args.runs < 1:
        ap.error("--runs must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("dnsperf") is None:
        print("run.py: dnsperf not found on PATH (Debian/Ubuntu: apt install dnsperf)",
              file=sys.stderr)
        return 2
    names = args.only or list(TARGETS)
    env = environment()
    records = {name: {"target": name, "description": TARGETS[name].description, "runs": []}
               for name in names}
    with tempfile.TemporaryDirectory(prefix="pydns-bench-") as tmp:
        # rounds interleave the targets, so a burst of other load hits them alike
        for round_no in range(1, args.runs + 1):
            for name in names:
                record = records[name]
                if "error" in record:
                    continue
                print(f"== {name} (run {round_no}/{args.runs}): {record['description']}",
                      file=sys.stderr, flush=True)
                try:
                    measure_once(TARGETS[name], args, Path(tmp), record)
                except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
                    record["error"] = str(exc)
                    print(f"   FAILED: {exc}", file=sys.stderr, flush=True)
    for record in records.values():
        summarise(record)
    records = list(records.values())
    source = env.get("git_head", "no git") + (
        " + uncommitted changes" if env.get("twisted_dns_modified") else "")
    print(f"\n{env['date']}  {env['nproc']} x {env['cpu_model']}  Python {env['python']}  "
          f"Twisted {env['twisted']}  dnsperf {env['dnsperf']}\n"
          f"twisted_dns at {source} (source digest {env['twisted_dns_source_sha256']})")
    print(f"dnsperf -c {args.clients} -q {args.outstanding} -l {args.duration:g} "
          f"(runs: {args.runs}, server CPU {args.server_cpu}, dnsperf CPU {args.client_cpu})\n")
    print(table(records))
    summary = ratios(records)
    print()
    for pair, values in summary.items():
        per_cpu = values["qps_per_cpu"]
        print(f"{pair.replace('/', ' / ')}: {values['qps']:.2f}x qps"
              + ("" if per_cpu is None else f", {per_cpu:.2f}x qps per server CPU-second"))
    for line in verdicts(records):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    if not k.startswith("_")}
        payload = {"environment": env, "settings": settings, "targets": records,
                   "ratios": summary}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if any("error" in rec for rec in records) else 0


if __name__ == "__main__":
    sys.exit(main())
