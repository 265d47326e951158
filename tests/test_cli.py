"""``pydns``, CoreDNS's command line: the flags it maps, and the real command serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import dns.message
import dns.query
import dns.rcode
from twisted.trial import unittest

from twisted_dns.cli import twistd_args
from twisted_dns.testing import free_port

PYDNS = os.path.join(os.path.dirname(sys.executable), "pydns")
COREFILE = "example.org {\n    whoami\n}\n"


class FlagTests(unittest.TestCase):
    """CoreDNS's flags, in Go's syntax, become the twistd command line of the same service."""

    def test_defaults(self) -> None:
        self.assertEqual(twistd_args([]),
                         ["twistd", "-n", "--pidfile=", "pydns", "-p", "53", "--announce"])

    def test_every_flag(self) -> None:
        self.assertEqual(
            twistd_args(["-conf", "/etc/coredns/Corefile", "-dns.port", "1053",
                         "-pidfile", "/run/coredns.pid", "-quiet", "-validate"]),
            ["twistd", "-n", "--pidfile=/run/coredns.pid", "pydns", "-p", "1053",
             "-c", "/etc/coredns/Corefile", "--validate"])

    def test_go_syntax(self) -> None:
        """``-name=value``, ``--name``, ``-p``, and booleans written ``=true``/``=false``."""
        self.assertEqual(twistd_args(["--conf=stdin", "-p=5300", "-plugins=true",
                                      "-quiet=false"]),
                         ["twistd", "-n", "--pidfile=", "pydns", "-p", "5300", "-c", "-",
                          "--plugins", "--announce"])

    def test_extra_arguments_are_an_error(self) -> None:
        exc = self.assertRaises(SystemExit, twistd_args, ["-conf", "Corefile", "stray"])
        self.assertEqual(exc.code, 2)

    def test_port_must_be_a_number(self) -> None:
        exc = self.assertRaises(SystemExit, twistd_args, ["-dns.port", "fifty"])
        self.assertEqual(exc.code, 2)


class CommandTests(unittest.TestCase):
    """The installed ``pydns`` console script, run as a container would run CoreDNS."""

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)

    def run_pydns(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([PYDNS, *args], input=stdin, capture_output=True, text=True,
                              cwd=self.directory, timeout=60, check=False)

    def test_version(self) -> None:
        result = self.run_pydns("-version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^twisted-dns \d+\.\d+")

    def test_validate_from_stdin(self) -> None:
        result = self.run_pydns("-conf", "stdin", "-validate", stdin=COREFILE)
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "OK"), result.stderr)
        bad = self.run_pydns("-conf", "stdin", "-validate", stdin="example.org {\n    nope\n}\n")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("stdin:2: unknown directive 'nope'", bad.stderr)

    def test_serves_from_stdin_without_a_pid_file(self) -> None:
        port = free_port()
        process = subprocess.Popen([PYDNS, "-conf", "stdin", "-dns.port", str(port)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=self.directory)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        process.stdin.write(COREFILE)
        process.stdin.close()
        lines = []
        for line in process.stdout:  # CoreDNS's start-up lines come once it serves
            lines.append(line)
            if line.startswith("twisted-dns-"):
                break
        self.assertIn(f"example.org.:{port}\n", lines, "".join(lines))
        reply = dns.query.udp(dns.message.make_query("a.example.org", "A"), "127.0.0.1",
                              port=port, timeout=5)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        process.send_signal(signal.SIGTERM)
        # twistd ends by re-raising the signal it stopped for, so the status says SIGTERM
        self.assertEqual(process.wait(30), -signal.SIGTERM)
        self.assertEqual(os.listdir(self.directory), [])  # no twistd.pid, no log file

    def test_pidfile_and_quiet(self) -> None:
        port, pidfile = free_port(), os.path.join(self.directory, "coredns.pid")
        corefile = os.path.join(self.directory, "Corefile")
        with open(corefile, "w", encoding="utf-8") as handle:
            handle.write(COREFILE)
        process = subprocess.Popen([PYDNS, "-conf", corefile, "-p", str(port), "-quiet",
                                    "-pidfile", pidfile], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=self.directory)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        for _ in range(200):  # until it answers (each try waits up to 0.1 s)
            try:
                dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1",
                              port=port, timeout=0.1)
                break
            except dns.exception.Timeout:
                continue
        with open(pidfile, encoding="ascii") as handle:
            self.assertEqual(int(handle.read()), process.pid)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
        self.assertNotIn("twisted-dns-", output)  # -quiet: no start-up lines
        self.assertFalse(os.path.exists(pidfile))
