"""The *template* plugin: setup errors, Go regex translation, the handler, and every README
example served over UDP and TCP."""

from __future__ import annotations

import shutil

import dns.flags
import dns.rcode
import dns.rdatatype
from twisted.internet import defer, task, utils
from twisted.trial import unittest

from twisted_dns.config import load as load_configuration
from twisted_dns.errors import ConfigError
from twisted_dns.pkg import metrics
from twisted_dns.pkg.goregex import RegexError, compile_go, translate
from twisted_dns.pkg.gotemplate.printer import root_string
from twisted_dns.plugins.template.rr import RRError, parse_rr
from twisted_dns.plugins.template.setup import setup
from twisted_dns.plugins.template.template import TemplateHandler
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
HOSTNAME = "host1.engineering.coredns.io"


def load_block(corefile: str):
    return load_configuration(corefile, "Corefile", default_registry(), default_port=0,
                              reactor=task.Clock(), environ={"HOSTNAME": HOSTNAME}).blocks[0]


def handler(body: str, zone: str = ".") -> tuple[TemplateHandler, NextPlugin]:
    plugin = load_block(f"{zone} {{\n{body}\n}}\n").plugin("template")
    nxt = NextPlugin(rcode=dns.rcode.REFUSED)
    plugin.next = nxt
    return plugin, nxt


def ask(plugin: TemplateHandler, name: str, rdtype: str = "A", rdclass: str = "IN", **kwargs):
    """(rcode returned, reply or None)."""
    request = make_request(name, rdtype, rdclass, **kwargs)
    writer = CaptureWriter(request)
    rcode = plugin.ServeDNS(request, writer)
    return rcode, (reply_of(writer) if writer.sent else None)


def texts(section) -> list[str]:
    return [line for rrset in section for line in rrset.to_text().splitlines()]


def kdig(server, *args: str) -> defer.Deferred:
    """``kdig +short`` against the test server (another client than dnspython)."""
    return utils.getProcessOutputAndValue(
        KDIG, ("@127.0.0.1", "-p", str(server.port), "+short", "+timeout=5", *args))


class RegexTests(unittest.TestCase):
    def test_translations(self) -> None:
        self.assertEqual(translate("^ip-(?P<a>[0-9]+)$"), "^ip-(?P<a>[0-9]+)$")
        self.assertEqual(translate("(?<a>x)"), "(?P<a>x)")
        self.assertEqual(translate("a\\z"), "a\\Z")
        self.assertEqual(translate("\\Qa.b\\E."), "a\\.b.")
        self.assertEqual(translate("[[:digit:]]+"), "[0-9]+")
        self.assertEqual(translate("[]a]"), "[\\]a]")
        self.assertEqual(translate("\\x{41}"), "A")

    def test_semantics(self) -> None:
        self.assertIsNotNone(compile_go("(?i)^EXAMPLE").search("example."))
        self.assertIsNone(compile_go("^\\d+$").search("\u0663"))  # Go's \d is ASCII only
        self.assertIsNotNone(compile_go("[[:alpha:]]+[.]$").search("abc."))
        self.assertEqual(compile_go("a(?i:B)c").pattern, "a(?i:B)c")

    def test_refused(self) -> None:
        for pattern, message in (
                ("a(?=b)", "look-ahead"), ("a(?!b)", "look-ahead"), ("(?<=a)b", "look-behind"),
                ("(a)\\1", "backreferences"), ("(?P<x>a)(?P=x)", "backreferences"),
                ("(?>a)", "atomic"), ("(?#c)a", "comments"), ("\\pL", "Unicode classes"),
                ("(?U)a+", "not supported"), ("a(?i)b", "middle of a pattern"),
                ("a\\Z", "invalid escape"), ("[[:foo:]]", "invalid character class"),
                ("(a", "missing )"), ("a\\", "trailing backslash")):
            exc = self.assertRaises(RegexError, compile_go, pattern)
            self.assertIn(message, str(exc), pattern)


