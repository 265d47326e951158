"""The *autopath* plugin: the search path walked on the server (CoreDNS's autopath tests and
more), its setup, its provider found at startup, and real servers with file, hosts and
template behind it."""

from __future__ import annotations

import os
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
from twisted.internet import defer, task
from twisted.logger import globalLogPublisher
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.config import load as load_configuration
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg import metrics
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.plugins.autopath.autopath import _asking, with_cname
from twisted_dns.plugins.autopath.setup import search_path, setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    NextPlugin,
    check_examples,
    configure,
    corefile_examples,
    make_request,
    plugin_readme,
    registry_with,
    reply_of,
    start_server,
)

NOERROR, SERVFAIL, NXDOMAIN = dns.rcode.NOERROR, dns.rcode.SERVFAIL, dns.rcode.NXDOMAIN

ZONE = """$ORIGIN example.org.
@        3600 IN SOA   ns hostmaster 1 3600 600 86400 60
@        3600 IN NS    ns
ns       3600 IN A     192.0.2.2
www.a    3600 IN A     192.0.2.10
www.b     300 IN A     192.0.2.11
www.b     300 IN TXT   "b"
www      3600 IN A     192.0.2.12
www      3600 IN AAAA  2001:db8::12
only.b   3600 IN A     192.0.2.13
alias.b  3600 IN CNAME www.example.org.
mx.b     3600 IN MX    10 www.example.org.
*.wild.b 3600 IN A     192.0.2.14
"""

SEARCH = ["a.example.org.", "b.example.org.", "example.org.", ""]

#: what the test provider answers, by client address (absent: None)
search_paths: dict[str, list[str] | None] = {}
#: the queries the test provider was asked about
asked: list[Any] = []


@implementer(IPlugin)
class Searcher:
    """A test AutoPath provider (the kubernetes plugin's part): the search path of the
    client's address, from :data:`search_paths`; it answers no query itself."""

    def __init__(self, next_plugin: Any) -> None:
        self.next = next_plugin

    def Name(self) -> str:
        return "searcher"

    def AutoPath(self, request: Any) -> list[str] | None:
        asked.append(request)
        return search_paths.get(request.client_host)

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        return next_or_failure("searcher", self.next, request, writer)


def searcher_setup(c: Any) -> None:
    c.no_args()
    c.add_plugin(Searcher)


#: the plugin under test (until the installed metadata lists it) and the test provider
PLUGINS = {"autopath": setup, "searcher": searcher_setup}


@implementer(IPlugin)
class Names:
    """The rest of the chain, as CoreDNS's test ``nextHandler``: a name of ``rcodes`` gets an
    A record (NOERROR, TTL 3600), an SOA (NXDOMAIN) or nothing written (SERVFAIL); any other
    name SERVFAIL. With a ``clock``, the rcode comes a second later in a Deferred."""

    def __init__(self, rcodes: dict[str, int], clock: task.Clock | None = None) -> None:
        self.rcodes = rcodes
        self.clock = clock
        self.requests: list[Any] = []

    def Name(self) -> str:
        return "names"

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        self.requests.append(request)
        rcode = self.rcodes.get(request.qname_lower, SERVFAIL)
        reply = dns.message.make_response(request.message())
        reply.set_rcode(rcode)
        if rcode == NOERROR:
            reply.answer.append(dns.rrset.from_text(request.qname, 3600, "IN", "A",
                                                    "127.0.0.53"))
        elif rcode == NXDOMAIN:
            reply.authority.append(dns.rrset.from_text(
                "example.org.", 1800, "IN", "SOA", "example.org. example.org. 1 2 3 4 5"))
        if rcode != SERVFAIL:
            writer.write(reply)
        if self.clock is None:
            return rcode
        d: defer.Deferred = defer.Deferred()
        self.clock.callLater(1, d.callback, rcode)
        return d

    def asked(self) -> list[str]:
        return [request.qname for request in self.requests]


