"""Tests of the benchmark harness itself (no timing is asserted anywhere).

    python -m twisted.trial bench/test_bench.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import dns.flags
import dns.message
import dns.rdatatype

BENCH = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


run = _load("run", BENCH / "run.py")
udp_echo = _load("bench_udp_echo", BENCH / "yardsticks" / "udp_echo.py")
names_server = _load("bench_names_server", BENCH / "yardsticks" / "names_server.py")
unbound_server = _load("bench_unbound_server", BENCH / "yardsticks" / "unbound_server.py")
file_zone = _load("bench_file_zone", BENCH / "file_zone.py")


def coredns_or_skip() -> None:
    """Skip without CoreDNS, except in CI, which must have it (.ci/run installs it)."""
    if run.coredns_binary() is None:
        if os.environ.get("CI"):
            raise AssertionError(f"coredns {run.COREDNS_VERSION} not found: .ci/run installs it")
        raise unittest.SkipTest(f"needs coredns {run.COREDNS_VERSION}")


def no_pin() -> argparse.Namespace:
    return run.parse_args(["--no-pin", "--start-timeout", "30"])


def comparable(reply: dns.message.Message) -> tuple:
    """A reply as CoreDNS and pydns should agree on it: rcode, flags, sections as sorted text
    without TTLs (in a negative answer pydns gives the SOA the smaller of its TTL and MINIMUM,
    RFC 2308; CoreDNS the SOA's TTL) and in lower case (pydns keeps the question's case)."""
    def section(rrsets: list) -> list[str]:
        lines = (line.lower().split() for rrset in rrsets for line in rrset.to_text().split("\n"))
        return sorted(" ".join([fields[0], *fields[2:]]) for fields in lines)

    return (reply.rcode(), reply.flags, section(reply.answer), section(reply.authority),
            section(reply.additional))

DNSPERF_OUTPUT = """\
DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 15353 -d queries/example.org-A -l 3
[Status] Sending queries (to 127.0.0.1:15353)
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         164414
  Queries completed:    164400 (99.99%)
  Queries lost:         14 (0.01%)

  Response codes:       NOERROR 164000 (99.76%), SERVFAIL 400 (0.24%)
  Average packet size:  request 29, response 29
  Run time (s):         3.001671
  Queries per second:   54769.5

  Average Latency (s):  0.001765 (min 0.000031, max 0.004045)
  Latency StdDev (s):   0.000165

