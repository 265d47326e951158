"""The *hosts* plugin: setup, the hosts file parser, the handler, reloading, and the server."""

from __future__ import annotations

import os
import shutil
import tempfile

import dns.flags
import dns.rcode
import dns.rdatatype
from twisted.internet import defer, task, utils
from twisted.trial import unittest

from twisted_dns.config import load as load_configuration
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IReadiness
from twisted_dns.pkg import metrics
from twisted_dns.plugins.hosts.hosts import Hosts, Reloader
from twisted_dns.plugins.hosts.hostsfile import parse
from twisted_dns.plugins.hosts.setup import setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    NextPlugin,
    check_examples,
    corefile_examples,
    default_registry,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)
from twisted_dns.testing.peers import require_program

KDIG = shutil.which("kdig")

HOSTS = """\
127.0.0.1 localhost localhost.domain
::1 localhost localhost.domain
10.0.0.1 example.org   # a comment
::FFFF:10.0.0.2 Example.COM
10.0.0.3 fallthrough-example.org
fe80::1%eth0 linklocal.example.org
1.2.3.4 aa.example.com
5.6.7.8 *.apps.example.com
2001:db8::5 v6only.example.org
not-an-address skipped.example.org
10.0.0.9
# 10.0.0.10 commented.example.org
reload 5s
"""


def load_block(corefile: str, reactor=None):
    """Set the Corefile's first block up as the server would; the block's config."""
    return load_configuration(corefile, "Corefile", default_registry(), default_port=0,
                              reactor=reactor or task.Clock()).blocks[0]


def kdig(server, *args: str) -> defer.Deferred:
    """``kdig +short`` against the test server (another client than dnspython)."""
    return utils.getProcessOutputAndValue(
        KDIG, ("@127.0.0.1", "-p", str(server.port), "+short", "+timeout=5", *args))


class Fixture(unittest.TestCase):
    def hosts_file(self, text: str = HOSTS) -> str:
        directory = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(directory))
        path = os.path.join(directory, "hosts")
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def plugin(self, body: str = "", args: str = "", zone: str = ".",
               reactor=None) -> tuple[Hosts, NextPlugin]:
        path = self.hosts_file()
        block = load_block(f"{zone} {{\n    hosts {path} {args} {{\n{body}\n    }}\n}}\n",
                           reactor)
        hosts = block.plugin("hosts")
        nxt = NextPlugin(rcode=dns.rcode.REFUSED)
        hosts.next = nxt
        return hosts, nxt

    def ask(self, hosts: Hosts, name: str, rdtype: str = "A", **kwargs):
        """(rcode returned, reply or None)."""
        request = make_request(name, rdtype, **kwargs)
        writer = CaptureWriter(request)
        rcode = hosts.ServeDNS(request, writer)
        return rcode, (reply_of(writer) if writer.sent else None)

    def answer(self, hosts: Hosts, name: str, rdtype: str = "A") -> list[str]:
        rcode, reply = self.ask(hosts, name, rdtype)
        self.assertEqual(rcode, 0)
        self.assertTrue(reply.flags & dns.flags.AA)
        return sorted(rr.to_text() for rrset in reply.answer for rr in rrset)


class ParseTests(unittest.TestCase):
    def test_families_comments_and_junk(self) -> None:
        entries = parse(HOSTS, ["."])
        self.assertEqual(set(entries.v4), {"localhost.", "localhost.domain.", "example.org.",
                                           "example.com.", "fallthrough-example.org.",
                                           "aa.example.com.", "*.apps.example.com."})
        self.assertEqual(set(entries.v6), {"localhost.", "localhost.domain.",
                                           "linklocal.example.org.", "v6only.example.org."})
        self.assertEqual(entries.v4["example.com."], [bytes([10, 0, 0, 2])])

    def test_reverse(self) -> None:
        entries = parse(HOSTS, ["."])
        self.assertEqual(entries.ptr["1.0.0.127.in-addr.arpa."],
                         ["localhost.", "localhost.domain."])
        self.assertEqual(entries.ptr["2.0.0.10.in-addr.arpa."], ["example.com."])
        self.assertNotIn("8.7.6.5.in-addr.arpa.", entries.ptr)  # wildcards have no PTR

    def test_no_reverse(self) -> None:
        self.assertEqual(parse(HOSTS, ["."], reverse=False).ptr, {})

    def test_invalid_names_skipped(self) -> None:
        long_label = "x" * 64
        entries = parse(f"10.0.0.1 a..b ok.example {long_label}.example . "
                        f"{'y' * 63}.example esc\\.aped.example\n", ["."])
        self.assertEqual(set(entries.v4), {"ok.example.", f"{'y' * 63}.example.",
                                           "esc\\.aped.example."})

    def test_origins(self) -> None:
        entries = parse(HOSTS, ["example.org."])
        self.assertEqual(set(entries.v4), {"example.org."})  # not fallthrough-example.org
        self.assertEqual(set(entries.v6), {"linklocal.example.org.", "v6only.example.org."})