@implementer(IPlugin)
class Garbage:
    """The rest of the chain: NOERROR, with a reply whose header promises records it has not."""

    def Name(self) -> str:
        return "garbage"

    def ServeDNS(self, request: Any, writer: Any) -> int:
        writer.write(request.wire[:2] + bytes.fromhex("84000001000100000000"))
        return NOERROR


def temp_file(test: unittest.TestCase, text: str) -> str:
    """A file of the test's holding ``text``; its absolute path."""
    path = os.path.abspath(test.mktemp())
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def success(port: int | None = None) -> float:
    server = "dns://:53" if port is None else f"dns://:{port}"
    return metrics.registry().get_sample_value("coredns_autopath_success_total",
                                               {"server": server}) or 0


def error_lines(test: unittest.TestCase) -> list[str]:
    """What the *autopath* namespace logs from now on."""
    lines: list[str] = []

    def observer(event: dict) -> None:
        if event.get("log_namespace") == "autopath":
            lines.append(event["log_format"].format(**event))

    globalLogPublisher.addObserver(observer)
    test.addCleanup(globalLogPublisher.removeObserver, observer)
    return lines


class SetupTests(unittest.TestCase):
    """CoreDNS's TestSetupAutoPath, with the exact errors."""

    def parse(self, line: str, keys: str = ".") -> Any:
        return configure(setup, "autopath", f"{keys} {{\n    {line}\n}}\n").chain

    def test_resolv_conf(self) -> None:
        path = temp_file(self, "nameserver 1.2.3.4\ndomain foo.com\nsearch bar.com Baz.COM.\n"
                                 "options ndots:5\n")
        link = self.parse(f"autopath {path}", "example.org")
        self.assertEqual(link.search, ["bar.com.", "baz.com.", ""])
        self.assertEqual(link.zones, ["example.org."])
        self.assertIsNone(link.search_func)

    def test_search_lines(self) -> None:
        """miekg/dns's reading: the last search or domain line counts; no line, no path."""
        self.assertEqual(search_path("search a b\ndomain c d\n"), ["c"])
        self.assertEqual(search_path("domain c\nsearch a\tb\r\n"), ["a", "b"])
        self.assertEqual(search_path("search a\ndomain\n"), [])
        self.assertEqual(search_path("nameserver 1.1.1.1\n# search x\n"), [])
        link = self.parse(f"autopath {temp_file(self, 'nameserver 1.1.1.1')}")
        self.assertEqual(link.search, [""])

    def test_zones(self) -> None:
        path = temp_file(self, "search example.org\n")
        self.assertEqual(self.parse(f"autopath Example.ORG 10.0.0.0/8 {path}").zones,
                         ["example.org.", "10.in-addr.arpa."])
        self.assertEqual(self.parse("autopath @kubernetes", "a.example b.example").zones,
                         ["a.example.", "b.example."])

    def test_plugin(self) -> None:
        link = self.parse("autopath example.org @kubernetes")
        self.assertEqual((link.search, link.zones), (None, ["example.org."]))

    def test_no_resolv_conf(self) -> None:
        exc = self.assertRaises(ConfigError, self.parse, "autopath")
        self.assertEqual(str(exc), "Corefile:2: plugin/autopath: no resolv-conf specified")

    def test_missing_file(self) -> None:
        exc = self.assertRaises(ConfigError, self.parse, "autopath kubernetes")
        self.assertEqual(str(exc), 'Corefile:2: plugin/autopath: failed to parse "kubernetes": '
                                   "open kubernetes: No such file or directory")
        exc = self.assertRaises(ConfigError, self.parse, 'autopath ""')
        self.assertEqual(str(exc), 'Corefile:2: plugin/autopath: failed to parse "": open : '
                                   "No such file or directory")

    def test_bad_zone(self) -> None:
        exc = self.assertRaises(ConfigError, self.parse, "autopath ftp://example.org @k8s")
        self.assertTrue(str(exc).startswith("Corefile:2: unknown scheme 'ftp'"), str(exc))

    def test_no_block(self) -> None:
        exc = self.assertRaises(ConfigError, self.parse, "autopath @kubernetes {\n    x\n    }")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'x'")


