"""The *file* plugin: the zone model, setup, the handler, reloads and the server serving it.

Answers are checked against BIND record for record in
``tests/integration/test_bind_differential.py``; the cases here are those a differential test
cannot reach (setup errors, reloads, fallthrough, DNSSEC records, the zone API others use).
"""

from __future__ import annotations

import os

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet import defer, task
from twisted.logger import LogLevel, capturedLogs
from twisted.trial import unittest

from tests.plugins import NextPlugin, configure, make_request, reply_of
from tests.plugins.readme import check_examples, corefile_examples, plugin_readme
from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.plugins import prometheus
from twisted_dns.plugins.file.handler import File
from twisted_dns.plugins.file.reload import ZoneFile
from twisted_dns.plugins.file.setup import setup
from twisted_dns.plugins.file.zone import Zone, ZoneError, Zones, parent
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import default_registry, start_server

ZONE = """\
$TTL 3600
@       IN SOA  ns hostmaster {serial} 7200 3600 1209600 300
        IN NS   ns
ns      IN A    192.0.2.53
www     IN A    {address}
alias   IN CNAME www
loop1   IN CNAME loop2
loop2   IN CNAME loop1
mx      IN MX   10 mail
mail    IN A    192.0.2.25
"""

A, NS, CNAME, SOA, MX, TXT = (dns.rdatatype.A, dns.rdatatype.NS, dns.rdatatype.CNAME,
                              dns.rdatatype.SOA, dns.rdatatype.MX, dns.rdatatype.TXT)


def zone_text(serial: int = 1, address: str = "192.0.2.80") -> str:
    return ZONE.format(serial=serial, address=address)


class Folder(unittest.TestCase):
    """A test case with a fresh folder of zone files."""

    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        # a rewrite within the same clock tick must still look changed
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9 * len(text)))
        return path


