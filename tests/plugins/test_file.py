"""The *file* plugin: the handler (find the zone, answer, keep the rendered reply), the server
serving it, and its README's examples.

The zone model, lookups, transfers, zone-file reading, setup and reloads have their own
``test_file_*`` modules, as the plugin's modules.
"""

from __future__ import annotations

import os

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
from twisted.internet import defer
from twisted.logger import capturedLogs
from twisted.trial import unittest

from tests.plugins.zonefiles import Folder, zone_text
from twisted_dns.plugins.file import File, Zone, Zones
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    ClockedReactor,
    NextPlugin,
    check_examples,
    corefile_examples,
    eventually,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.zones = Zones(["example.org."])
        self.zones.replace(Zone.from_text(zone_text(), "example.org."))
        self.next = NextPlugin()
        self.plugin = File(self.zones, next_plugin=self.next)

    def serve(self, name: str, rdtype: str = "A", **kwargs) -> tuple[int, CaptureWriter]:
        request = make_request(name, rdtype, **kwargs)
        writer = CaptureWriter(request)
        return self.plugin.ServeDNS(request, writer), writer

    def test_answer(self) -> None:
        rcode, writer = self.serve("WWW.Example.org", "A", use_edns=0, want_dnssec=True)
        self.assertEqual(rcode, 0)
        reply = reply_of(writer)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertTrue(reply.flags & dns.flags.RD)
        self.assertTrue(reply.ednsflags & dns.flags.DO)
        self.assertEqual(reply.question[0].name.to_text(), "WWW.Example.org.")
        # the owner in the zone's case, as CoreDNS (the question keeps the client's)
        self.assertEqual(reply.answer[0].to_text(), "www.example.org. 3600 IN A 192.0.2.80")

    def test_mx_additional(self) -> None:
        reply = reply_of(self.serve("mx.example.org", "MX")[1])
        self.assertEqual([r.to_text() for r in reply.additional],
                         ["mail.example.org. 3600 IN A 192.0.2.25"])

    def test_other_names_go_on(self) -> None:
        rcode, writer = self.serve("example.net", "A")
        self.assertEqual((rcode, writer.sent), (0, []))
        self.assertEqual(len(self.next.requests), 1)

    def test_nxdomain_written(self) -> None:
        rcode, writer = self.serve("nope.example.org")
        self.assertEqual(rcode, 0)
        self.assertEqual(reply_of(writer).rcode(), dns.rcode.NXDOMAIN)
        self.assertEqual(self.next.requests, [])

    def test_fallthrough(self) -> None:
        self.plugin.fall = self.plugin.fall.from_args([])
        rcode, writer = self.serve("nope.example.org")
        self.assertEqual((rcode, writer.sent), (0, []))
        self.assertEqual(len(self.next.requests), 1)
        # NODATA and answers stay here
        self.assertEqual(reply_of(self.serve("www.example.org", "TXT")[1]).rcode(), 0)
        self.assertEqual(len(self.next.requests), 1)

    def test_fallthrough_other_zone(self) -> None:
        self.plugin.fall = self.plugin.fall.from_args(["example.net"])
        _, writer = self.serve("nope.example.org")
        self.assertEqual(reply_of(writer).rcode(), dns.rcode.NXDOMAIN)

    def test_loop_servfail_with_chain(self) -> None:
        rcode, writer = self.serve("loop1.example.org")
        self.assertEqual(rcode, 0)
        reply = reply_of(writer)
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        self.assertEqual(len(reply.answer), 2)

    def test_repeated_query_reuses_the_reply(self) -> None:
        """The second identical query is answered from the rendered reply, with its own ID."""
        first = make_request("WWW.example.org", "A", use_edns=0)
        self.plugin.ServeDNS(first, CaptureWriter(first))
        second = make_request("WWW.example.org", "A", use_edns=0)
        self.assertNotEqual(first.id, second.id)
        writer = CaptureWriter(second)
        self.assertEqual(self.plugin.ServeDNS(second, writer), 0)
        self.assertIsNone(second._message)  # never decoded: the kept reply was sent
        reply = reply_of(writer)
        self.assertEqual(reply.id, second.id)
        self.assertEqual(reply.question[0].name.to_text(), "WWW.example.org.")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.80")

    def test_reply_kept_per_query_shape(self) -> None:
        """Case, EDNS and transport give different replies; each is rendered for itself."""
        shapes = [("www.example.org", {}), ("WWW.example.org", {}),
                  ("www.example.org", {"use_edns": 0}),
                  ("www.example.org", {"use_edns": 0, "want_dnssec": True}),
                  ("www.example.org", {"proto": "tcp"})]
        for _ in range(2):
            for name, kwargs in shapes:
                reply = reply_of(self.serve(name, "A", **kwargs)[1])
                self.assertEqual(reply.question[0].name.to_text(), name + ".")
                self.assertEqual(reply.edns, 0 if "use_edns" in kwargs else -1)
                self.assertEqual(bool(reply.ednsflags & dns.flags.DO), "want_dnssec" in kwargs)

    def test_new_zone_new_replies(self) -> None:
        self.serve("www.example.org")
        self.zones.replace(Zone.from_text(zone_text(serial=2, address="192.0.2.99"),
                                          "example.org."))
        reply = reply_of(self.serve("www.example.org")[1])
        self.assertEqual(reply.answer[0][0].address, "192.0.2.99")

    def test_notify_dropped(self) -> None:
        query = dns.message.make_query("example.org", "SOA")
        query.set_opcode(dns.opcode.NOTIFY)
        request = Request.from_wire(query.to_wire(), ("192.0.2.1", 53), ("127.0.0.1", 53),
                                    "udp")
        writer = CaptureWriter(request)
        with capturedLogs():
            self.assertEqual(self.plugin.ServeDNS(request, writer), 0)
        self.assertEqual(writer.sent, [])

    def test_transfer_refused(self) -> None:
        for rdtype in ("AXFR", "IXFR"):
            rcode, writer = self.serve("example.org", rdtype, proto="tcp")
            self.assertEqual((rcode, writer.sent), (dns.rcode.REFUSED, []))

    def test_not_loaded(self) -> None:
        self.zones.add("example.net.")
        self.assertFalse(self.plugin.Ready())
        rcode, writer = self.serve("www.example.net")
        self.assertEqual((rcode, writer.sent), (dns.rcode.SERVFAIL, []))