class RRTests(unittest.TestCase):
    def test_defaults_and_forms(self) -> None:
        self.assertEqual(parse_rr("foogle.com 60 IN CNAME google.com").rrset.to_text(),
                         "foogle.com. 60 IN CNAME google.com.")
        self.assertEqual(parse_rr("x.example. A 1.2.3.4").rrset.to_text(),
                         "x.example. 3600 IN A 1.2.3.4")
        self.assertEqual(parse_rr("x. IN 60 A 1.2.3.4").rrset.to_text(), "x. 60 IN A 1.2.3.4")
        self.assertEqual(
            parse_rr("invalid. 60 CH SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)")
            .rrset.to_text(), "invalid. 60 CH SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60")

    def test_wire_form(self) -> None:
        records = parse_rr("a.example. 60 IN MX 10 mx.example.")
        self.assertEqual(records.wire, (b"\x01a\x07example\x00"
                                        + bytes.fromhex("000f00010000003c000e")
                                        + b"\x00\x0a\x02mx\x07example\x00",))

    def test_errors(self) -> None:
        for text in ("", "x. 60 IN A <no value>", "x. 60 IN A", "bad"):
            self.assertRaises(RRError, parse_rr, text)


class SetupTests(unittest.TestCase):
    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("template"), setup)

    def test_rules(self) -> None:
        plugin, _ = handler("  template IN A example.org example.net {\n"
                            "    match ^a ^b\n    answer \"{{ .Name }} A 1.2.3.4\"\n"
                            "    fallthrough\n  }\n  template ANY ANY {\n    rcode NXDOMAIN\n"
                            "  }", zone="example.org")
        first, second = plugin.rules
        self.assertEqual((first.qclass, first.qtype, first.zones, [p for p, _ in first.regexes]),
                         (1, 1, ("example.org.", "example.net."), ["^a", "^b"]))
        self.assertEqual(first.fall.zones, (".",))
        self.assertEqual((second.qclass, second.qtype, second.zones, second.rcode),
                         (255, 255, ("example.org.",), 3))
        self.assertEqual([p for p, _ in second.regexes], [".*"])
        self.assertEqual(plugin.zones, ("example.org.", "example.net."))

    def test_errors(self) -> None:
        cases = {
            "template": "Corefile:2: wrong argument count or unexpected line ending after "
                        "'template'",
            "template IN": "Corefile:2: wrong argument count or unexpected line ending after "
                           "'IN'",
            "template in A": "Corefile:2: invalid query class in",
            "template IN a {\n rcode NXDOMAIN\n}": "Corefile:2: invalid query type a",
            "template IN TYPE1 {\n rcode NXDOMAIN\n}": "Corefile:2: invalid query type TYPE1",
            "template IN A {\n match a(?=b)\n answer \"x. A 1.2.3.4\"\n}":
                "Corefile:3: could not parse regex: a(?=b), look-ahead are not supported by "
                "Go regexp: (?=",
            "template IN A {\n answer \"{{ .Nmae }} A 1.2.3.4\"\n}":
                "Corefile:3: could not compile template: {{ .Nmae }} A 1.2.3.4, can't "
                "evaluate field Nmae: the data has Class, Group, Match, Message, Meta, Name, "
                "Question, Regex, Remote, Type, Zone",
            "template IN A {\n\n answer \"{{ if .Name }}\"\n}":
                "Corefile:4: could not compile template: {{ if .Name }}, unexpected EOF: if "
                "has no {{end}}",
            "template IN A {\n rcode nxdomain\n}": "Corefile:3: unknown rcode nxdomain",
            "template IN A {\n rcode\n}":
                "Corefile:3: wrong argument count or unexpected line ending after 'rcode'",
            "template IN A {\n match\n}":
                "Corefile:3: wrong argument count or unexpected line ending after 'match'",
            "template IN A {\n answer\n}":
                "Corefile:3: wrong argument count or unexpected line ending after 'answer'",
            "template IN A {\n match .*\n}": "Corefile:4: no answer section for template found",
            "template IN A {\n additional \"x. A 1.2.3.4\"\n}":
                "Corefile:4: no answer section for template found",
            "template IN A {\n rcode NXDOMAIN\n ederror x\n}":
                "Corefile:4: error parsing extended DNS error code x",
            "template IN A {\n rcode NXDOMAIN\n ederror 1 2 3\n}":
                "Corefile:4: wrong argument count or unexpected line ending after '3'",
            "template IN A {\n rcode NXDOMAIN\n bogus\n}": "Corefile:4: unknown property 'bogus'",
        }
        for body, message in cases.items():
            exc = self.assertRaises(ConfigError, load_block, f". {{\n{body}\n}}\n")
            self.assertEqual(str(exc), message, body)

    def test_cidr_zone(self) -> None:
        plugin, _ = handler("template IN PTR 10.0.0.0/8 {\n rcode NXDOMAIN\n}")
        self.assertEqual(plugin.rules[0].zones, ("10.in-addr.arpa.",))

    def test_upstream_is_accepted_and_ignored(self) -> None:
        plugin, _ = handler("template IN A {\n answer \"x. A 1.2.3.4\"\n upstream a b\n}")
        self.assertEqual(len(plugin.rules), 1)