class ZoneModelTests(Folder):
    """The API *auto*, *secondary* and *transfer* build on."""

    def test_from_text(self) -> None:
        zone = Zone.from_text(zone_text(serial=42), "Example.ORG")
        self.assertEqual(zone.origin, dns.name.from_text("example.org."))
        self.assertEqual(zone.origin_text, "example.org.")
        self.assertEqual(zone.serial, 42)
        self.assertIn("www.example.org.", zone)
        self.assertNotIn("nope.example.org.", zone)
        self.assertEqual(zone.get("www.example.org.", A)[0].address, "192.0.2.80")
        self.assertIsNone(zone.get("www.example.org.", TXT))

    def test_axfr_order(self) -> None:
        zone = Zone.from_text(zone_text(), "example.org.")
        rrsets = zone.axfr_rrsets()
        self.assertEqual((rrsets[0].rdtype, rrsets[-1].rdtype), (SOA, SOA))
        self.assertEqual([r.rdtype for r in rrsets[1:-1]].count(SOA), 0)
        self.assertEqual(rrsets[1].rdtype, NS)  # the apex comes first
        self.assertEqual(sum(len(r) for r in rrsets[1:-1]), len(zone) - 1)

    def test_from_rrsets_round_trip(self) -> None:
        """An AXFR's RRsets (SOA twice) build the same zone."""
        zone = Zone.from_text(zone_text(serial=9), "example.org.")
        copy = Zone.from_rrsets("example.org.", zone.axfr_rrsets(), "axfr from 192.0.2.1")
        self.assertEqual(copy.serial, 9)
        self.assertEqual(len(copy), len(zone))
        self.assertEqual(copy.lookup("alias.example.org.", A).answer,
                         zone.lookup("alias.example.org.", A).answer)

    def test_from_rrsets_outside_origin(self) -> None:
        soa = Zone.from_text(zone_text(), "example.org.").soa
        stray = dns.rrset.from_text("www.example.net.", 60, "IN", "A", "192.0.2.1")
        exc = self.assertRaises(ZoneError, Zone.from_rrsets, "example.org.", [soa, stray])
        self.assertEqual(str(exc), "<rrsets>: www.example.net. is not in zone example.org.")

    def test_no_soa(self) -> None:
        exc = self.assertRaises(ZoneError, Zone.from_text, "www 60 IN A 192.0.2.1\n",
                                "example.org.", "db.example.org")
        self.assertEqual(str(exc), "db.example.org: no SOA record for origin example.org.")

    def test_syntax_error_has_line(self) -> None:
        path = self.write("db.bad", zone_text() + "bad IN A not-an-address\n")
        exc = self.assertRaises(ZoneError, Zone.from_file, path, "example.org.")
        self.assertEqual((exc.file, exc.line), (path, 11))
        self.assertTrue(str(exc).startswith(f"{path}:11: "), str(exc))

    def test_cname_and_other_data(self) -> None:
        path = self.write("db.bad", zone_text() + "alias IN TXT \"x\"\n")
        exc = self.assertRaises(ZoneError, Zone.from_file, path, "example.org.")
        self.assertEqual(exc.line, 11)

    def test_missing_file(self) -> None:
        exc = self.assertRaises(ZoneError, Zone.from_file, os.path.join(self.dir, "nope"),
                                "example.org.")
        self.assertIn("No such file", str(exc))

    def test_include_relative_to_the_zone_file(self) -> None:
        """As CoreDNS: a relative $INCLUDE is read from the zone file's folder."""
        os.makedirs(os.path.join(self.dir, "zones"))
        self.write("zones/extra", "extra IN TXT \"included\"\n")
        path = self.write("zones/db", zone_text() + "$INCLUDE extra\n$INCLUDE \"extra\" sub\n")
        self.assertNotEqual(os.getcwd(), os.path.dirname(path))
        zone = Zone.from_file(path, "example.org.")
        self.assertEqual(zone.get("extra.example.org.", TXT)[0].strings, (b"included",))
        self.assertIsNotNone(zone.get("extra.sub.example.org.", TXT))

    def test_parent(self) -> None:
        self.assertEqual(parent("www.example.org."), "example.org.")
        self.assertEqual(parent("org."), ".")
        self.assertEqual(parent("a\\.b.example.org."), "example.org.")
        self.assertEqual(parent("a\\046.example.org."), "example.org.")

    def test_zones(self) -> None:
        zones = Zones(["example.org.", "sub.example.org."])
        self.assertFalse(zones.loaded())
        self.assertEqual(zones.match("www.sub.example.org."), "sub.example.org.")
        self.assertEqual(zones.match("www.example.org."), "example.org.")
        self.assertIsNone(zones.match("example.net."))
        zone = Zone.from_text(zone_text(), "example.org.")
        zones.replace(zone)
        zones.replace(Zone.from_text(zone_text(), "sub.example.org."))
        self.assertTrue(zones.loaded())
        self.assertIs(zones["example.org."], zone)
        zones.remove("sub.example.org.")
        self.assertEqual(zones.match("www.sub.example.org."), "example.org.")


class LookupTests(unittest.TestCase):
    """Cases the BIND comparison does not reach (it checks the rest)."""

    def setUp(self) -> None:
        self.zone = Zone.from_text(zone_text(), "example.org.")

    def test_loop(self) -> None:
        result = self.zone.lookup("loop1.example.org.", A)
        self.assertEqual(result.rcode, dns.rcode.SERVFAIL)
        self.assertEqual([r.name.to_text() for r in result.answer],
                         ["loop1.example.org.", "loop2.example.org."])

    def test_name_outside_the_zone(self) -> None:
        self.assertRaises(ValueError, self.zone.lookup, "www.example.net.", A)
        self.assertRaises(ValueError, self.zone.lookup, "org.", A)

    def test_negative_soa_ttl(self) -> None:
        result = self.zone.lookup("nope.example.org.", A)
        self.assertEqual(result.rcode, dns.rcode.NXDOMAIN)
        self.assertEqual(result.authority[0].ttl, 300)  # MINIMUM, lower than the TTL 3600
        self.assertEqual(self.zone.soa.ttl, 3600)

    def test_any_is_a_type_like_others(self) -> None:
        """As CoreDNS: NODATA at a name, the chain at a CNAME (RFC 8482 is the any plugin's)."""
        result = self.zone.lookup("www.example.org.", dns.rdatatype.ANY)
        self.assertEqual((result.rcode, result.answer), (dns.rcode.NOERROR, []))
        self.assertEqual(result.authority[0].rdtype, SOA)
        result = self.zone.lookup("alias.example.org.", dns.rdatatype.ANY)
        self.assertEqual([r.rdtype for r in result.answer], [CNAME])

    def test_chain_leaving_the_zone(self) -> None:
        zone = Zone.from_text(zone_text() + "out IN CNAME www.example.net.\n", "example.org.")
        result = zone.lookup("out.example.org.", A)
        self.assertEqual((result.rcode, [r.rdtype for r in result.answer]),
                         (dns.rcode.NOERROR, [CNAME]))
        self.assertEqual([r.rdtype for r in result.authority], [NS])  # as CoreDNS

    def test_sections_not_shared(self) -> None:
        """Changing a result (a plugin after us may) does not change the zone."""
        self.zone.lookup("www.example.org.", A).authority.clear()
        self.assertEqual(len(self.zone.lookup("www.example.org.", A).authority), 1)


