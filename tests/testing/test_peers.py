"""The test peers: the process base class, require(), BIND's named as a primary and a
secondary, Unbound, and CoreDNS."""

from __future__ import annotations

import os
import shutil
import tempfile

import dns.message
import dns.query
import dns.rcode
from twisted.internet import defer, threads
from twisted.trial import unittest

from twisted_dns.testing.peers import (
    CoreDNSServer,
    NamedServer,
    PeerProcess,
    UnboundServer,
    require_program,
)

ZONE = os.path.join(os.path.dirname(__file__), os.pardir, "integration", "zones",
                    "db.loop.test")


def ask(port: int, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port,
                         timeout=5)


class Script(PeerProcess):
    """``sh`` running ``script`` as its config file, probed like a DNS server."""

    program = "sh"

    def __init__(self, directory: str, script: str) -> None:
        super().__init__(directory)
        self.script = script

    def config(self) -> str:
        return self.script

    def arguments(self, config: str) -> list[str]:
        return [config]

    def probes(self) -> list[dns.message.Message]:
        return [dns.message.make_query(".", "NS")]


class Missing(Script):
    program = "no-such-dns-server"


class PeerProcessTests(unittest.TestCase):
    def script(self, text: str, peer: type[Script] = Script) -> Script:
        process = peer(self.mktemp(), text)
        self.addCleanup(process.stop)
        return process

    @defer.inlineCallbacks
    def test_dies_at_start_with_its_log(self):
        process = self.script("echo 'fatal: cannot open the zone' >&2\nexit 3\n")
        with self.assertRaises(RuntimeError) as caught:
            yield process.start()
        self.assertEqual(str(caught.exception), "sh exited:\nfatal: cannot open the zone\n")
        self.assertEqual(process.output, "fatal: cannot open the zone\n")
        self.assertEqual(process.arguments("x"), ["x"])
        self.assertTrue(os.path.isfile(os.path.join(process.directory, "sh.conf")))

    @defer.inlineCallbacks
    def test_never_answering_times_out_with_its_log(self):
        process = self.script("echo started\nexec sleep 60\n")
        with self.assertRaises(unittest.FailTest) as caught:
            yield process.start(timeout=0.5)
        self.assertTrue(str(caught.exception).startswith(
            f"sh not answering on port {process.port}:\nstarted\n: still not true after 0.5s"),
            str(caught.exception))
        yield process.stop()  # terminated, and stop fires once it has exited

    @defer.inlineCallbacks
    def test_not_installed(self):
        process = self.script("exit 0\n", Missing)
        self.assertIsNone(Missing.binary())
        with self.assertRaises(FileNotFoundError) as caught:
            yield process.start()
        self.assertEqual(str(caught.exception), "no-such-dns-server is not installed")


class NamedServerTests(unittest.TestCase):
    timeout = 60

    def setUp(self) -> None:
        NamedServer.require()

    def server(self, **kwargs) -> NamedServer:
        directory = tempfile.mkdtemp(prefix="pydns-named-")
        self.addCleanup(shutil.rmtree, directory, True)
        server = NamedServer(directory, **kwargs)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_primary_then_secondary(self):
        """A primary answers once started; a secondary of it is ready once transferred."""
        primary = self.server(zones={"loop.test.": ZONE},
                              extra_zone_options="allow-transfer { any; };")
        yield primary.start()
        self.assertIn("recursion no;", primary.config())
        reply = yield threads.deferToThread(ask, primary.port, "ns.loop.test", "A")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.1")

        secondary = self.server(zones={}, secondaries={"loop.test.": ("127.0.0.1",
                                                                      primary.port)})
        yield secondary.start()
        self.assertNotEqual(secondary.port, primary.port)
        reply = yield threads.deferToThread(ask, secondary.port, "loop.test", "SOA")
        self.assertEqual(reply.answer[0][0].serial, 1)
        self.assertIn("transfer of 'loop.test/IN' from 127.0.0.1", secondary.output)

        yield secondary.stop()
        self.assertIn("exiting", secondary.output)

    @defer.inlineCallbacks
    def test_bad_zone_fails_start_with_the_log(self):
        bad = os.path.join(tempfile.mkdtemp(prefix="pydns-named-zone-"), "db.bad")
        self.addCleanup(shutil.rmtree, os.path.dirname(bad), True)
        with open(bad, "w", encoding="utf-8") as handle:
            handle.write("this is not a zone\n")
        server = self.server(zones={"bad.test.": bad})
        with self.assertRaises(RuntimeError) as caught:
            yield server.start(timeout=10)
        self.assertIn("zone bad.test/IN: not loaded due to errors", str(caught.exception))


class UnboundServerTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_answers_its_records_only(self):
        UnboundServer.require()
        server = UnboundServer(self.mktemp(), {"www.example.org.": ["300 A 192.0.2.1",
                                                                    '300 TXT "a b"']})
        self.addCleanup(server.stop)
        yield server.start()
        reply = yield threads.deferToThread(ask, server.port, "www.example.org", "TXT")
        self.assertEqual(reply.answer[0][0].strings, (b"a b",))
        reply = yield threads.deferToThread(ask, server.port, "other.example.org", "A")
        self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)


class RequireTests(unittest.TestCase):
    def setUp(self) -> None:
        ci = os.environ.pop("CI", None)
        if ci is not None:
            self.addCleanup(os.environ.__setitem__, "CI", ci)

    def test_missing_program_skips_the_test(self):
        with self.assertRaises(unittest.SkipTest) as caught:
            require_program("no-such-dns-server")
        self.assertEqual(str(caught.exception), "no-such-dns-server is not installed")

    def test_missing_program_fails_under_ci(self):
        os.environ["CI"] = "true"
        self.addCleanup(os.environ.pop, "CI")
        with self.assertRaises(AssertionError) as caught:
            require_program("no-such-dns-server")
        self.assertIn("CI must have it", str(caught.exception))

    def test_found_program_is_its_path(self):
        self.assertEqual(require_program("sh"), shutil.which("sh"))


class CoreDNSServerTests(unittest.TestCase):
    timeout = 60

    def setUp(self) -> None:
        CoreDNSServer.require()

    @defer.inlineCallbacks
    def test_corefile_in_port_out(self):
        """Blocks without a port listen on server.port; relative paths are read from the
        directory; the environment reaches {$NAME}; it is the release the tests compare with."""
        directory = self.mktemp()
        os.makedirs(directory)
        shutil.copyfile(ZONE, os.path.join(directory, "db.loop.test"))
        # (CoreDNS reads a plugin's arguments to the end of the line, so "}" gets a line)
        server = CoreDNSServer(directory, "loop.test {\n file db.loop.test\n}\n"
                                          ". {\n template IN TXT {\n answer \"{{ .Name }} 60 "
                                          "TXT {$GREETING}\"\n }\n}\n",
                               environ={"GREETING": "hello"}, probe=("loop.test.", "SOA"))
        self.addCleanup(server.stop)
        yield server.start()
        reply = yield threads.deferToThread(ask, server.port, "ns.loop.test", "A")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.1")
        reply = yield threads.deferToThread(ask, server.port, "hi.example", "TXT")
        self.assertEqual(reply.answer[0][0].strings, (b"hello",))
        self.assertIn(f"CoreDNS-{CoreDNSServer.version}", server.output)

    @defer.inlineCallbacks
    def test_bad_corefile_fails_start_with_the_log(self):
        server = CoreDNSServer(self.mktemp(), ". { no-such-plugin }\n")
        self.addCleanup(server.stop)
        with self.assertRaises(RuntimeError) as caught:
            yield server.start(timeout=10)
        self.assertIn("Unknown directive 'no-such-plugin'", str(caught.exception))