class ServerTests(Folder):
    @defer.inlineCallbacks
    def test_serves_udp_and_tcp(self):
        self.write("db.example.org", zone_text())
        server = yield start_server(f"example.org {{\n    root {self.dir}\n"
                                    "    file db.example.org\n}\n")
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("alias.example.org", "A", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["alias.example.org. 3600 IN CNAME www.example.org.",
                              "www.example.org. 3600 IN A 192.0.2.80"])
            self.assertTrue(reply.flags & dns.flags.AA)

    @defer.inlineCallbacks
    def test_reload_through_the_server(self):
        """The reload loop starts with the server and a new serial is served."""
        path = self.write("db.example.org", zone_text(serial=1))
        reactor = ClockedReactor()
        server = yield start_server(f"example.org {{\n    file {path} {{\n"
                                    "        reload 10s\n    }\n}\n", reactor=reactor)
        self.addCleanup(server.stop)
        self.write("db.example.org", zone_text(serial=2, address="192.0.2.99"))
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        zones = server.configuration.blocks[0].chain.zones
        reactor.advance(9.9)
        self.assertEqual(zones["example.org."].serial, 1)
        reactor.advance(0.1)  # the check: the changed file is parsed in a thread, then swapped
        yield eventually(lambda: zones["example.org."].serial == 2)
        reply = yield server.query("www.example.org", "A")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.99")



README_ZONE = """\
$TTL 3600
@    IN SOA ns hostmaster 1 7200 3600 1209600 300
     IN NS  ns
ns   IN A   192.0.2.53
www  IN A   192.0.2.80
"""


class ReadmeTests(Folder):
    def test_examples_parse(self) -> None:
        check_examples(self, "file", 6)

    @defer.inlineCallbacks
    def test_examples_serve(self):
        """Each example serves www.example.org from db.example.org in the working folder."""
        self.write("db.example.org", README_ZONE)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.dir)
        for example in corefile_examples(plugin_readme("file")):
            server = yield start_server(example)
            try:
                reply = yield server.query("www.example.org", "A")
                if reply.answer:
                    self.assertEqual(reply.answer[0][0].address, "192.0.2.80")
                else:
                    # the "." origin example: the names are read below the root
                    self.assertEqual(reply.rcode(), dns.rcode.NXDOMAIN)
            finally:
                yield server.stop()