SIGNED = """\
$TTL 3600
@        IN SOA   ns hostmaster 1 7200 3600 1209600 300
         IN NS    ns
         IN RRSIG SOA 13 2 3600 20300101000000 20200101000000 1 example.org. AAAA
         IN RRSIG NS 13 2 3600 20300101000000 20200101000000 1 example.org. AAAA
         IN NSEC  *.example.org. SOA NS RRSIG NSEC
         IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 1 example.org. AAAA
*        IN A     192.0.2.9
         IN RRSIG A 13 2 3600 20300101000000 20200101000000 1 example.org. BBBB
         IN NSEC  ns.example.org. A RRSIG NSEC
         IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 1 example.org. BBBB
ns       IN A     192.0.2.53
         IN RRSIG A 13 3 3600 20300101000000 20200101000000 1 example.org. CCCC
         IN NSEC  sub.example.org. A RRSIG NSEC
         IN RRSIG NSEC 13 3 300 20300101000000 20200101000000 1 example.org. CCCC
sub      IN NS    ns.sub
         IN DS    1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
         IN RRSIG DS 13 3 3600 20300101000000 20200101000000 1 example.org. DDDD
         IN NSEC  example.org. NS DS RRSIG NSEC
         IN RRSIG NSEC 13 3 300 20300101000000 20200101000000 1 example.org. DDDD
ns.sub   IN A     192.0.2.54
"""


class DnssecTests(unittest.TestCase):
    """With DO, a signed zone's RRSIGs and NSECs come along (nothing is signed here)."""

    def setUp(self) -> None:
        self.zone = Zone.from_text(SIGNED, "example.org.")

    def types(self, section: list) -> list[tuple[str, str]]:
        return sorted((r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in section)

    def test_without_do(self) -> None:
        result = self.zone.lookup("ns.example.org.", A)
        self.assertEqual(self.types(result.answer), [("ns.example.org.", "A")])

    def test_answer_signed(self) -> None:
        result = self.zone.lookup("ns.example.org.", A, do=True)
        self.assertEqual(self.types(result.answer),
                         [("ns.example.org.", "A"), ("ns.example.org.", "RRSIG")])
        self.assertEqual(self.types(result.authority),
                         [("example.org.", "NS"), ("example.org.", "RRSIG")])

    def test_wildcard_signature_renamed(self) -> None:
        result = self.zone.lookup("Host.example.org.", A, do=True)
        self.assertEqual(self.types(result.answer),
                         [("Host.example.org.", "A"), ("Host.example.org.", "RRSIG")])
        self.assertEqual(result.answer[1][0].labels, 2)  # tells a validator: a wildcard

    def test_nodata_nsec(self) -> None:
        result = self.zone.lookup("ns.example.org.", TXT, do=True)
        self.assertEqual(self.types(result.authority),
                         [("example.org.", "RRSIG"), ("example.org.", "SOA"),
                          ("ns.example.org.", "NSEC"), ("ns.example.org.", "RRSIG")])

    def test_referral_with_ds(self) -> None:
        result = self.zone.lookup("www.sub.example.org.", A, do=True)
        self.assertFalse(result.aa)
        self.assertEqual(self.types(result.authority),
                         [("sub.example.org.", "DS"), ("sub.example.org.", "NS"),
                          ("sub.example.org.", "RRSIG")])
        self.assertEqual(self.types(result.additional), [("ns.sub.example.org.", "A")])

    def test_axfr_has_signatures(self) -> None:
        rrsets = self.zone.axfr_rrsets()
        self.assertEqual((rrsets[0].rdtype, rrsets[-1].rdtype), (SOA, SOA))
        types = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in rrsets[1:4]]
        self.assertEqual(types, [("example.org.", "NS"), ("example.org.", "NSEC"),
                                 ("example.org.", "RRSIG")])
        self.assertEqual(sum(r.rdtype == dns.rdatatype.RRSIG for r in rrsets), 9)

    def test_nxdomain_nsec(self) -> None:
        # no name is missing with a wildcard at the apex: ask below an existing leaf
        result = self.zone.lookup("x.ns.example.org.", A, do=True)
        self.assertEqual(result.rcode, dns.rcode.NXDOMAIN)
        # ns.example.org's NSEC (next: the apex) covers both the name and *.ns.example.org
        self.assertEqual(self.types(result.authority),
                         [("example.org.", "RRSIG"), ("example.org.", "SOA"),
                          ("ns.example.org.", "NSEC"), ("ns.example.org.", "RRSIG")])


