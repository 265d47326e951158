"""The *auto* plugin: setup, the directory scan (add, drop, reload), the handler and a server."""

from __future__ import annotations

import os
import re

import dns.flags
import dns.rcode
from twisted.internet import defer, task
from twisted.logger import capturedLogs
from twisted.trial import unittest

from tests.plugins.zonefiles import Folder, zone_text
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IReadiness, ITransferSource
from twisted_dns.plugins.auto.auto import Auto
from twisted_dns.plugins.auto.scan import Scanner, origin_of
from twisted_dns.plugins.auto.setup import parse_options, setup
from twisted_dns.plugins.file import Zones
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    ClockedReactor,
    NextPlugin,
    check_examples,
    configure,
    controller,
    corefile_examples,
    eventually,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)


class OriginTests(unittest.TestCase):
    def test_default_regexp_and_template(self) -> None:
        pattern = re.compile(r"db\.(.*)")
        self.assertEqual(origin_of(pattern, "{1}", "db.Example.ORG"), "example.org.")
        self.assertIsNone(origin_of(pattern, "{1}", "example.org"))

    def test_regexp_is_searched_and_groups_fill_the_template(self) -> None:
        pattern = re.compile(r"(\w+)\.zone\.(\w+)")
        self.assertEqual(origin_of(pattern, "{1}.{2}.test", "x-net.zone.org"), "net.org.test.")
        # a missing group expands to nothing
        self.assertEqual(origin_of(pattern, "{1}{7}.test", "a.zone.b"), "a.test.")

    def test_named_group(self) -> None:
        pattern = re.compile(r"db\.(?P<zone>.*)")
        self.assertEqual(origin_of(pattern, "{zone}", "db.example.net"), "example.net.")


class SetupTests(Folder):
    def options(self, corefile: str):
        return parse_options(controller("auto", corefile, root=self.dir))

    def test_defaults(self) -> None:
        options = self.options("example.org {\n    auto\n}\n")
        self.assertEqual(options.origins, ["example.org."])
        self.assertIsNone(options.directory)
        self.assertEqual(options.pattern.pattern, r"db\.(.*)")
        self.assertEqual(options.template, "{1}")
        self.assertEqual(options.reload.seconds, 60.0)

    def test_everything(self) -> None:
        options = self.options(". {\n    auto Example.ORG example.net {\n"
                               "        directory zones www\\.db\\.(.*) {1}\n"
                               "        reload 45s\n        fallthrough example.net\n"
                               "        upstream 8.8.8.8\n    }\n}\n")
        self.assertEqual(options.origins, ["example.org.", "example.net."])
        self.assertEqual(options.directory, os.path.join(self.dir, "zones"))
        self.assertEqual(options.pattern.pattern, r"www\.db\.(.*)")
        self.assertEqual(options.reload.seconds, 45.0)
        self.assertTrue(options.fall.through("x.example.net."))
        self.assertFalse(options.fall.through("x.example.org."))

    def test_deprecated_timeout_is_accepted(self) -> None:
        with capturedLogs() as events:
            options = self.options(". {\n    auto {\n        directory /x db\\.(.*) {1} 45\n"
                                   "    }\n}\n")
        self.assertEqual(options.reload.seconds, 60.0)
        self.assertTrue(any("deprecated" in str(e.get("log_format")) for e in events))

    def test_errors(self) -> None:
        cases = {
            "directory": "wrong argument count",
            "directory /x (": "error parsing regexp",
            "directory /x db\\..* {1}": "Need at least one sub expression",
            "directory /x db\\.(.*)": "wrong argument count",
            "directory /x db\\.(.*) {1} 45 46": "wrong argument count",
            "directory /x db\\.(.*) {1} soon": "wrong argument count",
            "reload": "reload duration value is expected",
            "reload 1x": "time: unknown unit",
            "reload -1s": "invalid duration",
            "transfer to *": "unknown property 'transfer'",
        }
        for line, message in cases.items():
            with self.assertRaises(ConfigError, msg=line) as raised:
                self.options(f". {{\n    auto {{\n        {line}\n    }}\n}}\n")
            self.assertIn(message, str(raised.exception), line)
            self.assertIn("Corefile:3", str(raised.exception), line)