class StartupTests(unittest.TestCase):
    """``@PLUGIN`` is looked up in the block at startup, as CoreDNS's OnStartup does."""

    def test_plugin_without_autopath(self) -> None:
        configured = configure(setup, "autopath", ". {\n    autopath @next\n}\n",
                               next_plugin=NextPlugin())
        failure = self.failureResultOf(configured.startup(), ConfigError)
        self.assertEqual(str(failure.value), "Corefile:2: plugin/autopath: next does not "
                                             "implement the AutoPather interface")

    def test_absent_plugin(self) -> None:
        """CoreDNS starts, and does no autopath."""
        configured = configure(setup, "autopath", ". {\n    autopath @kubernetes\n}\n",
                               next_plugin=NextPlugin(NXDOMAIN))
        self.successResultOf(configured.startup())
        self.assertIsNone(configured.chain.search_func)
        request = make_request("www.a.example.org")
        self.assertEqual(configured.chain.ServeDNS(request, CaptureWriter(request)), NXDOMAIN)
        self.assertEqual(configured.plugin("next").requests, [request])


class LinkTests(unittest.TestCase):
    """The walk, with CoreDNS's test chain (``Names``) behind the search path
    ``example.org. example.com. com. ""`` (CoreDNS's TestAutoPath and more)."""

    def setUp(self) -> None:
        metrics.fresh()
        self.path = temp_file(self, "search example.org example.com com\n")

    def link(self, names: Names, zones: str = "") -> Any:
        corefile = f". {{\n    autopath {zones} {self.path}\n}}\n"
        return configure(setup, "autopath", corefile, next_plugin=names).chain

    def ask(self, names: Names, name: str, rdtype: str = "A", **query: Any
            ) -> tuple[int, CaptureWriter]:
        request = make_request(name, rdtype, **query)
        writer = CaptureWriter(request)
        rcode = self.successResultOf(as_deferred(self.link(names).ServeDNS(request, writer)))
        return rcode, writer

    def test_search_path_expansion(self) -> None:
        names = Names({"b.example.org.": NXDOMAIN, "b.com.": NOERROR})
        rcode, writer = self.ask(names, "b.example.org")
        self.assertEqual(rcode, NOERROR)
        # b.example.com. is SERVFAIL, not written: the walk goes on
        self.assertEqual(names.asked(), ["b.example.org.", "b.example.com.", "b.com."])
        reply = reply_of(writer)
        self.assertEqual(reply.question[0].to_text(), "b.example.org. IN A")
        self.assertEqual([rrset.to_text() for rrset in reply.answer],
                         ["b.example.org. 3600 IN CNAME b.com.", "b.com. 3600 IN A 127.0.0.53"])
        self.assertEqual(success(), 1)

    def test_not_under_the_first_element(self) -> None:
        """a.example.com. is not under example.org.: the chain gets it as it is."""
        names = Names({"a.example.com.": NOERROR})
        rcode, writer = self.ask(names, "a.example.com")
        self.assertEqual((rcode, names.asked()), (NOERROR, ["a.example.com."]))
        self.assertEqual(reply_of(writer).answer[0].to_text(), "a.example.com. 3600 IN A "
                                                               "127.0.0.53")
        self.assertEqual(success(), 0)

    def test_outside_the_zones(self) -> None:
        names = Names({"b.example.org.": NXDOMAIN})
        request = make_request("b.example.org")
        link = self.link(names, "example.net")
        self.assertEqual(link.ServeDNS(request, CaptureWriter(request)), NXDOMAIN)
        self.assertEqual(names.asked(), ["b.example.org."])

    def test_no_answer(self) -> None:
        """CoreDNS's TestAutoPathNoAnswer: every lookup SERVFAIL, nothing written."""
        names = Names({})
        rcode, writer = self.ask(names, "c.example.org")
        self.assertEqual((rcode, writer.sent), (SERVFAIL, []))
        self.assertEqual(names.asked(), ["c.example.org.", "c.example.com.", "c.com.", "c."])

    def test_every_element_nxdomain(self) -> None:
        """The first lookup's reply, as it came; the client walks its path itself."""
        names = Names({name: NXDOMAIN for name in ("x.example.org.", "x.example.com.",
                                                   "x.com.", "x.")})
        rcode, writer = self.ask(names, "x.example.org")
        self.assertEqual(rcode, NXDOMAIN)
        reply = reply_of(writer)
        self.assertEqual((reply.rcode(), reply.answer), (NXDOMAIN, []))
        self.assertEqual(reply.authority[0].to_text(),
                         "example.org. 1800 IN SOA example.org. example.org. 1 2 3 4 5")
        self.assertEqual(success(), 0)

    def test_first_element_answers(self) -> None:
        """A hit on the name itself: no CNAME, but a success all the same (as CoreDNS)."""
        names = Names({"www.example.org.": NOERROR})
        rcode, writer = self.ask(names, "www.example.org")
        self.assertEqual((rcode, names.asked()), (NOERROR, ["www.example.org."]))
        self.assertEqual([rrset.to_text() for rrset in reply_of(writer).answer],
                         ["www.example.org. 3600 IN A 127.0.0.53"])
        self.assertEqual(success(), 1)

    def test_nodata_wins(self) -> None:
        names = Names({"n.example.org.": NXDOMAIN})
        names.rcodes["n.example.com."] = NOERROR
        rcode, writer = self.ask(names, "n.example.org", "MX")
        self.assertEqual((rcode, names.asked()), (NOERROR, ["n.example.org.", "n.example.com."]))
        self.assertEqual(reply_of(writer).answer[0].to_text(),
                         "n.example.org. 3600 IN CNAME n.example.com.")

    def test_lookups_are_copies_of_the_query(self) -> None:
        """ID, flags, type, class, EDNS (DO, options) and client stay; the base name keeps
        the query's case."""
        names = Names({"www.com.": NOERROR})
        cookie = dns.edns.GenericOption(10, b"\x01" * 8)
        rcode, writer = self.ask(names, "WWW.Example.ORG", "TXT", use_edns=0, payload=1232,
                                 want_dnssec=True, options=[cookie])
        self.assertEqual(rcode, NOERROR)
        self.assertEqual([r.qname for r in names.requests],
                         ["WWW.example.org.", "WWW.example.com.", "WWW.com."])
        first, found = names.requests[0], names.requests[-1]
        for lookup in names.requests:
            self.assertEqual((lookup.id, lookup.flags, lookup.qtype, lookup.qclass, lookup.client,
                              lookup.do, lookup.edns_payload, lookup.edns_options),
                             (first.id, first.flags, 16, 1, ("127.0.0.1", 40212), True, 1232,
                              [(10, b"\x01" * 8)]))
        self.assertIsNot(found, first)
        reply = reply_of(writer)
        self.assertEqual(reply.question[0].to_text(), "WWW.Example.ORG. IN TXT")
        self.assertEqual(reply.answer[0].to_text(), "WWW.Example.ORG. 3600 IN CNAME WWW.com.")
        self.assertTrue(reply.ednsflags & dns.flags.DO)

    def test_deferred_chain(self) -> None:
        """A chain answering later: the walk waits for each lookup, the reactor free."""
        clock = task.Clock()
        names = Names({"d.example.org.": NXDOMAIN, "d.example.com.": NOERROR}, clock)
        request = make_request("d.example.org")
        writer = CaptureWriter(request)
        d = as_deferred(self.link(names).ServeDNS(request, writer))
        self.assertNoResult(d)
        self.assertEqual(names.asked(), ["d.example.org."])
        clock.advance(1)
        self.assertEqual(names.asked(), ["d.example.org.", "d.example.com."])
        self.assertNoResult(d)
        clock.advance(1)
        self.assertEqual(self.successResultOf(d), NOERROR)
        self.assertEqual(reply_of(writer).answer[0].to_text(),
                         "d.example.org. 3600 IN CNAME d.example.com.")

    def test_query_for_the_first_element(self) -> None:
        """CoreDNS's TrimZone overshoots: SERVFAIL, its words logged, nothing asked."""
        lines = error_lines(self)
        names = Names({"example.org.": NOERROR})
        request = make_request("Example.org")
        self.assertEqual(self.link(names).ServeDNS(request, CaptureWriter(request)), SERVFAIL)
        self.assertEqual(names.requests, [])
        self.assertEqual(lines, ["trimzone: overshot qname: Example.org.for zone example.org."])

    def test_empty_search_path(self) -> None:
        """A resolv.conf without search: the path is just "" (the root), so every name is
        under it and asked as it is, and counts as a success (CoreDNS does the same)."""
        self.path = temp_file(self, "nameserver 1.1.1.1\n")
        names = Names({"www.example.org.": NOERROR, ".": NOERROR})
        self.assertEqual(self.ask(names, "www.example.org")[0], NOERROR)
        self.assertEqual(self.ask(names, ".")[0], NOERROR)
        self.assertEqual(names.asked(), ["www.example.org.", "."])
        self.assertEqual(success(), 2)

    def test_names_that_cannot_be_asked(self) -> None:
        """An element that is no name, or one that makes the name too long, is skipped."""
        long = ".".join(["x" * 62] * 4)
        self.path = temp_file(self, f"search example.org a..b {long} com\n")
        names = Names({"bbbb.example.org.": NXDOMAIN, "bbbb.com.": NOERROR})
        self.assertEqual(self.ask(names, "bbbb.example.org")[0], NOERROR)
        self.assertEqual(names.asked(), ["bbbb.example.org.", "bbbb.com."])

    def test_undecodable_reply(self) -> None:
        """A wire reply that does not decode cannot get its CNAME: SERVFAIL, one line."""
        lines = error_lines(self)
        rcode, writer = self.ask(Garbage(), "g.example.org")
        self.assertEqual((rcode, writer.sent), (SERVFAIL, []))
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("reply for g.example.org. does not decode: "),
                        lines[0])

    def test_an_exception_below_propagates(self) -> None:
        names = Names({"e.example.org.": NXDOMAIN})
        names.rcodes = None  # type: ignore[assignment]  # ServeDNS fails
        request = make_request("e.example.org")
        d = as_deferred(self.link(names).ServeDNS(request, CaptureWriter(request)))
        self.failureResultOf(d, AttributeError)


