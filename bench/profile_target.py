"""Where a target's time goes under dnsperf load: py-spy, cProfile or perf, summarised.

    python bench/profile_target.py TARGET [--tool py-spy|cprofile|perf] [--duration S]
                                          [--top N]

``py-spy`` (``pip install py-spy``) samples the running server from outside, so the
server runs at nearly full speed; the summary gives, per function, the share of samples
in which it was running (self) and on the stack (total).  ``cprofile`` runs the server
under ``python -m cProfile`` (slower, but exact call counts) and gives, per function,
microseconds per answered query: self time and cumulative time divided by the number
of queries dnsperf saw answered.  ``perf`` (Linux's ``perf record``, no pausing) gives the
share of the server's CPU time per shared object (the kernel, libpython, libc, a Go
binary...) and per symbol: the honest split between system calls and the server's own work,
for the CoreDNS targets too (py-spy's pauses land in system calls more often than their
share).  Same placement as run.py: server on one CPU, dnsperf on another, loopback only,
bounded in time.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from run import (
    BENCH,
    REPO,
    TARGETS,
    add_load_options,
    check_load_options,
    run_dnsperf,
    serving,
)


def _short(path: str) -> str:
    for marker in ("site-packages/", f"{REPO}/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def summarise_pyspy(raw: Path, top: int) -> str:
    """Self and total sample shares per function from py-spy's ``--format raw`` output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        samples += n
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return "no samples"
    out = [f"{samples} samples", "", "self %  function (by time running in it)"]
    out += [f"{100 * n / samples:6.1f}  {name}" for name, n in own.most_common(top)]
    out += ["", "total %  function (by time on the stack)"]
    out += [f"{100 * n / samples:7.1f}  {name}" for name, n in total.most_common(top + 10)]
    return "\n".join(out)


def summarise_cprofile(stats_path: Path, queries: int, top: int) -> str:
    stats = pstats.Stats(str(stats_path))
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _) in stats.stats.items():
        rows.append((tottime, cumtime, ncalls, f"{_short(filename)}:{line}({func})"))
    per = 1e6 / max(queries, 1)
    out = [f"{queries} queries answered; times are microseconds per query (under cProfile)",
           "", "  self us   cum us  calls/q  function (by self time)"]
    for tottime, cumtime, ncalls, name in sorted(rows, reverse=True)[:top]:
        out.append(f"{tottime * per:9.2f} {cumtime * per:8.2f} {ncalls / max(queries, 1):8.2f}"
                   f"  {name}")
    out += ["", "  self us   cum us  calls/q  function (by cumulative time)"]
    for tottime, cumtime, ncalls, name in sorted(rows, key=lambda r: r[1], reverse=True)[:top]:
        out.append(f"{tottime * per:9.2f} {cumtime * per:8.2f} {ncalls / max(queries, 1):8.2f}"
                   f"  {name}")
    return "\n".join(out)