class ScanTests(Folder):
    """The scanner with a fake clock and parses run in the reactor thread."""

    def scanner(self, origins=(".",), interval: float = 60.0) -> Scanner:
        self.clock = task.Clock()
        self.zones = Zones()
        return Scanner(self.dir, re.compile(r"db\.(.*)"), "{1}", list(origins), self.zones,
                       interval, self.clock, run=defer.maybeDeferred)

    def test_first_scan_loads_every_matching_file_recursively(self) -> None:
        self.write("db.example.org", zone_text())
        self.write("sub/db.example.net", zone_text(address="192.0.2.81"))
        self.write("README", "not a zone")
        scanner = self.scanner()
        scanner.load()
        self.assertEqual(sorted(self.zones.origins), ["example.net.", "example.org."])
        www = self.zones["example.net."].get("www.example.net.", 1)
        self.assertEqual(www[0].address, "192.0.2.81")

    def test_directives_load(self) -> None:
        """$UNICODE, $GENERATE and a relative $INCLUDE (from the zone file's folder) work."""
        self.write("sub/extra.inc", "inc IN A 192.0.2.7\n")
        self.write("sub/db.example.org", "$UNICODE 2008\n" + zone_text()
                   + "$GENERATE 1-3 gen$ A 192.0.2.$\n$INCLUDE extra.inc\n")
        self.scanner().load()
        zone = self.zones["example.org."]
        self.assertEqual(zone.get("gen3.example.org.", 1)[0].address, "192.0.2.3")
        self.assertEqual(zone.get("inc.example.org.", 1)[0].address, "192.0.2.7")

    def test_bad_file_is_skipped(self) -> None:
        self.write("db.example.org", zone_text())
        self.write("db.broken.test", "@ IN SOA oops\n")
        with capturedLogs() as events:
            self.scanner().load()
        self.assertEqual(self.zones.origins, ["example.org."])
        self.assertTrue(any(e.get("origin") == "broken.test." for e in events))

    def test_zones_that_can_never_be_queried_are_not_read(self) -> None:
        self.write("db.example.org", zone_text())
        self.write("db.sub.example.org", zone_text())
        self.write("db.org", zone_text())
        self.write("db.example.com", zone_text())
        self.scanner(origins=["example.org."]).load()
        self.assertEqual(sorted(self.zones.origins), ["example.org.", "org.", "sub.example.org."])

    def test_first_file_wins_for_an_origin(self) -> None:
        self.write("a/db.example.org", zone_text(address="192.0.2.1"))
        self.write("b/db.example.org", zone_text(address="192.0.2.2"))
        with capturedLogs():
            self.scanner().load()
        www = self.zones["example.org."].get("www.example.org.", 1)
        self.assertEqual(www[0].address, "192.0.2.1")

    def test_rescan_adds_reloads_and_drops(self) -> None:
        self.write("db.example.org", zone_text(serial=1))
        old = self.write("db.example.net", zone_text())
        scanner = self.scanner(interval=30)
        scanner.load()
        scanner.start()
        self.addCleanup(scanner.stop)
        self.write("db.example.org", zone_text(serial=2, address="192.0.2.99"))
        self.write("db.new.test", zone_text())
        os.remove(old)
        with capturedLogs():
            self.clock.advance(29)
            self.assertEqual(self.zones["example.org."].serial, 1)  # not yet
            self.clock.advance(1)
        self.assertEqual(sorted(self.zones.origins), ["example.org.", "new.test."])
        self.assertEqual(self.zones["example.org."].serial, 2)
        self.assertNotIn("example.net.", scanner.files)

    def test_changed_file_without_a_greater_serial_is_not_reloaded(self) -> None:
        self.write("db.example.org", zone_text(serial=5))
        scanner = self.scanner()
        scanner.load()
        self.write("db.example.org", zone_text(serial=5, address="192.0.2.99"))
        with capturedLogs():
            scanner.scan()
        www = self.zones["example.org."].get("www.example.org.", 1)
        self.assertEqual(www[0].address, "192.0.2.80")

    def test_broken_change_keeps_the_zone(self) -> None:
        self.write("db.example.org", zone_text(serial=1))
        scanner = self.scanner()
        scanner.load()
        self.write("db.example.org", "$TTL bad\n")
        with capturedLogs():
            scanner.scan()
        self.assertEqual(self.zones["example.org."].serial, 1)

    def test_missing_directory_then_created(self) -> None:
        self.dir = os.path.join(self.dir, "later")
        with capturedLogs():
            scanner = self.scanner()
            scanner.load()
        self.assertEqual(self.zones.origins, [])
        self.write("db.example.org", zone_text())
        scanner.scan()
        self.assertEqual(self.zones.origins, ["example.org."])

    def test_reload_zero_never_rescans(self) -> None:
        scanner = self.scanner(interval=0)
        scanner.load()
        scanner.start()
        self.write("db.example.org", zone_text())
        self.clock.advance(3600)
        self.assertEqual(self.zones.origins, [])

    def test_scan_waits_for_a_running_one(self) -> None:
        self.write("db.example.org", zone_text())
        parses: list[defer.Deferred] = []
        scanner = self.scanner()
        scanner.run = lambda *a: parses.append(defer.Deferred()) or parses[-1]
        first = scanner.scan()
        self.assertIs(scanner.scan(), first)
        self.assertEqual(len(parses), 1)