class RewritingTests(unittest.TestCase):
    def test_compressed_records_follow_the_new_question(self) -> None:
        """A record whose owner points into the question still names the original after
        the question is replaced (the pointer is written out)."""
        query = dns.message.make_query("www.example.org", "A", use_edns=0)
        query.additional.append(dns.rrset.from_text("key.example.org.", 0, "ANY", "TXT", "k"))
        request = make_request("www.example.org")
        wire = query.to_wire()
        self.assertIn(b"\x03key\xc0", wire)  # compressed against the question
        request = type(request).from_wire(wire, request.client, request.server, "udp")
        lookup = _asking(request, dns.name.from_text("www.b.example.org.").to_wire())
        message = lookup.message()
        self.assertEqual(message.question[0].to_text(), "www.b.example.org. IN A")
        self.assertEqual(message.additional[0].to_text(), 'key.example.org. 0 ANY TXT "k"')
        self.assertEqual((lookup.edns, lookup.arcount), (True, 2))

    def test_cname_from_wire_reply(self) -> None:
        """A wire reply is read a record per RRset: the CNAME takes the TTL of the first
        record (CoreDNS's), not the least of its RRset's, and goes before the answer."""
        request = make_request("www.b.example.org")
        reply = dns.message.make_response(request.message())
        reply.answer += [dns.rrset.from_text("www.b.example.org.", ttl, "IN", "A", address)
                         for ttl, address in ((99, "192.0.2.1"), (30, "192.0.2.2"))]
        message = with_cname(reply.to_wire(), dns.name.from_text("Www.A.example.org."))
        self.assertEqual([rrset.to_text() for rrset in message.answer],
                         ["Www.A.example.org. 99 IN CNAME www.b.example.org.",
                          "www.b.example.org. 99 IN A 192.0.2.1",
                          "www.b.example.org. 30 IN A 192.0.2.2"])