def _tool(name: str, hint: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise SystemExit(f"profile_target.py: {name} not found ({hint})")
    return found


@contextlib.contextmanager
def under_load(target: str, args: argparse.Namespace,
               tmp: Path) -> Iterator[tuple[subprocess.Popen, dict]]:
    """The target serving, warmed up, with dnsperf loading it in the background for the
    duration plus a second either side; yields the server and a dict that holds dnsperf's
    statistics (``stats``) once the block is done."""
    queries = BENCH / "queries" / TARGETS[target].queries
    with serving(TARGETS[target], args, tmp) as (proc, port):
        run_dnsperf(port, queries, 1.0, args, tmp / "warmup.dnsperf")
        result: dict = {}

        def loader() -> None:
            result["stats"], _ = run_dnsperf(port, queries, args.duration + 2, args,
                                             tmp / "load.dnsperf")

        thread = threading.Thread(target=loader)
        thread.start()
        time.sleep(1.0)
        try:
            yield proc, result
        finally:
            thread.join(args.duration + args.timeout + 60)


def _head(target: str, tool: str, args: argparse.Namespace, result: dict) -> str:
    stats = result.get("stats", {})
    return (f"{target}: {tool} {args.rate} Hz for {int(args.duration)} s under dnsperf "
            f"-c {args.clients} -q {args.outstanding}; dnsperf meanwhile: "
            f"{stats.get('qps', 0):.0f} qps, {stats.get('lost_pct', 0):.3f} % lost")


def profile_pyspy(target: str, args: argparse.Namespace, tmp: Path) -> str:
    pyspy = _tool("py-spy", "pip install py-spy")
    raw = tmp / "pyspy.raw"
    with under_load(target, args, tmp) as (proc, result):
        subprocess.run(
            [pyspy, "record", "--pid", str(proc.pid), "--duration", str(int(args.duration)),
             "--rate", str(args.rate), "--format", "raw", "--function",
             "--output", str(raw)],
            check=True, capture_output=True, timeout=args.duration + 60,
        )
    return (_head(target, "py-spy", args, result) + " (py-spy pauses the server per sample)"
            + "\n\n" + summarise_pyspy(raw, args.top))


def profile_perf(target: str, args: argparse.Namespace, tmp: Path) -> str:
    perf = _tool("perf", "apt install linux-perf")
    data = tmp / "perf.data"
    with under_load(target, args, tmp) as (proc, result):
        subprocess.run([perf, "record", "-F", str(args.rate), "-p", str(proc.pid),
                        "-o", str(data), "--", "sleep", str(int(args.duration))],
                       check=True, capture_output=True, timeout=args.duration + 60)
    out = [_head(target, "perf record", args, result)]
    for key, rows, title in (("dso", 12, "share of samples per shared object"),
                             ("dso,sym", args.top, "share of samples per symbol")):
        report = subprocess.run([perf, "report", "-i", str(data), "--no-children", "--sort",
                                 key, "--stdio"], capture_output=True, text=True, check=True,
                                timeout=120).stdout
        lines = [line.rstrip() for line in report.splitlines()
                 if line.strip() and not line.startswith("#")]
        out += ["", title, *lines[:rows]]
    return "\n".join(out)


def profile_cprofile(target: str, args: argparse.Namespace, tmp: Path) -> str:
    out = tmp / "cprofile.out"
    original = TARGETS[target]
    if original.twistd_pydns:
        # twistd re-raises SIGTERM after shutdown, so ``python -m cProfile`` never gets to
        # write; twistd's own profiler profiles the reactor's run and saves on the way out
        def command(port: int) -> list[str]:
            argv = original.command(port)
            return [argv[0], f"--profile={out}", "--profiler=cprofile", "--savestats",
                    *argv[1:]]

        wrap: list[str] = []
    else:
        # a yardstick returns from reactor.run() on SIGTERM, and cProfile writes its file
        def command(port: int) -> list[str]:
            argv = original.command(port)
            return argv[2:] if argv[0] == sys.executable else argv[1:]

        script = original.command(0)
        script = script[1] if script[0] == sys.executable else script[0]
        wrap = [sys.executable, "-m", "cProfile", "-o", str(out), shutil.which(script) or script]
    queries = BENCH / "queries" / original.queries
    with serving(dataclasses.replace(original, command=command), args, tmp,
                 wrap=wrap) as (_proc, port):
        stats, _ = run_dnsperf(port, queries, args.duration, args, tmp / "load.dnsperf")
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not out.exists():
        log = (tmp / f"{target}.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"profile_target.py: the profiler wrote no statistics\n{log}")
    head = (f"{target}: cProfile for {args.duration:g} s; dnsperf: {stats['qps']:.0f} qps "
            f"under the profiler, {stats['lost_pct']:.3f} % lost")
    return head + "\n\n" + summarise_cprofile(out, stats["completed"], args.top)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="profile a benchmark target under dnsperf load")
    # CoreDNS is Go: py-spy and cProfile see nothing of it
    ap.add_argument("target", choices=list(TARGETS))
    ap.add_argument("--tool", choices=("py-spy", "cprofile", "perf"), default="py-spy")
    ap.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples/s (default 250)")
    ap.add_argument("--out", type=Path, help="also write the summary to this file")
    add_load_options(ap)
    args = ap.parse_args(argv)
    check_load_options(ap, args)
    if TARGETS[args.target].twin_of is not None and args.tool != "perf":
        ap.error(f"{args.target} is CoreDNS (Go): only --tool perf sees into it")
    with tempfile.TemporaryDirectory(prefix="pydns-profile-") as name:
        tmp = Path(name)
        profile = {"py-spy": profile_pyspy, "cprofile": profile_cprofile,
                   "perf": profile_perf}[args.tool]
        text = profile(args.target, args, tmp)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