class HandlerTests(Folder):
    def serve(self, corefile: str):
        config = configure(setup, "auto", corefile)
        self.next = NextPlugin()
        plugin = config.plugins[0]
        plugin.next = self.next
        return plugin

    def ask(self, plugin, name: str, rdtype: str = "A"):
        request = make_request(name, rdtype)
        writer = CaptureWriter(request)
        rcode = plugin.ServeDNS(request, writer)
        return rcode, writer

    def test_answers_only_under_the_block_zones(self) -> None:
        self.write("db.example.org", zone_text())
        self.write("db.example.net", zone_text())
        plugin = self.serve(f". {{\n    auto example.org {{\n        directory {self.dir}\n"
                            "    }\n}\n")
        self.assertIsInstance(plugin, Auto)
        self.assertEqual(plugin.Name(), "auto")
        self.assertTrue(IReadiness.providedBy(plugin) and plugin.Ready())
        # what *file* offers the *transfer* plugin, auto offers too
        self.assertTrue(ITransferSource.providedBy(plugin))
        self.assertEqual(plugin.Transfer("example.org.").serial, 1)
        _, writer = self.ask(plugin, "WWW.example.org")
        reply = reply_of(writer)
        self.assertEqual(reply.answer[0][0].address, "192.0.2.80")
        self.assertTrue(reply.flags & dns.flags.AA)
        _, writer = self.ask(plugin, "nope.example.org")
        self.assertEqual(reply_of(writer).rcode(), dns.rcode.NXDOMAIN)
        # example.net is outside the block's zones; other.org has no file
        for name in ("www.example.net", "www.other.org"):
            _, writer = self.ask(plugin, name)
            self.assertEqual(writer.sent, [])
        self.assertEqual([r.qname for r in self.next.requests],
                         ["www.example.net.", "www.other.org."])

    def test_fallthrough(self) -> None:
        self.write("db.example.org", zone_text())
        plugin = self.serve(f". {{\n    auto example.org {{\n        directory {self.dir}\n"
                            "        fallthrough\n    }\n}\n")
        _, writer = self.ask(plugin, "nope.example.org")
        self.assertEqual(writer.sent, [])
        self.assertEqual(len(self.next.requests), 1)

    def test_transfers_are_refused(self) -> None:
        self.write("db.example.org", zone_text())
        plugin = self.serve(f". {{\n    auto example.org {{\n        directory {self.dir}\n"
                            "    }\n}\n")
        rcode, _ = self.ask(plugin, "example.org", "AXFR")
        self.assertEqual(rcode, dns.rcode.REFUSED)


class ServerTests(Folder):
    @defer.inlineCallbacks
    def test_serves_and_picks_up_a_new_zone(self):
        self.write("db.example.org", zone_text())
        reactor = ClockedReactor()
        server = yield start_server(f". {{\n    root {self.dir}\n    auto {{\n"
                                    "        directory .\n        reload 10s\n    }\n}\n",
                                    reactor=reactor)
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("www.example.org", "A", proto=proto)
            self.assertEqual(reply.answer[0][0].address, "192.0.2.80")
        reply = yield server.query("www.example.net", "A")
        self.assertEqual(reply.rcode(), dns.rcode.REFUSED)  # no zone, no next plugin (CoreDNS)
        with capturedLogs():
            self.write("db.example.net", zone_text(address="192.0.2.81"))
            zones = server.configuration.blocks[0].chain.zones
            reactor.advance(9.9)
            self.assertNotIn("example.net.", zones.origins)
            reactor.advance(0.1)  # the scan: the new file is parsed in a thread, then served
            yield eventually(lambda: "example.net." in zones.origins)
        reply = yield server.query("www.example.net", "A")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.81")


class ReadmeTests(Folder):
    def test_examples_parse(self) -> None:
        check_examples(self, "auto", 3)

    @defer.inlineCallbacks
    def test_examples_serve(self):
        """Each example, its directory moved here, serves the zone files found there."""
        self.write("db.example.org", zone_text())
        self.write("www.db.example.org", zone_text(address="192.0.2.82"))
        expected = ["192.0.2.80", "192.0.2.80", "192.0.2.82"]
        examples = corefile_examples(plugin_readme("auto"))
        for example, address in zip(examples, expected, strict=True):
            example = re.sub(r"/etc/coredns/zones(/org)?", self.dir, example)
            server = yield start_server(example)
            try:
                reply = yield server.query("www.example.org", "A")
                self.assertEqual(reply.answer[0][0].address, address)
            finally:
                yield server.stop()