class SetupTests(Fixture):
    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("hosts"), setup)

    def test_defaults(self) -> None:
        hosts = load_block("example.org {\n    hosts\n}\n").plugin("hosts")
        self.assertEqual((hosts.path, hosts.ttl, hosts.reverse, hosts.origins),
                         ("/etc/hosts", 3600, True, ("example.org.",)))
        self.assertEqual(hosts.fall.zones, ())
        self.assertTrue(IReadiness.providedBy(hosts))
        self.assertTrue(hosts.Ready())

    def test_options(self) -> None:
        hosts, _ = self.plugin("ttl 60\nno_reverse\nreload 0\nfallthrough in-addr.arpa\n"
                               "fallthrough_unsupported", args="example.org example.net")
        self.assertEqual((hosts.ttl, hosts.reverse, hosts.origins, hosts.fall.zones,
                          hosts.fall_unsupported),
                         (60, False, ("example.org.", "example.net."), ("in-addr.arpa.",),
                          True))

    def test_cidr_and_scheme_zones(self) -> None:
        hosts, _ = self.plugin(args="dns://Example.ORG:53 10.0.0.0/23")
        self.assertEqual(hosts.origins, ("example.org.", "0.0.10.in-addr.arpa.",
                                         "1.0.10.in-addr.arpa."))

    def test_relative_path_uses_root(self) -> None:
        path = self.hosts_file("10.1.1.1 rooted.example.org\n")
        root, name = os.path.split(path)
        block = load_block(f". {{\n    root {root}\n    hosts {name}\n}}\n")
        hosts = block.plugin("hosts")
        self.assertEqual(hosts.path, path)
        self.assertIn("rooted.example.org.", hosts.table.a)

    def test_missing_file_is_not_an_error(self) -> None:
        hosts = load_block(". {\n    hosts /nonexistent/hosts\n}\n").plugin("hosts")
        self.assertEqual(hosts.table.a, {})

    def errors(self, body: str) -> str:
        exc = self.assertRaises(ConfigError, load_block, body)
        return str(exc)

    def test_errors(self) -> None:
        cases = {
            ". {\n  hosts {\n    ttl\n  }\n}\n": "Corefile:3: ttl needs a time in second",
            ". {\n  hosts {\n    ttl x\n  }\n}\n": "Corefile:3: ttl needs a number of second",
            ". {\n  hosts {\n    ttl 0\n  }\n}\n": "Corefile:3: ttl provided is invalid",
            ". {\n  hosts {\n    ttl 65536\n  }\n}\n": "Corefile:3: ttl provided is invalid",
            ". {\n  hosts {\n    reload\n  }\n}\n":
                "Corefile:3: reload needs a duration (zero seconds to disable)",
            ". {\n  hosts {\n    reload 5x\n  }\n}\n":
                "Corefile:3: invalid duration for reload '5x'",
            ". {\n  hosts {\n    reload -1s\n  }\n}\n":
                "Corefile:3: invalid negative duration for reload '-1s'",
            ". {\n  hosts {\n    fallthrough\n    10.0.0.1 late.example.org\n  }\n}\n":
                "Corefile:4: unknown property '10.0.0.1'",
            ". {\n  hosts {\n    no_reverse x\n  }\n}\n":
                "Corefile:3: wrong argument count or unexpected line ending after 'x'",
            ". {\n  hosts {\n    fallthrough_unsupported\n  }\n}\n":
                "Corefile:4: fallthrough_unsupported requires fallthrough",
            ". {\n  hosts /etc/hosts example.org 10.0.0.0/33\n}\n":
                "Corefile:2: invalid CIDR 10.0.0.0/33: '10.0.0.0/33' does not appear to be "
                "an IPv4 or IPv6 network",
            ". {\n  hosts\n  hosts\n}\n":
                "Corefile:3: this plugin can only be used once per Server Block",
        }
        for corefile, message in cases.items():
            self.assertEqual(self.errors(corefile), message, corefile)