class HandlerTests(unittest.TestCase):
    def test_answer_is_authoritative_with_the_query_data(self) -> None:
        plugin, _ = handler('template IN A example {\n'
                            ' match "^(?P<host>[a-z]+)-(\\d+)[.]"\n'
                            ' answer "{{ .Name }} 60 IN A 10.0.0.{{ index .Match 2 }}"\n'
                            ' answer "{{ .Group.host }}.{{ .Zone }} 60 A '
                            '10.0.1.{{ index .Group \\"2\\" }}"\n'
                            ' additional "{{ .Zone }} 30 TXT {{ .Type }} {{ .Class }} '
                            '{{ .Remote }} [{{ .Meta \\"x\\" }}]"\n'
                            '}')
        rcode, reply = ask(plugin, "Web-7.Example")
        self.assertEqual(rcode, 0)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertFalse(reply.flags & dns.flags.RA)
        # .Name is lower-case, as CoreDNS's
        self.assertEqual(texts(reply.answer), ["web-7.example. 60 IN A 10.0.0.7",
                                               "web.example. 60 IN A 10.0.1.7"])
        self.assertEqual(texts(reply.additional),
                         ['example. 30 IN TXT "A" "IN" "127.0.0.1" "[]"'])

    def test_question_and_message(self) -> None:
        plugin, _ = handler('template IN TXT {\n answer "{{ .Name }} TXT '
                            '{{ .Question.Name }} {{ .Question.Qtype }} {{ .Message.Id }} '
                            '{{ .Message.RecursionDesired }} {{ .Regex }}"\n}')
        request = make_request("Hello.Example", "TXT")
        writer = CaptureWriter(request)
        plugin.ServeDNS(request, writer)
        self.assertEqual(texts(reply_of(writer).answer),
                         [f'hello.example. 3600 IN TXT "Hello.Example." "16" "{request.id}" '
                          '"true" ".*"'])

    def test_metadata(self) -> None:
        plugin, _ = handler('template IN TXT {\n answer "x. TXT {{ .Meta \\"a/b\\" }}"\n}')
        request = make_request("x", "TXT")
        request.set_metadata("a/b", lambda: "value")
        writer = CaptureWriter(request)
        plugin.ServeDNS(request, writer)
        self.assertEqual(texts(reply_of(writer).answer), ['x. 3600 IN TXT "value"'])

    def test_order_and_fallthrough(self) -> None:
        plugin, nxt = handler(
            'template IN A example {\n match ^a[.]\n answer "{{ .Name }} A 1.1.1.1"\n'
            ' fallthrough\n}\n'
            'template IN A example {\n match ^b[.]\n answer "{{ .Name }} A 2.2.2.2"\n'
            ' fallthrough c.example\n}\n'
            'template IN A example {\n match ^c[.]\n answer "{{ .Name }} A 3.3.3.3"\n}')
        for name, address in (("a", "1.1.1.1"), ("c", "3.3.3.3")):
            self.assertEqual(texts(ask(plugin, f"{name}.example")[1].answer),
                             [f"{name}.example. 3600 IN A {address}"])
        # second template: zone and type match, regex does not, its fallthrough excludes x.
        self.assertEqual(ask(plugin, "x.example"), (dns.rcode.SERVFAIL, None))
        # outside every template's zone: the next plugin
        self.assertEqual(ask(plugin, "a.other"), (dns.rcode.REFUSED, None))
        self.assertEqual(len(nxt.requests), 1)

    def test_no_template_left_goes_to_next(self) -> None:
        plugin, nxt = handler('template IN A {\n match ^a[.]\n answer "{{ .Name }} A 1.1.1.1"\n'
                              ' fallthrough\n}')
        self.assertEqual(ask(plugin, "b.example"), (dns.rcode.REFUSED, None))
        self.assertEqual(ask(plugin, "a.example", "AAAA"), (dns.rcode.REFUSED, None))
        self.assertEqual(len(nxt.requests), 2)

    def test_class_and_type_any(self) -> None:
        plugin, _ = handler('template IN MX {\n answer "{{ .Name }} MX 10 mail.{{ .Name }}"\n}\n'
                            'template ANY ANY {\n rcode NXDOMAIN\n}')
        _, reply = ask(plugin, "example", "ANY")
        self.assertEqual(texts(reply.answer), ["example. 3600 IN MX 10 mail.example."])
        self.assertEqual(ask(plugin, "example", "A", "CH")[0], dns.rcode.NXDOMAIN)
        _, reply = ask(plugin, "example", "MX", "ANY")
        self.assertEqual(texts(reply.answer), ["example. 3600 IN MX 10 mail.example."])

    def test_type_any_uses_template_type(self) -> None:
        plugin, _ = handler('template ANY TXT {\n answer "x. TXT {{ .Type }} {{ .Class }}"\n}')
        _, reply = ask(plugin, "example", "ANY", "CH")
        self.assertEqual(texts(reply.answer), ['x. 3600 IN TXT "TXT" "CH"'])

    def test_rcode_servfail_writes_nothing(self) -> None:
        plugin, _ = handler("template ANY ANY {\n rcode SERVFAIL\n}")
        self.assertEqual(ask(plugin, "example"), (dns.rcode.SERVFAIL, None))

    def test_rcode_refused_is_written(self) -> None:
        plugin, _ = handler('template ANY ANY {\n rcode REFUSED\n'
                            ' authority ". 60 SOA a. b. 1 2 3 4 5"\n}')
        rcode, reply = ask(plugin, "example")
        self.assertEqual((rcode, reply.rcode(), len(reply.authority)), (5, 5, 1))

    def test_failures_are_servfail(self) -> None:
        plugin, _ = handler('template IN A {\n answer "{{ index .Match 3 }} A 1.2.3.4"\n}\n')
        self.assertEqual(ask(plugin, "example"), (dns.rcode.SERVFAIL, None))
        plugin, _ = handler('template IN A {\n answer "{{ .Name }} A 1.2.3"\n}\n')
        self.assertEqual(ask(plugin, "example"), (dns.rcode.SERVFAIL, None))
        plugin, _ = handler('template IN A {\n answer "{{ .Group.nope }} A 1.2.3.4"\n}\n')
        self.assertEqual(ask(plugin, "example"), (dns.rcode.SERVFAIL, None))

    def test_ederror_with_edns_only(self) -> None:
        plugin, _ = handler('template ANY ANY {\n rcode NXDOMAIN\n ederror 21 "blocked"\n}')
        _, reply = ask(plugin, "x", use_edns=0)
        self.assertEqual([(o.code, o.text) for o in reply.options], [(21, "blocked")])
        _, reply = ask(plugin, "x")
        self.assertEqual(reply.edns, -1)


