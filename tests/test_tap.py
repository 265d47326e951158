"""``twistd pydns``: the dropin, the options and the service they build."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import dns.exception
import dns.message
import dns.query
from twisted.application.service import IServiceMaker
from twisted.internet import defer
from twisted.plugin import getPlugins
from twisted.trial import unittest

from twisted_dns import __version__, tap
from twisted_dns.testing import eventually, free_port

TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")


def run_twistd(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TWISTD, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


class DropinTests(unittest.TestCase):
    def test_twistd_discovers_pydns(self) -> None:
        names = {maker.tapname for maker in getPlugins(IServiceMaker)}
        self.assertIn("pydns", names)

    def test_dropin_does_not_ship_twisted_init(self) -> None:
        from importlib import metadata

        files = {str(path) for path in metadata.files("twisted-dns") or []}
        self.assertNotIn("twisted/__init__.py", files)
        self.assertNotIn("twisted/plugins/__init__.py", files)


class CommandLineTests(unittest.TestCase):
    """The twistd command as a user runs it."""

    def write(self, text: str | bytes, name: str = "Corefile") -> str:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(text.encode() if isinstance(text, str) else text)
        return path

    def hold_port(self) -> int:
        """A loopback port taken for UDP and TCP until the test ends (without SO_REUSEPORT,
        so that nobody can share it)."""
        port = free_port()
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            held = socket.socket(socket.AF_INET, kind)
            self.addCleanup(held.close)
            held.bind(("127.0.0.1", port))
            if kind == socket.SOCK_STREAM:
                held.listen()
        return port

    def assertValidateFails(self, corefile: str | bytes, message: str) -> None:
        """``--validate`` exits with status 1 and ``message`` (after the Corefile's path) as
        its only line."""
        path = self.write(corefile)
        result = run_twistd("pydns", "-c", path, "--validate")
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (1, "", f"pydns: {path}{message}\n"))

    def test_version(self) -> None:
        result = run_twistd("pydns", "--version")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout.strip(), f"twisted-dns {__version__}")

    def test_validate_ok(self) -> None:
        path = self.write("example.org:1053 {\n    whoami\n    log\n}\n")
        result = run_twistd("pydns", "-c", path, "--validate")
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "OK"))

    def test_validate_reports_file_and_line(self) -> None:
        path = self.write("example.org {\n    whoami\n    nosuchplugin\n}\n")
        result = run_twistd("pydns", "-c", path, "--validate")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.strip(),
                         f"pydns: {path}:3: unknown directive 'nosuchplugin'")
        self.assertNotIn("Traceback", result.stderr + result.stdout)

    def test_validate_not_utf8(self) -> None:
        self.assertValidateFails(b"example.org {\n    log caf\xe9\n}\n",
                                 ":2: not UTF-8: byte 0xe9 at column 12")

    def test_validate_bad_zone_origin(self) -> None:
        self.assertValidateFails(
            "example.org {\n    file db.example.org a\u00a9.example.\n}\n",
            ":2: zone is not a valid domain name: a\u00a9.example. (IDNA processing exception: "
            "Codepoint U+00A9 at position 2 of 'a\u00a9' not allowed)")

    def test_validate_rejects_a_scheme_without_transport(self) -> None:
        """As start-up would, without binding anything."""
        self.assertValidateFails("example.org:1053 {\n    whoami\n}\ntls://example.org {\n"
                                 "    whoami\n}\n",
                                 ":4: cannot serve 'tls://example.org': no tls:// transport "
                                 "yet (served: dns://)")

    def test_validate_checks_http_ports(self) -> None:
        self.assertValidateFails("example.org {\n    whoami\n    health :99999\n}\n",
                                 ":3: invalid port '99999'")

    def assertStartFails(self, corefile: str, line: str) -> None:
        """``twistd -n`` exits with status 1, having logged ``line`` ({path} the Corefile's),
        without a traceback."""
        path = self.write(corefile)
        result = run_twistd("-n", "--pidfile=", "pydns", "-c", path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(line.format(path=path), result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_dns_port_in_use(self) -> None:
        port = self.hold_port()
        self.assertStartFails(f"example.org:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n",
                              f" [pydns#error] cannot start: listen 127.0.0.1:{port}: Address "
                              f"already in use\n")

    def test_http_port_in_use(self) -> None:
        """A plugin's startup hook failing at once stops the server as well."""
        port = self.hold_port()
        self.assertStartFails(f"example.org:{free_port()} {{\n    bind 127.0.0.1\n    whoami\n"
                              f"    health 127.0.0.1:{port}\n}}\n",
                              " [server#error] a plugin failed to start: {path}:4: "
                              f"plugin/health: listen tcp 127.0.0.1:{port}: ")

    def test_missing_corefile(self) -> None:
        path = os.path.join(self.mktemp(), "Corefile")
        result = run_twistd("pydns", "-c", path, "--validate")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.strip(),
                         f"pydns: {path}: cannot read Corefile: No such file or directory")

    def test_plugins_listing(self) -> None:
        result = run_twistd("pydns", "--plugins")
        self.assertEqual(result.returncode, 0)
        lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.strip()}
        for name in ("whoami", "log", "errors", "chaos", "health", "ready", "bind"):
            self.assertIn("twisted-dns", lines[name])
        # plugin.cfg order, not alphabetical: log comes before whoami
        names = list(lines)
        self.assertLess(names.index("log"), names.index("whoami"))

    def test_plugin_cfg_replaces_the_order(self) -> None:
        order = self.write("# my order\nwhoami\nlog\n", name="plugin.cfg")
        result = run_twistd("pydns", "--plugin-cfg", order, "--plugins")
        self.assertEqual(result.returncode, 0)
        names = [line.split()[1] for line in result.stdout.splitlines() if line.strip()]
        self.assertLess(names.index("whoami"), names.index("log"))

    def test_bad_plugin_cfg(self) -> None:
        order = self.write("whoami\nno such:name\n", name="plugin.cfg")
        result = run_twistd("pydns", "--plugin-cfg", order, "--validate")
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith(f"pydns: {order}:2: "), result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_local_corefile_used_without_c(self) -> None:
        path = self.write("example.org {\n    bogus\n}\n")
        result = run_twistd("pydns", "--validate", cwd=os.path.dirname(path))
        self.assertEqual(result.stderr.strip(), "pydns: Corefile:2: unknown directive 'bogus'")

    @defer.inlineCallbacks
    def test_serves_queries(self):
        """The README's run command: start twistd, ask it, stop it."""
        port = free_port()
        path = self.write(f"example.org:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
        process = subprocess.Popen([TWISTD, "-n", "--pidfile=", "pydns", "-c", path],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   cwd=os.path.dirname(path))
        self.addCleanup(process.wait, 30)
        self.addCleanup(process.terminate)
        reply = yield eventually(lambda: self.ask(port, process), 30, in_thread=True,
                                 message="twistd did not answer")
        self.assertEqual(reply.rcode(), 0)
        self.assertTrue(reply.flags & 0x0400)  # AA
        addresses = [str(rdata) for rrset in reply.additional if rrset.rdtype == 1
                     for rdata in rrset]
        self.assertEqual(addresses, ["127.0.0.1"])

    def ask(self, port: int, process: subprocess.Popen) -> dns.message.Message | None:
        """twistd's reply, None while it does not answer; fails once it has exited."""
        if process.poll() is not None:
            self.fail(f"twistd exited: {process.stdout.read().decode()}")
        try:
            return dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1",
                                 port=port, timeout=0.5)
        except dns.exception.Timeout:
            return None


class OptionsTests(unittest.TestCase):
    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(list(args))
        return options

    def test_default_corefile(self) -> None:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(directory)
        source = self.parse("-p", "1053").source(registry=None)
        self.assertEqual((source.path, source.text, source.default_port),
                         (None, tap.DEFAULT_COREFILE, 1053))

    def test_dns_port_changes_only_the_default(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "Corefile")
        with open(path, "w") as handle:
            handle.write("example.org {\n    whoami\n}\nexample.net:5300 {\n    whoami\n}\n")
        service = tap.makeService(self.parse("-c", path, "-p", "1053"))
        ports = {key[2] for key in service.listeners}
        self.assertEqual(ports, {1053, 5300})