class SetupTests(Folder):
    def configure(self, body: str) -> File:
        return configure(setup, "file", f"example.org {{\n{body}\n}}\n").chain

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("file"), setup)

    def test_zones_from_arguments(self) -> None:
        path = self.write("db", zone_text())
        plugin = self.configure(f"    file {path} Example.org example.NET")
        self.assertEqual(plugin.zones.origins, ["example.org.", "example.net."])
        self.assertEqual(plugin.zones["example.net."].origin_text, "example.net.")
        self.assertTrue(plugin.Ready())
        self.assertEqual(plugin.Name(), "file")

    def test_relative_to_root(self) -> None:
        self.write("db", zone_text())
        block = parser.parse("example.org {\n    file db example.org\n}\n", "Corefile")[0]
        from twisted_dns.controller import Controller
        from twisted_dns.server.config import BlockConfig
        from twisted_dns.server.instance import Setup

        config = BlockConfig(keys=[], root=self.dir)
        setup(Controller("file", block.directives["file"], config, Setup("Corefile", None)))
        config.build_chain()
        self.assertEqual(config.chain.zones["example.org."].source,
                         os.path.join(self.dir, "db"))

    def test_options(self) -> None:
        path = self.write("db", zone_text())
        plugin = self.configure(f"    file {path} example.org {{\n        reload 30s\n"
                                "        fallthrough in-addr.arpa\n"
                                "        upstream 8.8.8.8\n    }")
        self.assertEqual(plugin.fall.zones, ("in-addr.arpa.",))

    def test_missing_argument(self) -> None:
        exc = self.assertRaises(ConfigError, self.configure, "    file")
        self.assertIn("Corefile:2: wrong argument count", str(exc))

    def test_unknown_property(self) -> None:
        path = self.write("db", zone_text())
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        bogus\n    }}")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'bogus'")

    def test_reload_needs_a_value(self) -> None:
        path = self.write("db", zone_text())
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        reload\n    }}")
        self.assertEqual(str(exc), "Corefile:3: reload duration value is expected")

    def test_reload_bad_duration(self) -> None:
        path = self.write("db", zone_text())
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        reload soon\n    }}")
        self.assertEqual(str(exc), 'Corefile:3: time: invalid duration "soon"')

    def test_bad_zone_file_is_file_and_line(self) -> None:
        path = self.write("db", zone_text() + "\n\nbroken IN MX nonsense\n")
        exc = self.assertRaises(ConfigError, self.configure, f"    file {path} example.org")
        self.assertEqual((exc.file, exc.line), (path, 13))
        self.assertTrue(str(exc).startswith(f"{path}:13: "))

    def test_missing_file_without_reload_fails(self) -> None:
        path = os.path.join(self.dir, "nope")
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        reload 0\n    }}")
        self.assertEqual(str(exc), f"Corefile:2: plugin/file: open {path}: "
                                   "No such file or directory")

    def test_missing_file_with_reload_waits(self) -> None:
        path = os.path.join(self.dir, "nope")
        with capturedLogs() as events:
            plugin = self.configure(f"    file {path} example.org")
        self.assertFalse(plugin.Ready())
        self.assertTrue(any(e["log_level"] == LogLevel.warn for e in events))
        request = make_request("www.example.org", "A")
        self.assertEqual(plugin.ServeDNS(request, CaptureWriter(request)), dns.rcode.SERVFAIL)


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
        self.assertEqual(reply.answer[0].to_text(), "WWW.Example.org. 3600 IN A 192.0.2.80")

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