class HandlerTests(Fixture):
    def test_a_and_aaaa(self) -> None:
        hosts, _ = self.plugin()
        self.assertEqual(self.answer(hosts, "example.org"), ["10.0.0.1"])
        self.assertEqual(self.answer(hosts, "EXAMPLE.com"), ["10.0.0.2"])
        self.assertEqual(self.answer(hosts, "localhost", "AAAA"), ["::1"])
        self.assertEqual(self.answer(hosts, "linklocal.example.org", "AAAA"), ["fe80::1"])

    def test_owner_and_ttl(self) -> None:
        hosts, _ = self.plugin("ttl 60")
        _, reply = self.ask(hosts, "Example.ORG", "A")
        self.assertEqual(reply.answer[0].to_text(), "Example.ORG. 60 IN A 10.0.0.1")
        self.assertEqual(reply.question[0].to_text(), "Example.ORG. IN A")

    def test_nodata_for_other_family_and_unsupported_types(self) -> None:
        hosts, nxt = self.plugin()
        self.assertEqual(self.answer(hosts, "example.org", "AAAA"), [])
        self.assertEqual(self.answer(hosts, "v6only.example.org", "A"), [])
        self.assertEqual(self.answer(hosts, "example.org", "MX"), [])
        self.assertEqual(nxt.requests, [])

    def test_unknown_name_servfail_without_fallthrough(self) -> None:
        hosts, nxt = self.plugin()
        self.assertEqual(self.ask(hosts, "missing.example.org"), (dns.rcode.SERVFAIL, None))
        self.assertEqual(self.ask(hosts, "missing.example.org", "MX"),
                         (dns.rcode.SERVFAIL, None))
        self.assertEqual(nxt.requests, [])

    def test_fallthrough(self) -> None:
        hosts, nxt = self.plugin("fallthrough")
        self.assertEqual(self.ask(hosts, "missing.example.org"), (dns.rcode.REFUSED, None))
        self.assertEqual(len(nxt.requests), 1)
        # an existing name is still answered (NODATA) without fallthrough_unsupported
        self.assertEqual(self.answer(hosts, "example.org", "TXT"), [])

    def test_fallthrough_zones(self) -> None:
        hosts, _ = self.plugin("fallthrough example.net")
        self.assertEqual(self.ask(hosts, "missing.example.org"), (dns.rcode.SERVFAIL, None))
        self.assertEqual(self.ask(hosts, "missing.example.net"), (dns.rcode.REFUSED, None))

    def test_fallthrough_unsupported(self) -> None:
        hosts, _ = self.plugin("fallthrough example.org\nfallthrough_unsupported")
        self.assertEqual(self.ask(hosts, "example.org", "TXT"), (dns.rcode.REFUSED, None))
        self.assertEqual(self.answer(hosts, "example.org", "AAAA"), [])  # supported type
        self.assertEqual(self.answer(hosts, "example.com", "TXT"), [])  # outside its zones

    def test_outside_zones_goes_to_next(self) -> None:
        hosts, nxt = self.plugin(args="example.net")
        self.assertEqual(self.ask(hosts, "anything.example.org"), (dns.rcode.REFUSED, None))
        self.assertEqual(len(nxt.requests), 1)

    def test_ptr(self) -> None:
        hosts, _ = self.plugin()
        self.assertEqual(self.answer(hosts, "1.0.0.10.in-addr.arpa", "PTR"), ["example.org."])
        self.assertEqual(self.answer(hosts, "1.0.0.127.in-addr.arpa", "PTR"),
                         ["localhost.", "localhost.domain."])
        self.assertEqual(
            self.answer(hosts, "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                               ".ip6.arpa", "PTR"), ["v6only.example.org."])
        # an unknown address goes on, fallthrough or not
        self.assertEqual(self.ask(hosts, "9.9.9.9.in-addr.arpa", "PTR"),
                         (dns.rcode.REFUSED, None))

    def test_ptr_escaped_and_unicode_names(self) -> None:
        hosts, _ = self.plugin("10.7.7.7 esc\\.aped.example.org\n10.7.7.7 caf\u00e9.example.org")
        self.assertEqual(self.answer(hosts, "7.7.7.10.in-addr.arpa", "PTR"),
                         ["caf\\195\\169.example.org.", "esc\\.aped.example.org."])
        # a query with those raw octets finds the name
        self.assertEqual(self.answer(hosts, "CAF\\195\\169.example.org"), ["10.7.7.7"])

    def test_ptr_outside_zones(self) -> None:
        hosts, _ = self.plugin(args="example.org")
        self.assertEqual(self.answer(hosts, "1.0.0.10.in-addr.arpa", "PTR"), ["example.org."])

    def test_no_reverse(self) -> None:
        hosts, _ = self.plugin("no_reverse")
        self.assertEqual(self.ask(hosts, "1.0.0.10.in-addr.arpa", "PTR"),
                         (dns.rcode.REFUSED, None))

    def test_wildcard(self) -> None:
        hosts, _ = self.plugin("192.168.1.10 *.example.net\n192.168.1.11 www.example.net\n"
                               "2001:db8::11 v6.example.net")
        self.assertEqual(self.answer(hosts, "www.example.net"), ["192.168.1.11"])
        self.assertEqual(self.answer(hosts, "apps.example.net"), ["192.168.1.10"])
        self.assertEqual(self.answer(hosts, "apps.example.net", "AAAA"), [])
        self.assertEqual(self.answer(hosts, "v6.example.net", "A"), [])  # exists: no wildcard
        self.assertEqual(self.ask(hosts, "example.net")[0], dns.rcode.SERVFAIL)
        self.assertEqual(self.ask(hosts, "deep.apps.example.net")[0], dns.rcode.SERVFAIL)
        self.assertEqual(self.answer(hosts, "x.apps.example.com"), ["5.6.7.8"])

    def test_inline_after_file(self) -> None:
        hosts, _ = self.plugin("10.9.9.9 example.org")
        self.assertEqual(self.answer(hosts, "example.org"), ["10.0.0.1", "10.9.9.9"])
        _, reply = self.ask(hosts, "example.org")
        self.assertEqual([rr.address for rr in reply.answer[0]], ["10.0.0.1", "10.9.9.9"])
        self.assertEqual(self.answer(hosts, "9.9.9.10.in-addr.arpa", "PTR"), ["example.org."])

    def test_no_dnspython_on_the_query_path(self) -> None:
        hosts, _ = self.plugin()
        request = make_request("example.org", use_edns=0)
        writer = CaptureWriter(request)
        hosts.ServeDNS(request, writer)
        self.assertIsNone(request._message)
        self.assertEqual(reply_of(writer).edns, 0)


class ReloadTests(Fixture):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.path = self.hosts_file("10.0.0.1 example.org\n")
        self.setup = load_configuration(f". {{\n    hosts {self.path} {{\n        reload 2s\n"
                                        f"        10.8.8.8 inline.example.org\n    }}\n}}\n",
                                        "Corefile", default_registry(), default_port=0,
                                        reactor=self.clock)
        self.hosts = self.setup.blocks[0].plugin("hosts")
        for hook in self.setup.startup_hooks:
            hook()
        self.addCleanup(lambda: [hook() for hook in self.setup.shutdown_hooks])
        # parse in the reactor thread: with a task.Clock nothing would run a thread's result
        reloader = self.setup.startup_hooks[0].__self__
        reloader.run = defer.maybeDeferred

    def rewrite(self, text: str) -> None:
        with open(self.path, "w") as handle:
            handle.write(text)
        stat = os.stat(self.path)
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    def test_changed_file_is_read_at_the_next_tick(self) -> None:
        self.rewrite("10.0.0.2 example.org\n10.0.0.3 new.example.org\n")
        self.assertIn(bytes([10, 0, 0, 1]), self.hosts.table.a["example.org."][0])
        self.clock.advance(2)
        self.assertEqual(self.answer(self.hosts, "example.org"), ["10.0.0.2"])
        self.assertEqual(self.answer(self.hosts, "new.example.org"), ["10.0.0.3"])
        self.assertEqual(self.answer(self.hosts, "inline.example.org"), ["10.8.8.8"])

    def test_unchanged_file_is_not_read(self) -> None:
        table = self.hosts.table
        self.clock.advance(2)
        self.assertIs(self.hosts.table, table)

    def test_deleted_file_keeps_entries(self) -> None:
        os.remove(self.path)
        self.clock.advance(2)
        self.assertEqual(self.answer(self.hosts, "example.org"), ["10.0.0.1"])
        self.rewrite("10.0.0.4 example.org\n")
        self.clock.advance(2)
        self.assertEqual(self.answer(self.hosts, "example.org"), ["10.0.0.4"])

    def test_reload_zero_disables(self) -> None:
        setup_ = load_configuration(
            f". {{\n    hosts {self.path} {{\n        reload 0\n    }}\n}}\n",
            "Corefile", default_registry(), default_port=0, reactor=self.clock)
        before = len(self.clock.getDelayedCalls())
        for hook in setup_.startup_hooks:
            hook()
        self.assertEqual(len(self.clock.getDelayedCalls()), before)

    def test_stops_on_shutdown(self) -> None:
        for hook in self.setup.shutdown_hooks:
            hook()
        self.assertEqual(self.clock.getDelayedCalls(), [])


def sample(name: str, labels: dict[str, str] | None = None) -> float | None:
    return metrics.registry().get_sample_value(name, labels or {})


class MetricsTests(Fixture):
    """``coredns_hosts_entries{hostsfile}`` and ``coredns_hosts_reload_timestamp_seconds``,
    counted as CoreDNS counts them: every address of a name plus every name of an address
    (the PTR side), file and inline entries together."""

    #: 10.0.0.1 a b, ::1 c, *.w (no PTR): 3 + 1 addresses and 2 + 1 names
    FILE = "10.0.0.1 a.example b.example\n::1 c.example\n10.0.0.9 *.w.example\njunk x\n"
    MTIME_NS = 1_700_000_000_500_000_000

    def setUp(self) -> None:
        metrics.fresh()
        self.clock = task.Clock()
        self.path = self.hosts_file(self.FILE)
        os.utime(self.path, ns=(self.MTIME_NS, self.MTIME_NS))

    def load(self, options: str = "") -> Hosts:
        block = load_block(f". {{\n    hosts {self.path} {{\n{options}\n"
                           "        10.0.0.2 d.example\n    }\n}\n", self.clock)
        return block.plugin("hosts")

    def entries(self) -> float | None:
        return sample("coredns_hosts_entries", {"hostsfile": self.path})

    def test_set_when_the_file_is_read(self) -> None:
        self.load()
        self.assertEqual(self.entries(), 7 + 2)  # the inline line: one address, one name
        self.assertEqual(sample("coredns_hosts_reload_timestamp_seconds"), 1_700_000_000.5)

    def test_no_reverse_counts_no_names(self) -> None:
        self.load("        no_reverse")
        self.assertEqual(self.entries(), 4 + 1)

    def test_changed_after_a_reload_of_the_file(self) -> None:
        # a Reloader as setup makes one, parsing in the reactor thread (a task.Clock runs no
        # thread's result)
        reloader = Reloader(self.load(), 2, self.clock, run=defer.maybeDeferred)
        reloader.start()
        self.addCleanup(reloader.stop)
        with open(self.path, "w") as handle:
            handle.write("10.0.0.1 a.example\n")
        os.utime(self.path, ns=(self.MTIME_NS, self.MTIME_NS + 2 * 10**9))
        self.assertEqual(self.entries(), 9)
        self.clock.advance(2)
        self.assertEqual(self.entries(), 2 + 2)
        self.assertEqual(sample("coredns_hosts_reload_timestamp_seconds"), 1_700_000_002.5)

    def test_missing_file_sets_nothing(self) -> None:
        os.remove(self.path)
        self.load()
        self.assertIsNone(self.entries())
        # a gauge without labels exists from the start, as Go's does
        self.assertEqual(sample("coredns_hosts_reload_timestamp_seconds"), 0)

    def test_one_series_per_file(self) -> None:
        self.load()
        other = self.hosts_file("10.1.1.1 e.example\n")
        load_block(f". {{\n    hosts {other}\n}}\n", self.clock)
        self.assertEqual([self.entries(), sample("coredns_hosts_entries", {"hostsfile": other})],
                         [9, 2])


class ServerTests(Fixture):
    @defer.inlineCallbacks
    def check(self, proto: str):
        path = self.hosts_file()
        server = yield start_server(f"example.org example.com in-addr.arpa {{\n"
                                    f"    hosts {path} {{\n        ttl 90\n    }}\n}}\n")
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "A", proto=proto)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertEqual(reply.answer[0].to_text(), "example.org. 90 IN A 10.0.0.1")
        reply = yield server.query("example.org", "AAAA", proto=proto)
        self.assertEqual((reply.rcode(), reply.answer), (dns.rcode.NOERROR, []))
        reply = yield server.query("nothere.example.org", "A", proto=proto)
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)
        reply = yield server.query("2.0.0.10.in-addr.arpa", "PTR", proto=proto)
        self.assertEqual(reply.answer[0].to_text(), "2.0.0.10.in-addr.arpa. 90 IN PTR example.com.")

    def test_udp(self):
        return self.check("udp")

    def test_tcp(self):
        return self.check("tcp")

    @defer.inlineCallbacks
    def test_kdig(self):
        require_program("kdig")
        server = yield start_server(f"example.org in-addr.arpa {{\n"
                                    f"    hosts {self.hosts_file()}\n}}\n")
        self.addCleanup(server.stop)
        for transport in ("+notcp", "+tcp"):
            out, err, code = yield kdig(server, transport, "-x", "10.0.0.1")
            self.assertEqual((out.decode(), code), ("example.org.\n", 0), err)
            out, err, code = yield kdig(server, transport, "LOCALHOST.domain", "AAAA")
            self.assertEqual(out.decode(), "", err)  # outside its zones: next plugin: none
            out, err, code = yield kdig(server, transport, "example.org", "A")
            self.assertEqual((out.decode(), code), ("10.0.0.1\n", 0), err)