def sample(name: str, **labels: str) -> float | None:
    return metrics.registry().get_sample_value(name, labels)


class MetricsTests(unittest.TestCase):
    """The three counters, with CoreDNS's labels: the template's matched zone, the query's
    class and type (the template's for ANY), the section and the template as Go prints it."""

    def setUp(self) -> None:
        metrics.fresh()

    @staticmethod
    def labels(zone: str = "example.", qclass: str = "IN", qtype: str = "A",
               server: str = "dns://:53", **more: str) -> dict[str, str]:
        return {"server": server, "zone": zone, "view": "", "class": qclass, "type": qtype,
                **more}

    def test_matches(self) -> None:
        plugin, _ = handler('template IN A example {\n match ^a[.]\n answer "{{ .Name }} A 1.1.1.1"'
                            '\n fallthrough\n}\n'
                            'template IN MX {\n rcode SERVFAIL\n}\n'
                            'template ANY ANY {\n rcode NXDOMAIN\n}')
        rcodes = [ask(plugin, name, rdtype, rdclass)[0] for name, rdtype, rdclass in (
            ("a.example", "A", "IN"), ("a.example", "A", "IN"), ("b.example", "A", "IN"),
            ("x.org", "TXT", "CH"), ("x.org", "MX", "IN"), ("x.org", "ANY", "ANY"))]
        self.assertEqual(rcodes, [0, 0, 3, 3, 2, 2])
        matches = "coredns_template_matches_total"
        self.assertEqual(sample(matches, **self.labels()), 2)
        # b.example fell through to the catch-all; a query of type or class ANY takes the
        # template's (the MX one's: IN, MX)
        self.assertEqual([sample(matches, **self.labels(".", "IN", "A")),
                          sample(matches, **self.labels(".", "CH", "TXT")),
                          sample(matches, **self.labels(".", "IN", "MX"))], [1, 1, 2])
        self.assertIsNone(sample("coredns_template_template_failures_total",
                                 **self.labels(section="answer",
                                               template="{{.Name}} A 1.1.1.1")))

    def test_template_failure(self) -> None:
        plugin, _ = handler('template IN A example {\n'
                            ' answer "{{ .Name }} A 1.2.3.4"\n'
                            ' additional "{{ index .Match 3 }} A 1.2.3.4"\n}')
        self.assertEqual(ask(plugin, "a.example"), (dns.rcode.SERVFAIL, None))
        labels = self.labels(section="additional", template="{{index .Match 3}} A 1.2.3.4")
        self.assertEqual(sample("coredns_template_template_failures_total", **labels), 1)
        self.assertIsNone(sample("coredns_template_rr_failures_total", **labels))
        self.assertEqual(sample("coredns_template_matches_total", **self.labels()), 1)

    def test_rr_failure(self) -> None:
        plugin, _ = handler('template IN AAAA example {\n'
                            ' authority "{{- .Zone }}  60 IN SOA a. b. {{/* c */}}(1 2 3 4 5)"\n'
                            ' answer "{{ .Name }} AAAA 1.2.3"\n}')
        for _ in range(2):
            self.assertEqual(ask(plugin, "a.example", "AAAA"), (dns.rcode.SERVFAIL, None))
        labels = self.labels(qtype="AAAA", section="answer", template="{{.Name}} AAAA 1.2.3")
        self.assertEqual(sample("coredns_template_rr_failures_total", **labels), 2)
        self.assertIsNone(sample("coredns_template_template_failures_total", **labels))

    def test_server_label_under_bind(self) -> None:
        block = load_block('example {\n bind 127.0.0.1\n template IN A {\n'
                           ' answer "{{ .Name }} A 1.2.3"\n }\n}\n')
        ask(block.plugin("template"), "a.example")
        labels = self.labels(server="dns://127.0.0.1:53")
        self.assertEqual(sample("coredns_template_matches_total", **labels), 1)
        self.assertEqual(sample("coredns_template_rr_failures_total", section="answer",
                                template="{{.Name}} A 1.2.3", **labels), 1)

    def test_go_tree_string(self) -> None:
        """Go's ``Tree.Root.String()``, case by case (actions respaced, comments and trim
        markers dropped, ``else if`` nested, ``=`` printed as ``:=``)."""
        cases = {
            "{{ .Name }} 60 IN A {{ .Group.a }}.{{ index .Match 2 }}":
                "{{.Name}} 60 IN A {{.Group.a}}.{{index .Match 2}}",
            '{{ if eq .Type "AAAA" }}x{{ else if .Zone }}y{{ else }}z{{ end }}':
                '{{if eq .Type "AAAA"}}x{{else}}{{if .Zone}}y{{else}}z{{end}}{{end}}',
            '{{- printf "%s-%03d" .Zone (parseInt .Group.n 10 32) -}} x':
                '{{printf "%s-%03d" .Zone (parseInt .Group.n 10 32)}}x',
            "{{ range $i, $e := .Match }}{{ $i }}{{end}}":
                "{{range $i, $e := .Match}}{{$i}}{{end}}",
            '{{ $x := .Name }}{{ $x = `a|b` }}{{ (.Question).Name }} {{ .Meta "a" | print }}':
                '{{$x := .Name}}{{$x := `a|b`}}{{(.Question).Name}} {{.Meta "a" | print}}',
            "a {{/* note */}} b {{ $.Zone }}{{with .Zone}}{{.}}{{end}}":
                "a  b {{$.Zone}}{{with .Zone}}{{.}}{{end}}",
        }
        for text, expected in cases.items():
            with self.subTest(text=text):
                self.assertEqual(root_string(text), expected)