class ServerTests(unittest.TestCase):
    """A real server: autopath before hosts, file and template, queried with dnspython."""

    COREFILE = """. {{
    autopath example.org {resolv}
    hosts {{
        10.0.0.9 x.test
        fallthrough
    }}
    template IN TXT svc.test {{
        answer "{{{{ .Name }}}} 60 IN TXT \\"tmpl\\""
    }}
    file {zone} example.org
    {more}
}}
"""

    def setUp(self) -> None:
        metrics.fresh()
        self.zone = temp_file(self, ZONE)
        search_paths.clear()
        asked.clear()

    @defer.inlineCallbacks
    def serve(self, resolv: str, more: str = "") -> Any:
        corefile = self.COREFILE.format(resolv=resolv, zone=self.zone, more=more)
        server = yield start_server(corefile, plugins=PLUGINS)
        self.addCleanup(server.stop)
        return server

    def resolv_conf(self) -> str:
        return temp_file(self, "nameserver 192.0.2.53\n"
                                 "search A.example.org b.example.org. example.org\n")

    @defer.inlineCallbacks
    def check_hits(self, server: Any) -> Any:
        for proto in ("udp", "tcp"):
            reply = yield server.query("www.a.example.org", "A", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["www.a.example.org. 3600 IN A 192.0.2.10"])
            reply = yield server.query("www.a.example.org", "AAAA", proto=proto)
            self.assertEqual((reply.rcode(), reply.answer), (NOERROR, []))  # NODATA wins
            reply = yield server.query("only.a.example.org", "A", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["only.a.example.org. 3600 IN CNAME only.b.example.org.",
                              "only.b.example.org. 3600 IN A 192.0.2.13"])
            reply = yield server.query("alias.a.example.org", "A", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["alias.a.example.org. 3600 IN CNAME alias.b.example.org.",
                              "alias.b.example.org. 3600 IN CNAME www.example.org.",
                              "www.example.org. 3600 IN A 192.0.2.12"])
            reply = yield server.query("ns.a.example.org", "A", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["ns.a.example.org. 3600 IN CNAME ns.example.org.",
                              "ns.example.org. 3600 IN A 192.0.2.2"])
            reply = yield server.query("x.test.a.example.org", "A", proto=proto)  # hosts
            self.assertEqual([r.to_text() for r in reply.answer],
                             ["x.test.a.example.org. 3600 IN CNAME x.test.",
                              "x.test. 3600 IN A 10.0.0.9"])
            reply = yield server.query("db.svc.test.a.example.org", "TXT", proto=proto)
            self.assertEqual([r.to_text() for r in reply.answer],  # template
                             ["db.svc.test.a.example.org. 60 IN CNAME db.svc.test.",
                              'db.svc.test. 60 IN TXT "tmpl"'])
        self.assertEqual(success(server.port), 14)

    @defer.inlineCallbacks
    def check_misses(self, server: Any) -> Any:
        reply = yield server.query("nx.a.example.org", "A")
        self.assertEqual((reply.rcode(), reply.answer), (NXDOMAIN, []))
        self.assertEqual(reply.question[0].to_text(), "nx.a.example.org. IN A")
        self.assertEqual(reply.authority[0].name.to_text(), "example.org.")
        reply = yield server.query("x.test", "A")  # outside the zone: hosts answers it
        self.assertEqual(reply.answer[0].to_text(), "x.test. 3600 IN A 10.0.0.9")
        reply = yield server.query("www.b.example.org", "TXT")  # not under the first
        self.assertEqual(reply.answer[0].to_text(), 'www.b.example.org. 300 IN TXT "b"')
        reply = yield server.query("a.example.org", "A")  # the first element itself
        self.assertEqual(reply.rcode(), SERVFAIL)
        self.assertEqual(success(server.port), 0)

    @defer.inlineCallbacks
    def test_resolv_conf(self) -> Any:
        server = yield self.serve(self.resolv_conf())
        yield self.check_misses(server)
        yield self.check_hits(server)

    @defer.inlineCallbacks
    def test_mixed_case(self) -> Any:
        server = yield self.serve(self.resolv_conf())
        reply = yield server.query("Only.A.Example.ORG", "A")
        self.assertEqual(reply.question[0].to_text(), "Only.A.Example.ORG. IN A")
        self.assertEqual(reply.answer[0].to_text(), "Only.A.Example.ORG. 3600 IN CNAME "
                                                    "only.b.example.org.")  # the zone's case

    @defer.inlineCallbacks
    def test_plugin(self) -> Any:
        """The provider's search path, asked per query with the client's request."""
        search_paths["127.0.0.1"] = SEARCH
        server = yield self.serve("@searcher", more="searcher")
        yield self.check_misses(server)
        yield self.check_hits(server)
        self.assertEqual({request.client_host for request in asked}, {"127.0.0.1"})
        self.assertIn("only.a.example.org.", [request.qname for request in asked])

    @defer.inlineCallbacks
    def test_plugin_without_a_path(self) -> Any:
        """None or an empty path: the query goes down the chain untouched."""
        server = yield self.serve("@searcher", more="searcher")
        for path in (None, []):
            search_paths["127.0.0.1"] = path
            reply = yield server.query("ns.a.example.org", "A")
            self.assertEqual(reply.rcode(), NXDOMAIN)
        self.assertEqual(len(asked), 2)
        self.assertEqual(success(server.port), 0)

    @defer.inlineCallbacks
    def test_plugin_not_in_the_block(self) -> Any:
        server = yield self.serve("@searcher")
        reply = yield server.query("ns.a.example.org", "A")
        self.assertEqual(reply.rcode(), NXDOMAIN)
        self.assertEqual(asked, [])

    def test_plugin_without_autopath(self) -> None:
        """The block's whole configuration fails to start, at the directive's line."""
        configuration = load_configuration(". {\n    whoami\n    autopath @whoami\n}\n",
                                           "Corefile", registry_with(PLUGINS), default_port=0,
                                           reactor=task.Clock())
        started = defer.gatherResults([defer.maybeDeferred(hook)
                                       for hook in configuration.startup_hooks],
                                      consumeErrors=True)
        failure = self.failureResultOf(started).value.subFailure
        self.assertEqual(str(failure.value), "Corefile:3: plugin/autopath: whoami does not "
                                             "implement the AutoPather interface")


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        check_examples(self, "autopath", 1)

    @defer.inlineCallbacks
    def test_example_serves(self) -> Any:
        (example,) = corefile_examples(plugin_readme("autopath"))
        resolv = temp_file(self, "search sub.example.org example.org\n")
        zone = temp_file(self, ZONE)
        corefile = example.replace("my-resolv.conf", resolv).replace("db.example.org", zone)
        server = yield start_server(corefile, plugins=PLUGINS)
        self.addCleanup(server.stop)
        reply = yield server.query("www.sub.example.org", "A")
        self.assertEqual([r.to_text() for r in reply.answer],
                         ["www.sub.example.org. 3600 IN CNAME www.example.org.",
                          "www.example.org. 3600 IN A 192.0.2.12"])
