"""``pkg.named.NamedServer``: BIND's named started for tests, as a primary and a secondary."""

from __future__ import annotations

import os
import shutil
import tempfile

import dns.message
import dns.query
from twisted.internet import defer, threads
from twisted.trial import unittest

from twisted_dns.pkg.named import NamedServer, named_path

ZONE = os.path.join(os.path.dirname(__file__), os.pardir, "integration", "zones",
                    "db.loop.test")


def ask(port: int, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port,
                         timeout=5)


class NamedServerTests(unittest.TestCase):
    timeout = 60

    def setUp(self) -> None:
        if named_path() is None:
            raise unittest.SkipTest("BIND's named is not installed")

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