"""


class ParseDnsperfTests(unittest.TestCase):
    def test_statistics(self) -> None:
        stats = run.parse_dnsperf(DNSPERF_OUTPUT)
        self.assertEqual(stats["sent"], 164414)
        self.assertEqual(stats["completed"], 164400)
        self.assertEqual(stats["lost"], 14)
        self.assertAlmostEqual(stats["lost_pct"], 100 * 14 / 164414)
        self.assertEqual(stats["qps"], 54769.5)
        self.assertEqual(stats["runtime_s"], 3.001671)
        self.assertEqual(stats["avg_latency_s"], 0.001765)
        self.assertEqual(stats["min_latency_s"], 0.000031)
        self.assertEqual(stats["max_latency_s"], 0.004045)
        self.assertEqual(stats["stddev_latency_s"], 0.000165)
        self.assertEqual(stats["rcodes"], {"NOERROR": 164000, "SERVFAIL": 400})

    def test_nothing_completed(self) -> None:
        text = DNSPERF_OUTPUT.split("  Average Latency")[0]
        stats = run.parse_dnsperf(text)
        self.assertIsNone(stats["avg_latency_s"])
        self.assertIsNone(stats["max_latency_s"])

    def test_not_dnsperf_output(self) -> None:
        with self.assertRaises(ValueError):
            run.parse_dnsperf("Error: could not open file\n")


class EchoReplyTests(unittest.TestCase):
    def test_reply_matches_query(self) -> None:
        query = dns.message.make_query("Example.ORG.", "AAAA", use_edns=0)
        query.flags |= dns.flags.CD
        reply_wire = udp_echo.reply_for(query.to_wire())
        reply = dns.message.from_wire(reply_wire)
        self.assertTrue(query.is_response(reply))
        self.assertEqual(reply.id, query.id)
        self.assertTrue(reply.flags & dns.flags.QR)
        self.assertTrue(reply.flags & dns.flags.RD)
        self.assertFalse(reply.flags & dns.flags.CD)
        self.assertEqual(reply.question, query.question)
        self.assertEqual(reply.question[0].rdtype, dns.rdatatype.AAAA)
        self.assertEqual((reply.answer, reply.authority, reply.additional), ([], [], []))
        self.assertEqual(reply.edns, -1)

    def test_unanswerable(self) -> None:
        wire = dns.message.make_query("example.org.", "A").to_wire()
        self.assertIsNone(udp_echo.reply_for(wire[:11]))  # short header
        self.assertIsNone(udp_echo.reply_for(wire[:15]))  # question cut short
        self.assertIsNone(udp_echo.reply_for(wire[:2] + b"\x80" + wire[3:]))  # a response
        no_question = wire[:4] + b"\x00\x00" + wire[6:12]
        self.assertIsNone(udp_echo.reply_for(no_question))
        pointer = wire[:12] + b"\xc0\x0c\x00\x01\x00\x01"
        self.assertIsNone(udp_echo.reply_for(pointer))


class NamesYardstickTests(unittest.TestCase):
    def test_one_record(self) -> None:
        zone = names_server.OneRecordAuthority(None)
        results = []
        zone.lookupAddress("example.org").addCallback(results.append)
        (answers, _authority, _additional), = results
        self.assertEqual([rr.payload.dottedQuad() for rr in answers], ["127.0.0.1"])


class UnboundYardstickTests(unittest.TestCase):
    def test_a_record_per_queried_name(self) -> None:
        queries = BENCH / "queries" / "bench.example-A"
        names = [line.split()[0] for line in queries.read_text().splitlines()]
        self.assertGreaterEqual(len(names), 24)  # "a few dozen": the cache target's working set
        records = unbound_server.records(queries)
        self.assertEqual(list(records), names)
        self.assertEqual(len({rrs[0] for rrs in records.values()}), len(names))
        with tempfile.TemporaryDirectory() as tmp:
            conf = unbound_server.server(5399, tmp, queries).config()
        self.assertIn("interface: 127.0.0.1@5399", conf)
        self.assertIn('local-zone: "." static', conf)
        for name in names:
            self.assertIn(f'local-data: "{name} 3600 IN A ', conf)

    def test_duplicates_and_comments(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "q"
            path.write_text("# comment\na.example. A\n\na.example. AAAA\nb.example. A\n")
            self.assertEqual(unbound_server.records(path), {
                "a.example.": ["3600 IN A 192.0.2.1"], "b.example.": ["3600 IN A 192.0.2.2"]})


class FileZoneTests(unittest.TestCase):
    def test_committed_files_are_what_file_zone_writes(self) -> None:
        self.assertEqual(file_zone.ZONE.read_text(), file_zone.zone_text())
        self.assertEqual(file_zone.QUERIES.read_text(), file_zone.queries_text())
        self.assertEqual(run.TARGETS["file"].queries, file_zone.QUERIES.name)

    def test_zone_size(self) -> None:
        owners = {line.split()[0] for line in file_zone.zone_text().splitlines()
                  if not line.startswith("$")}
        self.assertTrue(300 <= len(owners) <= 3000, len(owners))


class CorefileTests(unittest.TestCase):
    def test_upstream_from_the_environment(self) -> None:
        from twisted_dns.corefile.parser import load

        for name, directives in (("cache", ["cache", "forward"]), ("forward", ["forward"])):
            self.assertTrue(run.TARGETS[name].upstream)
            blocks = load(str(BENCH / "corefiles" / name),
                          environ={"PYDNS_BENCH_UPSTREAM": "127.0.0.1:5399"})
            self.assertEqual(len(blocks), 1)
            text = (BENCH / "corefiles" / name).read_text()
            self.assertIn("forward . {$PYDNS_BENCH_UPSTREAM}", text)
            for directive in directives:
                self.assertIn(f"    {directive}", text)


class ReportTests(unittest.TestCase):
    def records(self) -> list[dict]:
        stats = run.parse_dnsperf(DNSPERF_OUTPUT)
        stats.update(server_cpu_pct=99.0, server_cpu_other_pct=1.0, client_cpu_pct=40.0)
        whoami = {"target": "whoami",
                  "runs": [dict(stats, qps=q, qps_per_cpu=q * 2) for q in (30.0, 10.0, 20.0)]}
        names = {"target": "names", "runs": [dict(stats, qps=10.0, qps_per_cpu=10.0)]}
        echo = {"target": "echo", "runs": [], "error": "server exited"}
        for record in (whoami, names, echo):
            run.summarise(record)
        return [whoami, names, echo]

    def test_median_and_ratio(self) -> None:
        whoami, names, echo = records = self.records()
        self.assertEqual(whoami["result"]["qps"], 20.0)
        self.assertEqual(whoami["qps_all"], [30.0, 10.0, 20.0])
        self.assertNotIn("qps_stdev", names)
        self.assertNotIn("result", echo)
        self.assertEqual(whoami["qps_per_cpu"], 40.0)
        self.assertEqual(run.ratio(records, "whoami", "names"), 2.0)
        self.assertEqual(run.ratio(records, "whoami", "names", "qps_per_cpu"), 4.0)
        self.assertIsNone(run.ratio(records, "whoami", "echo"))

    def test_table(self) -> None:
        lines = run.table(self.records()).splitlines()
        self.assertEqual(len(lines), 5)
        self.assertEqual(lines[2].split()[:4], ["whoami", "20", "10-30", "40"])
        self.assertIn("NOERROR=164000 SERVFAIL=400", lines[2])
        self.assertTrue(lines[4].startswith("echo") and "FAILED" in lines[4])
        self.assertIn("unbound cpu %", lines[0])

    def test_verdicts(self) -> None:
        stats = run.parse_dnsperf(DNSPERF_OUTPUT)
        records = []
        for name, qps, per_cpu in (("cache", 25_000.0, 30_000.0), ("echo", 50_000.0, 60_000.0),
                                   ("forward", 16_000.0, 14_000.0)):
            record = {"target": name, "runs": [dict(stats, qps=qps, qps_per_cpu=per_cpu)]}
            run.summarise(record)
            records.append(record)
        self.assertEqual(run.verdicts(records), [
            "target cache / echo >= 0.45 (qps): 0.50x, met",
            "target cache / echo >= 0.45 (qps_per_cpu): 0.50x, met",
            "target forward >= 15000 (qps): 16000, met",
            "target forward >= 15000 (qps_per_cpu): 14000, NOT met",
        ])
        self.assertEqual(run.verdicts(records[1:2]), [])


class CoreDNSReportTests(unittest.TestCase):
    def records(self) -> list[dict]:
        stats = run.parse_dnsperf(DNSPERF_OUTPUT)
        records = []
        for name, qps, per_cpu in (("whoami", 60_000.0, 66_000.0),
                                   ("coredns-whoami", 50_000.0, 60_000.0),
                                   ("cache", 40_000.0, 45_000.0),
                                   ("coredns-cache", 80_000.0, 90_000.0),
                                   ("forward", 20_000.0, 24_000.0),
                                   ("coredns-forward", 25_000.0, 30_000.0),
                                   ("file", 10_000.0, 11_000.0)):
            record = {"target": name, "runs": [dict(stats, qps=qps, qps_per_cpu=per_cpu)]}
            run.summarise(record)
            records.append(record)
        return records

    def test_pydns_over_coredns(self) -> None:
        """Every pair whose two targets ran, by qps and by qps per server CPU-second; file
        has no CoreDNS run here, so no ratio."""
        ratios = run.ratios(self.records())
        self.assertEqual(ratios["whoami/coredns-whoami"], {"qps": 1.2, "qps_per_cpu": 1.1})
        self.assertEqual(ratios["cache/coredns-cache"], {"qps": 0.5, "qps_per_cpu": 0.5})
        self.assertEqual(ratios["forward/coredns-forward"], {"qps": 0.8, "qps_per_cpu": 0.8})
        self.assertNotIn("file/coredns-file", ratios)
        self.assertEqual(set(ratios), {"whoami/coredns-whoami", "cache/coredns-cache",
                                       "forward/coredns-forward"})

    def test_goals(self) -> None:
        lines = [line for line in run.verdicts(self.records()) if line.startswith("goal")]
        self.assertEqual(lines, [
            "goal whoami / coredns-whoami >= 1.0 (qps_per_cpu): 1.10x, met",
            "goal cache / coredns-cache >= 1.0 (qps_per_cpu): 0.50x, NOT met",
            "goal forward / coredns-forward >= 0.8 (qps_per_cpu): 0.80x, met",
        ])

    def test_twins(self) -> None:
        """Each CoreDNS target serves its pydns twin's Corefile and queries, on one Go
        thread, with an Unbound of its own when pydns's has one."""
        self.assertEqual(run.COREDNS_PAIRS, (("whoami", "coredns-whoami"),
                                             ("file", "coredns-file"),
                                             ("cache", "coredns-cache"),
                                             ("forward", "coredns-forward")))
        with mock.patch.object(run, "coredns_binary", return_value="/opt/coredns"):
            for name, twin_name in run.COREDNS_PAIRS:
                pydns, twin = run.TARGETS[name], run.TARGETS[twin_name]
                argv = twin.command(5399)
                self.assertEqual(argv[0], "/opt/coredns")
                self.assertEqual(argv[argv.index("-conf") + 1],
                                 pydns.command(5399)[pydns.command(5399).index("-c") + 1])
                self.assertEqual(argv[argv.index("-dns.port") + 1], "5399")
                self.assertEqual((twin.queries, twin.upstream), (pydns.queries, pydns.upstream))
                self.assertEqual(dict(twin.env), {"GOMAXPROCS": "1"})
                self.assertFalse(twin.twistd_pydns)

    def test_binary_from_gopath(self) -> None:
        with tempfile.TemporaryDirectory() as gopath:
            binary = Path(gopath) / "bin" / "coredns"
            binary.parent.mkdir()
            binary.write_text("#!/bin/sh\n")
            gone = Path(gopath) / "none"
            for mode, output, expected in ((0o755, gopath, str(binary)),
                                           (0o644, gopath, None),
                                           (0o755, str(gone), None)):
                binary.chmod(mode)
                done = mock.Mock(stdout=f"{output}\n")
                with (mock.patch.object(run.shutil, "which", return_value=None),
                      mock.patch.object(run.subprocess, "run", return_value=done)):
                    self.assertEqual(run.coredns_binary(), expected)

    def test_missing_coredns_is_a_clear_failure(self) -> None:
        with (mock.patch.object(run, "coredns_binary", return_value=None),
              tempfile.TemporaryDirectory() as tmp,
              self.assertRaises(RuntimeError) as caught,
              run.serving(run.TARGETS["coredns-whoami"], no_pin(), Path(tmp))):
            pass
        self.assertIn("coredns not found", str(caught.exception))
        self.assertIn(f"go install github.com/coredns/coredns@{run.COREDNS_VERSION}",
                      str(caught.exception))


