"""The Go text/template subset: each case's expected output is what Go's text/template
prints for the same template and data (checked against Go's documented behaviour)."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.pkg.gotemplate import (
    GoObject,
    Template,
    TemplateExecError,
    TemplateSyntaxError,
    parse_uint,
    sprintf,
    to_text,
)

FUNCS = {"parseInt": (parse_uint, 3)}


class Data(GoObject):
    go_fields = frozenset(("Name", "Zone", "Type", "Match", "Group", "Count", "Empty", "Nested"))
    go_methods = {"Meta": 1}

    def __init__(self) -> None:
        self.Name = "ip-10-0-0-1.example."
        self.Zone = "example."
        self.Type = "A"
        self.Match = ["ip-10-0-0-1.example.", "10", ""]
        self.Group = {"0": "ip-10-0-0-1.example.", "a": "10", "b": "0"}
        self.Count = 3
        self.Empty = ""
        self.Nested = Inner()

    def Meta(self, label: str) -> str:
        return {"kubernetes/client-namespace": "default"}.get(label, "")


class Inner(GoObject):
    go_fields = frozenset(("Value",))
    Value = "inner"


ROOT = Data.go_fields | {"Meta"}


def render(text: str, data: object = None) -> str:
    return Template(text, FUNCS, ROOT).execute(Data() if data is None else data)


class RenderTests(unittest.TestCase):
    def check(self, cases: dict[str, str]) -> None:
        for text, expected in cases.items():
            self.assertEqual(render(text), expected, text)

    def test_text_and_fields(self) -> None:
        self.check({
            "plain text": "plain text",
            "{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}":
                "ip-10-0-0-1.example. 60 IN A 10.0",
            "{{.Zone}}": "example.",
            "{{ .Nested.Value }}": "inner",
            "{{ .Group.missing }}": "<no value>",
            "{{ .Match }}": "[ip-10-0-0-1.example. 10 ]",
            "{{ .Group }}": "map[0:ip-10-0-0-1.example. a:10 b:0]",
            '{{ .Meta "kubernetes/client-namespace" }}/{{ .Meta "x" }}': "default/",
            "{{ $.Zone }}": "example.",
        })

    def test_constants(self) -> None:
        self.check({
            '{{ "a\\tb\\x41\\u00e9" }}': "a\tbA\u00e9",
            "{{ `raw \\n` }}": "raw \\n",
            "{{ 'a' }}": "97",
            "{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }} {{ -5 }}": "31 15 15 1000 -5",
            "{{ 1.5 }} {{ 1e6 }} {{ 100000.0 }} {{ 0.0001 }} {{ 0.00001 }}":
                "1.5 1e+06 100000 0.0001 1e-05",
            "{{ true }} {{ false }}": "true false",
        })

    def test_trim_markers_and_comments(self) -> None:
        self.check({
            "a  {{- .Type -}}  b": "aAb",
            "a\n\t{{- .Type }} b": "aA b",
            "a {{ .Type -}}\n  b": "a Ab",
            "{{/* a comment */}}x": "x",
            "x {{- /* trimmed */ -}} y": "xy",
            "{{-3}}": "-3",  # no space after '-': a negative number, not a trim marker
        })

    def test_functions(self) -> None:
        self.check({
            "{{ index .Match 1 }}": "10",
            '{{ index .Group "a" }}{{ index .Group "zz" }}': "10",
            "{{ len .Match }} {{ len .Name }} {{ len .Group }}": "3 20 3",
            "{{ slice .Name 0 2 }}": "ip",
            '{{ print 1 2 "a" 3 "b" }}': "1 2a3b",
            '{{ println "a" 1 }}': "a 1\n",
            "{{ not .Empty }} {{ not .Count }}": "true false",
            '{{ and .Name .Count }} {{ and .Empty "x" }} {{ or .Empty "x" }} {{ or 0 "" }}':
                "3  x ",
            '{{ eq .Type "A" }} {{ eq .Type "AAAA" "A" }} {{ ne .Count 3 }}': "true true false",
            '{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1 2 }}': "true true true false",
            "{{ parseInt .Group.a 16 8 }} {{ parseInt \"7b\" 16 8 }}": "16 123",
            '{{ parseInt "0x1f" 0 64 }} {{ parseInt "017" 0 64 }}': "31 15",
        })

    def test_and_or_are_lazy(self) -> None:
        # the index error on the right is never evaluated
        self.assertEqual(render("{{ and .Empty (index .Match 9) }}"), "")
        self.assertEqual(render("{{ or .Name (index .Match 9) }}"), "ip-10-0-0-1.example.")

    def test_pipelines(self) -> None:
        self.check({
            '{{ .Name | printf "%s!" }}': "ip-10-0-0-1.example.!",
            '{{ "x" | printf "%s-%s" .Zone }}': "example.-x",
            '{{ (index .Match 1) | len }}': "2",
            "{{ (.Nested).Value }}": "inner",
        })

    def test_control(self) -> None:
        self.check({
            '{{ if eq .Type "A" }}v4{{ else }}v6{{ end }}': "v4",
            '{{ if eq .Type "AAAA" }}v6{{ else if eq .Type "A" }}v4{{ else }}?{{ end }}': "v4",
            "{{ if .Empty }}x{{ end }}": "",
            "{{ with .Group.a }}<{{ . }}>{{ end }}": "<10>",
            "{{ with .Empty }}x{{ else }}empty{{ end }}": "empty",
            "{{ with .Empty }}x{{ else with .Zone }}{{ . }}{{ end }}": "example.",
            "{{ range .Match }}[{{ . }}]{{ end }}": "[ip-10-0-0-1.example.][10][]",
            "{{ range $i, $e := .Match }}{{ $i }}={{ $e }};{{ end }}":
                "0=ip-10-0-0-1.example.;1=10;2=;",
            "{{ range $k, $v := .Group }}{{ $k }}{{ end }}": "0ab",
            "{{ range .Count }}{{ . }}{{ end }}": "012",
            "{{ range slice .Match 0 0 }}x{{ else }}none{{ end }}": "none",
        })

    def test_variables(self) -> None:
        self.check({
            "{{ $x := .Group.a }}{{ $x }}.{{ $x }}": "10.10",
            "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}": "2",
            "{{ with .Nested }}{{ $.Zone }}{{ .Value }}{{ end }}": "example.inner",
            "{{ if $v := .Group.a }}{{ $v }}{{ end }}": "10",
        })

    def test_printf(self) -> None:
        cases = [
            ("%s-%03d", ("a", 7), "a-007"),
            ("%5s|%-5s|%.2s", ("ab", "ab", "abc"), "   ab|ab   |ab"),
            ("%d %+d % d %x %X %o %b %#x", (10, 10, 10, 255, 255, 8, 5, 255),
             "10 +10  10 ff FF 10 101 0xff"),
            ("%x", ("hi",), "6869"),
            ("%q %q", ("a\"b", 65), "\"a\\\"b\" 'A'"),
            ("%c%v%t", (65, [1, 2], True), "A[1 2]true"),
            ("%.2f %e %g %G", (3.14159, 1234.5, 1e6, 1e-7), "3.14 1.234500e+03 1e+06 1E-07"),
            ("%08.3f|%-6d|", (3.14159, 42), "0003.142|42    |"),
            ("100%%", (), "100%"),
        ]
        for fmt, args, expected in cases:
            self.assertEqual(sprintf(fmt, *args), expected, fmt)

    def test_to_text(self) -> None:
        self.assertEqual([to_text(v) for v in ("s", 1, True, None, 2.5, [], {})],
                         ["s", "1", "true", "<nil>", "2.5", "[]", "map[]"])


class ParseUintTests(unittest.TestCase):
    def test_values(self) -> None:
        self.assertEqual(parse_uint("ff", 16, 8), 255)
        self.assertEqual(parse_uint("0b101", 0, 8), 5)
        self.assertEqual(parse_uint("1_000", 0, 16), 1000)
        self.assertEqual(parse_uint("18446744073709551615", 10, 0), 2**64 - 1)

    def test_errors(self) -> None:
        for args, message in (
                (("100", 16, 8), 'parsing "100": value out of range'),
                (("zz", 16, 8), 'parsing "zz": invalid syntax'),
                (("", 10, 8), 'parsing "": invalid syntax'),
                (("-1", 10, 8), 'parsing "-1": invalid syntax'),
                ((" 1", 10, 8), 'parsing " 1": invalid syntax'),
                (("1_0", 10, 8), 'parsing "1_0": invalid syntax'),
                (("1", 1, 8), "invalid base 1"),
                (("1", 10, 65), "invalid bit size 65")):
            exc = self.assertRaises(TemplateExecError, parse_uint, *args)
            self.assertIn(message, str(exc))


class SyntaxErrorTests(unittest.TestCase):
    def test_refused_at_parse(self) -> None:
        cases = {
            "{{ .Nmae }}": "can't evaluate field Nmae",
            "{{ $.Nmae }}": "can't evaluate field Nmae",
            "{{ foo .Name }}": "function 'foo' not defined",
            "{{ html .Name }}": "function 'html' is not supported",
            "{{ call .Meta }}": "function 'call' is not supported",
            '{{ define "x" }}{{ end }}': "{{define}} is not supported",
            '{{ template "x" }}': "{{template}} is not supported",
            "{{ range .Match }}{{ break }}{{ end }}": "{{break}} is not supported",
            "{{ if .Name }}": "if has no {{end}}",
            "{{ end }}": "unexpected {{end}}",
            "{{ else }}": "unexpected {{else}}",
            "{{ $y }}": "undefined variable '$y'",
            "{{ $y = 1 }}": "undefined variable '$y'",
            '{{ printf "%T" .Name }}': "printf verb %T is not supported",
            "{{ 1abc }}": "bad number syntax",
            "{{ 3i }}": "bad number syntax",
            '{{ "a" "b" }}': 'can\'t give argument to non-function "a"',
            "{{ nil }}": "nil is not a command",
            "{{ .Name | 3 }}": "non executable command in pipeline stage 2",
            "{{ .Name ": "unclosed action",
            "{{ (.Name }}": "unclosed left paren",
            "{{ }}": "missing value for command",
            "{{ .Name # }}": "unexpected '#'",
            '{{ "\\q" }}': "invalid escape",
            "{{/* open }}": "unclosed comment",
        }
        for text, message in cases.items():
            exc = self.assertRaises(TemplateSyntaxError, Template, text, FUNCS, ROOT)
            self.assertIn(message, str(exc), text)

    def test_fields_inside_with_are_not_checked(self) -> None:
        # dot is no longer the root data: Go decides at execution time
        Template("{{ with .Nested }}{{ .Value }}{{ end }}", FUNCS, ROOT)


class ExecErrorTests(unittest.TestCase):
    def test_failures(self) -> None:
        cases = {
            "{{ index .Match 5 }}": "index out of range: 5",
            '{{ parseInt "zz" 16 8 }}': "invalid syntax",
            '{{ printf "%d" .Name }}': "%d cannot format string",
            '{{ printf "%s %s" .Name }}': "missing argument for %s",
            '{{ printf "%s" .Name .Zone }}': "1 extra argument",
            "{{ .Name.Foo }}": "can't evaluate field Foo in type string",
            '{{ eq 1 "a" }}': "incompatible types for comparison",
            "{{ lt true false }}": "invalid type for comparison",
            "{{ len .Count }}": "len of type int",
            '{{ .Meta "a" "b" }}': "wrong number of args for Meta: want 1 got 2",
            "{{ .Name 1 }}": "Name is not a method but has arguments",
            "{{ parseInt .Name 10 }}": "wrong number of args for parseInt: want 3 got 2",
            "{{ range .Name }}{{ end }}": "range can't iterate over",
        }
        for text, message in cases.items():
            template = Template(text, FUNCS, ROOT)
            exc = self.assertRaises(TemplateExecError, template.execute, Data())
            self.assertIn(message, str(exc), text)