class ReadmeTests(unittest.TestCase):
    """Every Corefile of the README, served; ``forward . 8.8.8.8`` becomes *whoami* (no
    network in tests), so 'went to the next plugin' shows as whoami's two additional records."""

    examples = corefile_examples(plugin_readme("template"))

    def test_examples_parse(self) -> None:
        check_examples(self, "template", 11, environ={"HOSTNAME": HOSTNAME})

    @defer.inlineCallbacks
    def serve(self, index: int, queries):
        """Serve example ``index`` and run ``(name, type, class, check)`` over UDP and TCP."""
        corefile = self.examples[index].replace("forward . 8.8.8.8", "whoami")
        server = yield start_server(corefile, environ={"HOSTNAME": HOSTNAME})
        self.addCleanup(server.stop)
        for name, rdtype, rdclass, check in queries:
            for proto in ("udp", "tcp"):
                reply = yield server.query(name, rdtype, rdclass, proto=proto, use_edns=0)
                check(reply)

    def expect(self, rcode: int, answer=(), authority=(), additional=None, aa: bool = True):
        def check(reply) -> None:
            self.assertEqual(reply.rcode(), rcode)
            self.assertEqual(texts(reply.answer), list(answer))
            self.assertEqual(texts(reply.authority), list(authority))
            if additional is not None:
                self.assertEqual(texts(reply.additional), list(additional))
            self.assertEqual(bool(reply.flags & dns.flags.AA), aa)
        return check

    def next_plugin(self, reply) -> None:
        """whoami answered: the template let the query through."""
        self.assertEqual(reply.answer, [])
        self.assertEqual({rrset.rdtype for rrset in reply.additional},
                         {dns.rdatatype.A, dns.rdatatype.SRV})

    def test_everything_nxdomain(self):
        # as CoreDNS, a server answers classes other than IN only with chaos or forward in it
        return self.serve(0, [("example.org", "A", "IN", self.expect(dns.rcode.NXDOMAIN)),
                              ("x", "TXT", "IN", self.expect(dns.rcode.NXDOMAIN)),
                              ("x", "TXT", "CH", self.expect(dns.rcode.REFUSED, aa=False))])

    def test_soa_ns(self):
        soa = ("engineering.coredns.io. 3600 IN SOA ns1.engineering.coredns.io. "
               "admin.engineering.coredns.io. 1 60 120 86400 3600")
        negative = (f"engineering.coredns.io. 3600 IN SOA {HOSTNAME}. engineering.coredns.io. "
                    "1 60 120 86400 3600")
        return self.serve(1, [
            ("engineering.coredns.io", "SOA", "IN", self.expect(0, [soa])),
            ("engineering.coredns.io", "NS", "IN", self.expect(0, [
                "engineering.coredns.io. 900 IN NS ns1.engineering.coredns.io.",
                "engineering.coredns.io. 900 IN NS ns2.engineering.coredns.io."])),
            ("sub.engineering.coredns.io", "SOA", "IN", self.expect(0, [], [negative])),
            ("sub.engineering.coredns.io", "NS", "IN", self.expect(0, [], [negative])),
            # no template for A and no next plugin
            ("engineering.coredns.io", "A", "IN", self.expect(dns.rcode.SERVFAIL, aa=False)),
        ])

    def test_invalid(self):
        def soa(rdclass: str) -> str:
            return f"invalid. 60 {rdclass} SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60"

        def with_ede(rdclass: str):
            check = self.expect(dns.rcode.NXDOMAIN, [], [soa(rdclass)])

            def both(reply) -> None:
                check(reply)
                self.assertEqual([(o.code, o.text) for o in reply.options],
                                 [(21, "Blocked according to RFC2606")])
            return both
        # the CH query is asked of the handler: without forward (replaced for the test) the
        # server refuses classes other than IN before the chain, as CoreDNS does
        plugin = load_block(self.examples[2].replace("forward . 8.8.8.8", "whoami")) \
            .plugin("template")
        with_ede("CH")(ask(plugin, "www.invalid", "TXT", "CH", use_edns=0)[1])
        return self.serve(2, [("www.invalid", "A", "IN", with_ede("IN")),
                              ("www.example", "A", "IN", self.next_plugin)])

    def test_search_domain_zone(self):
        soa = ("example.com.dc1.example.com. 60 IN SOA ns.example.com. "
               "hostmaster.example.com. 1 60 60 60 60")
        return self.serve(3, [
            ("something.example.com.dc1.example.com", "A", "IN",
             self.expect(dns.rcode.NXDOMAIN, [], [soa])),
            ("www.dc1.example.com", "A", "IN", self.next_plugin)])

    def test_search_domain_regex(self):
        soa = ("dc1.example.com. 60 IN SOA ns.dc1.example.com. hostmaster.dc1.example.com. "
               "1 60 60 60 60")
        return self.serve(4, [
            ("something.example.com.dc1.example.com", "AAAA", "IN",
             self.expect(dns.rcode.NXDOMAIN, [], [soa])),
            ("www.example.com", "A", "IN", self.next_plugin)])

    def test_a_and_ptr(self):
        return self.serve(5, [
            ("ip-10-0-0-1.example", "A", "IN",
             self.expect(0, ["ip-10-0-0-1.example. 60 IN A 10.0.0.1"])),
            ("www.ip-192-168-1-2.example", "A", "IN",
             self.expect(0, ["www.ip-192-168-1-2.example. 60 IN A 192.168.1.2"])),
            ("1.0.0.10.in-addr.arpa", "PTR", "IN",
             self.expect(0, ["1.0.0.10.in-addr.arpa. 60 IN PTR ip-10-0-0-1.example."])),
            ("www.example", "A", "IN", self.next_plugin),
            ("ip-10-0-0-1.example", "AAAA", "IN", self.next_plugin)])

    def test_parse_int(self):
        return self.serve(6, [
            ("ip0a7b7b7b.example", "A", "IN",
             self.expect(0, ["ip0a7b7b7b.example. 60 IN A 10.123.123.123"])),
            ("ip0a7b7b.example", "A", "IN", self.next_plugin)])

    def test_multiple_patterns(self):
        return self.serve(7, [
            ("ip-10-1-2-3.dc.example", "A", "IN",
             self.expect(0, ["ip-10-1-2-3.dc.example. 60 IN A 10.1.2.3"])),
            ("192.0.2.7.ext.example", "A", "IN",
             self.expect(0, ["192.0.2.7.ext.example. 60 IN A 192.0.2.7"])),
            ("ip-11-1-2-3.dc.example", "A", "IN", self.next_plugin)])

    def test_a_and_mx(self):
        return self.serve(8, [
            ("ip-10-1-2-3.example", "A", "IN",
             self.expect(0, ["ip-10-1-2-3.example. 60 IN A 10.1.2.3"])),
            ("ip-10-1-2-3.example", "MX", "IN",
             self.expect(0, ["ip-10-1-2-3.example. 60 IN MX 10 ip-10-1-2-3.example."], [],
                         ["ip-10-1-2-3.example. 60 IN A 10.1.2.3"]))])

    def test_authoritative_nameservers(self):
        ns = ["example. 60 IN NS ns0.example.", "example. 60 IN NS ns1.example."]
        glue = ["ns0.example. 60 IN A 203.0.113.8", "ns1.example. 60 IN A 198.51.100.8"]
        return self.serve(9, [
            ("ip-10-1-2-3.example", "A", "IN",
             self.expect(0, ["ip-10-1-2-3.example. 60 IN A 10.1.2.3"], ns, glue)),
            ("ip-10-1-2-3.example", "MX", "IN",
             self.expect(0, ["ip-10-1-2-3.example. 60 IN MX 10 ip-10-1-2-3.example."], ns,
                         ["ip-10-1-2-3.example. 60 IN A 10.1.2.3", *glue]))])

    def test_cname(self):
        cname = ["foogle.com. 60 IN CNAME google.com."]
        return self.serve(10, [
            ("foogle.com", "A", "IN", self.expect(0, cname)),
            ("FOOGLE.com", "AAAA", "IN", self.expect(0, cname)),
            # in the zone, regex does not match, no fallthrough: SERVFAIL
            ("www.foogle.com", "A", "IN", self.expect(dns.rcode.SERVFAIL, aa=False)),
            ("google.com", "A", "IN", self.next_plugin)])