class ReloadTests(Folder):
    """``reload``: a timer on the reactor, a new serial swaps the zone, a bad file does not."""

    def setUp(self) -> None:
        super().setUp()
        self.metrics = prometheus.fresh()
        self.path = self.write("db", zone_text(serial=1))
        self.zones = Zones(["example.org."])
        self.clock = task.Clock()
        self.file = ZoneFile(self.path, "example.org.", self.zones, 60, self.clock,
                             run=defer.maybeDeferred)
        self.file.load()
        self.file.start()
        self.addCleanup(self.file.stop)

    def address(self) -> str:
        return self.zones["example.org."].lookup("www.example.org.", A).answer[0][0].address

    def rewrite(self, text: str) -> None:
        self.write("db", text)
        # a new mtime whatever the file system's clock resolution
        stat = os.stat(self.path)
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    def test_new_serial_swaps(self) -> None:
        self.rewrite(zone_text(serial=2, address="192.0.2.99"))
        self.clock.advance(59)
        self.assertEqual(self.address(), "192.0.2.80")
        with capturedLogs() as events:
            self.clock.advance(1)
        self.assertEqual(self.address(), "192.0.2.99")
        self.assertEqual(self.zones["example.org."].serial, 2)
        self.assertTrue(any("reloaded" in e["log_format"] for e in events))

    def test_entries_metric(self) -> None:
        """``coredns_file_entries`` counts the records of the zone served, after each swap."""
        def entries() -> float | None:
            return self.metrics.registry.get_sample_value("coredns_file_entries",
                                                          {"dns_name": "example.org."})

        self.assertEqual(entries(), 9)
        self.rewrite(zone_text(serial=2) + "extra IN TXT \"one\"\n    IN TXT \"two\"\n")
        self.clock.advance(60)
        self.assertEqual(entries(), 11)
        self.rewrite(zone_text(serial=1) + "ignored IN A 192.0.2.1\n")  # serial not greater
        self.clock.advance(60)
        self.assertEqual(entries(), 11)

    def test_same_serial_keeps_zone(self) -> None:
        self.rewrite(zone_text(serial=1, address="192.0.2.99"))
        self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.80")

    def test_lower_serial_keeps_zone(self) -> None:
        self.rewrite(zone_text(serial=0, address="192.0.2.99"))
        with capturedLogs() as events:
            self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.80")
        self.assertTrue(any(e["log_level"] == LogLevel.warn for e in events))

    def test_bad_file_keeps_zone_and_logs(self) -> None:
        self.rewrite(zone_text(serial=5) + "bad IN A x\n")
        with capturedLogs() as events:
            self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.80")
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn(f"{self.path}:11:", str(errors[0]["error"]))
        # fixed at the next tick
        self.rewrite(zone_text(serial=5, address="192.0.2.7"))
        self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.7")

    def test_unchanged_file_not_parsed(self) -> None:
        calls = []
        self.file.run = lambda *args: calls.append(args) or defer.succeed(None)
        self.clock.advance(600)
        self.assertEqual(calls, [])

    def test_file_appearing_later(self) -> None:
        os.remove(self.path)
        zones = Zones(["example.org."])
        late = ZoneFile(self.path, "example.org.", zones, 60, self.clock,
                        run=defer.maybeDeferred)
        late.start()
        self.addCleanup(late.stop)
        with capturedLogs():
            self.clock.advance(60)
        self.assertFalse(zones.loaded())
        self.write("db", zone_text(serial=3))
        self.clock.advance(60)
        self.assertEqual(zones["example.org."].serial, 3)

    def test_zero_disables(self) -> None:
        self.file.stop()
        off = ZoneFile(self.path, "example.org.", self.zones, 0, self.clock)
        off.start()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop(self) -> None:
        self.file.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


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
        server = yield start_server(f"example.org {{\n    file {path} {{\n"
                                    "        reload 10ms\n    }\n}\n")
        self.addCleanup(server.stop)
        self.write("db.example.org", zone_text(serial=2, address="192.0.2.99"))
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        plugin = server.setup.blocks[0].chain
        # wait for the swap itself (bounded), then ask the server
        for _ in range(500):
            if plugin.zones["example.org."].serial == 2:
                break
            yield task.deferLater(server.setup.reactor, 0.01, lambda: None)
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