class ReadmeTests(Fixture):
    def examples(self) -> list[str]:
        return corefile_examples(plugin_readme("hosts"))

    def test_examples_parse(self) -> None:
        check_examples(self, "hosts", 5)

    def serve(self, example: str, hosts_text: str):
        """Serve a README example from a temp dir holding ``example.hosts``."""
        path = self.hosts_file(hosts_text)
        os.rename(path, os.path.join(os.path.dirname(path), "example.hosts"))
        cwd = os.getcwd()
        os.chdir(os.path.dirname(path))
        self.addCleanup(os.chdir, cwd)
        # no upstream in tests: the next plugin is whoami in place of forward
        return start_server(example.replace("forward . 8.8.8.8", "whoami"))

    @defer.inlineCallbacks
    def ask(self, server, name: str, rdtype: str = "A"):
        """The reply over UDP, checked to be the same over TCP."""
        udp = yield server.query(name, rdtype)
        tcp = yield server.query(name, rdtype, proto="tcp")
        self.assertEqual((udp.rcode(), udp.flags, udp.answer, udp.additional),
                         (tcp.rcode(), tcp.flags, tcp.answer, tcp.additional))
        return udp

    @defer.inlineCallbacks
    def test_etc_hosts(self):
        server = yield start_server(self.examples()[0])
        self.addCleanup(server.stop)
        reply = yield self.ask(server, "localhost")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)  # /etc/hosts names localhost

    @defer.inlineCallbacks
    def test_example_hosts(self):
        server = yield self.serve(self.examples()[1], "192.0.2.1 www.example.org\n")
        self.addCleanup(server.stop)
        reply = yield self.ask(server, "www.example.org")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.1")
        reply = yield self.ask(server, "1.2.0.192.in-addr.arpa", "PTR")
        self.assertEqual(reply.answer[0][0].target.to_text(), "www.example.org.")

    @defer.inlineCallbacks
    def test_zones_and_fallthrough(self):
        server = yield self.serve(self.examples()[2],
                                  "192.0.2.1 a.example.org a.example.com\n")
        self.addCleanup(server.stop)
        reply = yield self.ask(server, "a.example.org")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.1")
        # example.com is not among its zones and there is no next plugin
        reply = yield self.ask(server, "a.example.com")
        self.assertEqual(reply.rcode(), dns.rcode.SERVFAIL)

    @defer.inlineCallbacks
    def test_inline(self):
        server = yield start_server(self.examples()[3])
        self.addCleanup(server.stop)
        reply = yield self.ask(server, "example.org")
        self.assertEqual(reply.answer[0].to_text(), "example.org. 3600 IN A 10.0.0.1")
        reply = yield server.query("other.example.org", "A")
        self.assertEqual(reply.answer, [])
        self.assertEqual(len(reply.additional), 2)  # whoami answered after fallthrough

    @defer.inlineCallbacks
    def test_wildcard(self):
        server = yield self.serve(self.examples()[4], "")
        self.addCleanup(server.stop)
        for name, address in (("www.example.com", "192.168.1.11"),
                              ("apps.example.com", "192.168.1.10")):
            reply = yield self.ask(server, name)
            self.assertEqual(reply.answer[0][0].address, address)
        for name in ("example.com", "deep.apps.example.com"):
            reply = yield server.query(name, "A")
            self.assertEqual((reply.answer, len(reply.additional)), ([], 2))  # whoami