class UpstreamTests(unittest.TestCase):
    COREFILE = """. {
    template IN ANY foogle.com {
      match "^foogle\\.com\\.$"
      answer "foogle.com 60 IN CNAME google.com"
    }
    template IN ANY loop.example {
      answer "loop.example. 60 IN CNAME loop.example."
      upstream
    }
    hosts {
        192.0.2.1 google.com
        fallthrough
    }
}
"""

    @defer.inlineCallbacks
    def test_cname_target_resolved_through_the_chain(self):
        """Always, as CoreDNS (whose ``upstream`` option is ignored): foogle.com has none."""
        server = yield start_server(self.COREFILE)
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("foogle.com", "A", proto=proto)
            self.assertEqual(texts(reply.answer), ["foogle.com. 60 IN CNAME google.com.",
                                                   "google.com. 3600 IN A 192.0.2.1"])
            # hosts has no AAAA for google.com: NODATA adds nothing
            reply = yield server.query("foogle.com", "AAAA", proto=proto)
            self.assertEqual(texts(reply.answer), ["foogle.com. 60 IN CNAME google.com."])
            # other types are not followed
            reply = yield server.query("foogle.com", "MX", proto=proto)
            self.assertEqual(texts(reply.answer), ["foogle.com. 60 IN CNAME google.com."])

    @defer.inlineCallbacks
    def test_self_reference_does_not_loop(self):
        server = yield start_server(self.COREFILE)
        self.addCleanup(server.stop)
        reply = yield server.query("loop.example", "A")
        # the lookup's own answer (the same CNAME, not followed again) is added; the client
        # merges the duplicate
        self.assertEqual(texts(reply.answer), ["loop.example. 60 IN CNAME loop.example."])

    @defer.inlineCallbacks
    def test_kdig(self):
        require_program("kdig")
        server = yield start_server(self.COREFILE)
        self.addCleanup(server.stop)
        for transport in ("+notcp", "+tcp"):
            out, err, code = yield kdig(server, transport, "foogle.com", "A")
            self.assertEqual((out.decode(), code), ("google.com.\n192.0.2.1\n", 0), err)