class ProcessTests(unittest.TestCase):
    def args(self) -> argparse.Namespace:
        return no_pin()

    def test_free_port(self) -> None:
        self.assertTrue(1024 <= run.free_port() <= 65535)

    def test_dropin_env(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            with mock.patch.object(importlib.util, "find_spec", return_value=None):
                env = run.dropin_env(Path(tmp))
            dropin = Path(tmp) / "dropin"
            self.assertEqual(env["PYTHONPATH"].split(os.pathsep)[0], str(dropin))
            self.assertTrue((dropin / "twisted" / "plugins" / "pydns.py").exists())
            self.assertFalse((dropin / "twisted" / "__init__.py").exists())

    def test_yardsticks_serve(self) -> None:
        """Each yardstick starts, answers a query, and stops on SIGTERM."""
        args = self.args()
        for name in ("echo", "names"):
            with tempfile.TemporaryDirectory() as tmp:
                with run.serving(run.TARGETS[name], args, Path(tmp)) as (proc, port):
                    self.assertTrue(run.answers(port, 2.0))
                self.assertIsNotNone(proc.returncode)

    @unittest.skipUnless(unbound_server.UnboundServer.binary(), "needs unbound")
    def test_forward_target_reaches_its_unbound(self) -> None:
        """The forward target answers a bench name with the record its own Unbound holds;
        both processes are gone afterwards."""
        import dns.query

        query = dns.message.make_query("host07.bench.example.", "A")
        with tempfile.TemporaryDirectory() as tmp:
            with run.serving(run.TARGETS["forward"], self.args(), Path(tmp)) as (proc, port):
                helper = proc.upstream
                self.assertIsNotNone(helper)
                reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
                direct = dns.query.udp(query, "127.0.0.1", port=int(helper.args[-1]),
                                       timeout=5)
            self.assertIsNotNone(proc.returncode)
            self.assertIsNotNone(helper.returncode)
        self.assertEqual([rr.to_text() for rr in reply.answer[0]], ["192.0.2.8"])
        self.assertEqual(reply.answer, direct.answer)

    def mix_samples(self) -> dict[str, tuple[str, str]]:
        """One line of the file target's query mix per kind of answer it must hold."""
        patterns = {
            "hit": r"host\d+\.bench\.test\. (TXT|MX)", "nxdomain": r"nohost\d+\.\S+ A",
            "nodata": r"host\d+\.bench\.test\. (SRV|PTR)", "wildcard": r"x\d+\.wild\d+\.\S+ TXT",
            "cname": r"chain\d+\.bench\.test\. A", "referral": r"www\.sub\d+\.\S+ A",
            "mixed case": r"(?=.*[A-Z].* )[Aa][Ll][Ii][Aa][Ss]\d+\.\S+ A",
        }
        lines = file_zone.QUERIES.read_text().splitlines()
        samples = {}
        for kind, pattern in patterns.items():
            line = next((line for line in lines if re.fullmatch(pattern, line)), None)
            self.assertIsNotNone(line, f"no {kind} question in the mix")
            samples[kind] = tuple(line.split())
        return samples

    def test_file_target_answers_the_mix(self) -> None:
        """pydns serves the file zone (found through PYDNS_BENCH_DIR) with every kind of
        answer the mix is meant to hold."""
        import dns.query
        import dns.rcode

        replies = {}
        with (tempfile.TemporaryDirectory() as tmp,
              run.serving(run.TARGETS["file"], self.args(), Path(tmp)) as (_proc, port)):
            for kind, (name, rdtype) in self.mix_samples().items():
                query = dns.message.make_query(name, rdtype)
                replies[kind] = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
        for kind in ("hit", "wildcard", "cname", "mixed case"):
            self.assertEqual(replies[kind].rcode(), dns.rcode.NOERROR, kind)
            self.assertTrue(replies[kind].answer, kind)
        self.assertEqual(replies["nxdomain"].rcode(), dns.rcode.NXDOMAIN)
        self.assertEqual((replies["nodata"].rcode(), replies["nodata"].answer),
                         (dns.rcode.NOERROR, []))
        self.assertEqual(replies["nodata"].authority[0].rdtype, dns.rdatatype.SOA)
        self.assertEqual(len(replies["cname"].answer), 3)  # chain -> alias -> host's A
        referral = replies["referral"]
        self.assertFalse(referral.flags & dns.flags.AA)
        self.assertEqual((referral.answer, referral.authority[0].rdtype), ([], dns.rdatatype.NS))
        wildcard = replies["wildcard"]
        self.assertEqual(wildcard.answer[0].name, wildcard.question[0].name)

    def test_coredns_file_answers_like_pydns(self) -> None:
        coredns_or_skip()
        import dns.query

        samples = self.mix_samples()
        replies: dict[str, list] = {}
        for name in ("file", "coredns-file"):
            with (tempfile.TemporaryDirectory() as tmp,
                  run.serving(run.TARGETS[name], self.args(), Path(tmp)) as (proc, port)):
                replies[name] = [
                    comparable(dns.query.udp(dns.message.make_query(*sample), "127.0.0.1",
                                             port=port, timeout=5))
                    for sample in samples.values()]
            self.assertIsNotNone(proc.returncode)
        self.assertEqual(replies["coredns-file"], replies["file"])

    def test_coredns_whoami_answers_like_pydns(self) -> None:
        """Same reply byte for byte but the ID, asked from the same source port."""
        coredns_or_skip()
        import dns.query

        source = run.free_port()
        replies = {}
        for name in ("whoami", "coredns-whoami"):
            query = dns.message.make_query("example.org.", "A")
            with (tempfile.TemporaryDirectory() as tmp,
                  run.serving(run.TARGETS[name], self.args(), Path(tmp)) as (_proc, port)):
                reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=5,
                                      source="127.0.0.1", source_port=source)
            replies[name] = reply.to_wire()[2:]
        self.assertEqual(replies["coredns-whoami"], replies["whoami"])
        self.assertIn(f" SRV 0 0 {source} .", dns.message.from_wire(
            b"\0\0" + replies["whoami"]).to_text())

    @unittest.skipUnless(unbound_server.UnboundServer.binary(), "needs unbound")
    def test_coredns_upstream_targets_reach_their_unbound(self) -> None:
        """CoreDNS reads {$PYDNS_BENCH_UPSTREAM} from the same Corefiles as pydns."""
        coredns_or_skip()
        import dns.query

        query = dns.message.make_query("host07.bench.example.", "A")
        for name in ("coredns-forward", "coredns-cache"):
            with (tempfile.TemporaryDirectory() as tmp,
                  run.serving(run.TARGETS[name], self.args(), Path(tmp)) as (proc, port)):
                self.assertIsNotNone(proc.upstream)
                reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
            self.assertIsNotNone(proc.upstream.returncode)
            self.assertEqual([rr.to_text() for rr in reply.answer[0]], ["192.0.2.8"], name)

    def test_server_that_exits(self) -> None:
        target = run.Target("broken", "exits at once", "example.org-A",
                            lambda port: [sys.executable, "-c", "print('boom')"])
        with (tempfile.TemporaryDirectory() as tmp, self.assertRaises(RuntimeError) as caught,
              run.serving(target, self.args(), Path(tmp))):
            pass
        self.assertIn("boom", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
