"""Tests for twisted_dns.corefile.parser: server blocks, directives, env, snippets, imports."""

from __future__ import annotations

import os

from twisted.trial import unittest

from twisted_dns.corefile import parser
from twisted_dns.corefile.dispenser import Dispenser
from twisted_dns.corefile.lexer import Token
from twisted_dns.corefile.parser import ServerBlock, load, parse
from twisted_dns.errors import ConfigError


def texts(tokens: list[Token]) -> list[str]:
    return [token.text for token in tokens]


def layout(blocks: list[ServerBlock]) -> list[tuple[list[str], dict[str, list[str]]]]:
    """Blocks as (key texts, {directive: token texts}), to compare whole parses at a glance."""
    return [(texts(b.keys), {name: texts(tokens) for name, tokens in b.directives.items()})
            for b in blocks]


class ParseTestCase(unittest.TestCase):
    def parse(self, text: str, **kwargs: object) -> list[ServerBlock]:
        kwargs.setdefault("environ", {})
        return parse(text, "Corefile", **kwargs)  # type: ignore[arg-type]

    def assertParseError(self, text: str, message: str, **kwargs: object) -> None:
        kwargs.setdefault("environ", {})
        error = self.assertRaises(ConfigError, parse, text, "Corefile", **kwargs)
        self.assertEqual(str(error), message)


class BlockTests(ParseTestCase):
    def test_block(self) -> None:
        (block,) = self.parse("example.org {\n    whoami\n    log\n}\n")
        self.assertEqual(block.keys, [Token("example.org", "Corefile", 1)])
        self.assertEqual(block.directives, {"whoami": [Token("whoami", "Corefile", 2)],
                                            "log": [Token("log", "Corefile", 3)]})
        self.assertEqual((block.file, block.line), ("Corefile", 1))

    def test_several_blocks(self) -> None:
        blocks = self.parse("a.org {\n  whoami\n}\n\nb.org:1053 {\n  log stdout\n}\n")
        self.assertEqual(layout(blocks), [(["a.org"], {"whoami": ["whoami"]}),
                                          (["b.org:1053"], {"log": ["log", "stdout"]})])
        self.assertEqual(blocks[1].line, 5)

    def test_empty_file_and_empty_block(self) -> None:
        self.assertEqual(self.parse(""), [])
        self.assertEqual(self.parse("# nothing\n"), [])
        self.assertEqual(layout(self.parse(". {\n}")), [(["."], {})])

    def test_directive_occurrences_are_concatenated_in_order(self) -> None:
        (block,) = self.parse(". {\n  log a\n  whoami\n  log b c\n}")
        self.assertEqual(list(block.directives), ["log", "whoami"])
        log = block.directives["log"]
        self.assertEqual([(t.text, t.line) for t in log],
                         [("log", 2), ("a", 2), ("log", 4), ("b", 4), ("c", 4)])

    def test_several_keys_on_a_line(self) -> None:
        (block,) = self.parse("a.org b.org:1053 tls://c.org {\n  whoami\n}")
        self.assertEqual(texts(block.keys), ["a.org", "b.org:1053", "tls://c.org"])

    def test_comma_separated_keys_across_lines(self) -> None:
        (block,) = self.parse("a.org, b.org,\n  c.org,\n  d.org {\n  whoami\n}")
        self.assertEqual([(t.text, t.line) for t in block.keys],
                         [("a.org", 1), ("b.org", 1), ("c.org", 2), ("d.org", 3)])
        self.assertEqual(texts(block.directives["whoami"]), ["whoami"])

    def test_open_brace_on_the_next_line(self) -> None:
        self.assertEqual(layout(self.parse("a.org\n{\n  whoami\n}")),
                         [(["a.org"], {"whoami": ["whoami"]})])

    def test_single_block_without_braces(self) -> None:
        blocks = self.parse("example.org:1053\nwhoami\nlog stdout\n")
        self.assertEqual(layout(blocks), [(["example.org:1053"], {"whoami": ["whoami"],
                                                                  "log": ["log", "stdout"]})])

    def test_keys_only(self) -> None:
        self.assertEqual(layout(self.parse("a.org b.org")), [(["a.org", "b.org"], {})])

    def test_block_closed_on_the_line_of_its_last_directive(self) -> None:
        blocks = self.parse(". { whoami }\nexample.org {\n  log\n  errors }")
        self.assertEqual(layout(blocks), [(["."], {"whoami": ["whoami"]}),
                                          (["example.org"], {"log": ["log"],
                                                             "errors": ["errors"]})])

    def test_nested_blocks(self) -> None:
        text = """\
cluster.local {
    kubernetes cluster.local {
        pods insecure
        endpoint https://k8s {
            tls {
                ca /etc/ca.pem
            }
        }
    }
    forward . 1.1.1.1 { policy random }
}
"""
        (block,) = self.parse(text)
        self.assertEqual(texts(block.directives["kubernetes"]),
                         ["kubernetes", "cluster.local", "{", "pods", "insecure", "endpoint",
                          "https://k8s", "{", "tls", "{", "ca", "/etc/ca.pem", "}", "}", "}"])
        self.assertEqual(texts(block.directives["forward"]),
                         ["forward", ".", "1.1.1.1", "{", "policy", "random", "}"])

    def test_block_opened_on_the_next_line_belongs_to_the_directive(self) -> None:
        (block,) = self.parse(". {\n  forward . 1.1.1.1\n  {\n    policy random\n  }\n}")
        self.assertEqual(texts(block.directives["forward"]),
                         ["forward", ".", "1.1.1.1", "{", "policy", "random", "}"])

    def test_comments_and_quotes(self) -> None:
        (block,) = self.parse('. { # the root\n  # whoami\n  answer "a { b" "x#y" # c\n}')
        self.assertEqual(texts(block.directives["answer"]), ["answer", "a { b", "x#y"])

    def test_quoted_braces_are_plain_arguments(self) -> None:
        (block,) = self.parse('. {\n  template "{" "}"\n}')
        self.assertEqual(texts(block.directives["template"]), ["template", "{", "}"])

    def test_known_directives(self) -> None:
        blocks = self.parse(". {\n  whoami\n}", directives={"whoami", "log"})
        self.assertEqual(list(blocks[0].directives), ["whoami"])

    def test_directive_names_are_case_sensitive(self) -> None:
        self.assertParseError(". {\n  WHOAMI\n}", "Corefile:2: unknown directive 'WHOAMI'",
                              directives=["whoami"])


class BraceErrorTests(ParseTestCase):
    def test_unknown_directive(self) -> None:
        self.assertParseError(". {\n  whoami\n  foo bar\n}",
                              "Corefile:3: unknown directive 'foo'", directives=["whoami"])

    def test_unclosed_server_block(self) -> None:
        self.assertParseError(". {\n  whoami\n", "Corefile:1: unclosed block: this '{' has no "
                                                 "matching '}'")

    def test_unclosed_nested_block(self) -> None:
        self.assertParseError(". {\n  forward . 1.1.1.1 {\n    tls {\n      ca x\n    }\n",
                              "Corefile:2: unclosed block: this '{' has no matching '}'")

    def test_nested_block_eating_the_server_blocks_brace(self) -> None:
        # Caddy v1 accepts this (the last '}' counts twice); it is an error
        self.assertParseError(". {\n  forward . 1.1.1.1 {\n    policy random\n}\n",
                              "Corefile:1: unclosed block: this '{' has no matching '}'")

    def test_unclosed_snippet(self) -> None:
        self.assertParseError("(s) {\n  log\n", "Corefile:1: unclosed block: this '{' has no "
                                                "matching '}'")

    def test_stray_close_at_top_level(self) -> None:
        self.assertParseError(". {\n  whoami\n}\n}\n",
                              "Corefile:4: unexpected '}': no block is open")

    def test_stray_close_in_a_block_without_braces(self) -> None:
        self.assertParseError(".\nwhoami\n}\n", "Corefile:3: unexpected '}': no block is open")

    def test_open_brace_without_keys(self) -> None:
        self.assertParseError("{\n  whoami\n}",
                              "Corefile:1: expected a server block key before '{'")

    def test_open_brace_instead_of_a_directive(self) -> None:
        self.assertParseError(". {\n  {\n  }\n}",
                              "Corefile:2: unexpected '{': expected a directive")

    def test_brace_attached_to_the_key(self) -> None:
        self.assertParseError("example.org:1053{\n  whoami\n}",
                              "Corefile:1: missing space before '{' in 'example.org:1053{'")

    def test_extra_comma(self) -> None:
        self.assertParseError("a.org, {\n}", "Corefile:1: expected another key but found "
                                             "'{': check for an extra comma")

    def test_comma_at_end_of_file(self) -> None:
        self.assertParseError("a.org,\n# b.org",
                              "Corefile:1: unexpected end of file: expected another key "
                              "after ','")

    def test_empty_key_line(self) -> None:
        self.assertParseError('""\nwhoami', "Corefile:2: expected a server block key")


class EnvTests(ParseTestCase):
    def test_unix_and_windows_forms_in_keys_and_arguments(self) -> None:
        env = {"ZONE": "example.org", "PORT": "1053", "UP": "9.9.9.9", "LEVEL": "debug"}
        (block,) = self.parse("{$ZONE}:{%PORT%} {\n  forward . {$UP}\n  log {%LEVEL%}\n}",
                              environ=env)
        self.assertEqual(texts(block.keys), ["example.org:1053"])
        self.assertEqual(texts(block.directives["forward"]), ["forward", ".", "9.9.9.9"])
        self.assertEqual(texts(block.directives["log"]), ["log", "debug"])

    def test_inside_words_and_quotes(self) -> None:
        env = {"A": "x y", "B": "z"}
        (block,) = self.parse('. {\n  answer pre{$A}post "{$B} {%B%}"\n}', environ=env)
        self.assertEqual(texts(block.directives["answer"]), ["answer", "prex ypost", "z z"])

    def test_unset_is_empty(self) -> None:
        (block,) = self.parse(". {\n  log a{$NOPE}b {%NOPE%}\n}")
        self.assertEqual(texts(block.directives["log"]), ["log", "ab", ""])

    def test_directive_name(self) -> None:
        (block,) = self.parse(". {\n  {$PLUGIN} x\n}", environ={"PLUGIN": "whoami"},
                              directives={"whoami"})
        self.assertEqual(texts(block.directives["whoami"]), ["whoami", "x"])

    def test_nested_block_arguments(self) -> None:
        (block,) = self.parse(". {\n  forward . 1.1.1.1 {\n    policy {$P}\n  }\n}",
                              environ={"P": "random"})
        self.assertIn("random", texts(block.directives["forward"]))

    def test_defaults_to_os_environ(self) -> None:
        self.patch(os, "environ", {"TWISTED_DNS_TEST_ZONE": "env.example"})
        (block,) = parse("{$TWISTED_DNS_TEST_ZONE} {\n}", "Corefile")
        self.assertEqual(texts(block.keys), ["env.example"])


class SnippetTests(ParseTestCase):
    def test_snippet_imported_in_blocks(self) -> None:
        text = "(common) {\n  errors\n  log\n}\na.org {\n  import common\n  whoami\n}\n" \
               "b.org {\n  import common\n}\n"
        blocks = self.parse(text)
        self.assertEqual(layout(blocks),
                         [(["a.org"], {"errors": ["errors"], "log": ["log"],
                                       "whoami": ["whoami"]}),
                          (["b.org"], {"errors": ["errors"], "log": ["log"]})])
        # imported tokens say where they were written
        self.assertEqual(blocks[1].directives["log"][0].line, 3)

    def test_snippet_imports_snippet(self) -> None:
        text = "(a) {\n  log\n}\n(b) {\n  import a\n  errors\n}\n. {\n  import b\n}"
        self.assertEqual(layout(self.parse(text)), [(["."], {"log": ["log"],
                                                             "errors": ["errors"]})])

    def test_snippet_at_top_level_makes_blocks(self) -> None:
        text = "(site) {\n  a.org {\n    whoami\n  }\n}\nimport site\nb.org {\n  log\n}"
        self.assertEqual(layout(self.parse(text)), [(["a.org"], {"whoami": ["whoami"]}),
                                                    (["b.org"], {"log": ["log"]})])

    def test_snippet_in_nested_block(self) -> None:
        text = "(opts) {\n  policy random\n}\n. {\n  forward . 1.1.1.1 {\n    import opts\n  }\n}"
        (block,) = self.parse(text)
        self.assertEqual(texts(block.directives["forward"]),
                         ["forward", ".", "1.1.1.1", "{", "policy", "random", "}"])

    def test_snippets_imported_out_of_order_stay_on_their_own_lines(self) -> None:
        # Caddy v1 compares line numbers only, so 'log' (line 2) after 'errors' (line 5) would
        # become an argument of errors there.
        text = "(a) {\n  log\n}\n(b) {\n  errors\n}\n. {\n  import b\n  import a\n}"
        (block,) = self.parse(text)
        self.assertEqual(layout([block]), [(["."], {"errors": ["errors"], "log": ["log"]})])

    def test_same_one_line_snippet_twice(self) -> None:
        (block,) = self.parse("(s) { log }\n. {\n  import s\n  import s\n}")
        d = Dispenser(block.directives["log"])
        occurrences = []
        while d.next():
            occurrences.append(d.remaining_args())
        self.assertEqual(occurrences, [[], []])

    def test_import_in_one_line_block(self) -> None:
        (block,) = self.parse("(s) {\n  log\n}\n. { import s }")
        self.assertEqual(layout([block]), [(["."], {"log": ["log"]})])

    def test_import_not_at_line_start_is_an_argument(self) -> None:
        (block,) = self.parse("(s) {\n  log\n}\n. {\n  root import s\n}")
        self.assertEqual(layout([block]), [(["."], {"root": ["root", "import", "s"]})])

    def test_quoted_import_is_not_an_import(self) -> None:
        (block,) = self.parse('(s) {\n  log\n}\n. {\n  "import" s\n}')
        self.assertEqual(layout([block]), [(["."], {"import": ["import", "s"]})])

    def test_snippet_name_from_environment(self) -> None:
        (block,) = self.parse("(s) {\n  log\n}\n. {\n  import {$WHICH}\n}",
                              environ={"WHICH": "s"})
        self.assertEqual(list(block.directives), ["log"])

    def test_unknown_snippet(self) -> None:
        self.assertParseError(". {\n  import nosuch\n}",
                              "Corefile:2: import 'nosuch': no such snippet or file")

    def test_snippet_used_before_definition_is_unknown(self) -> None:
        self.assertParseError(". {\n  import later\n}\n(later) {\n  log\n}",
                              "Corefile:2: import 'later': no such snippet or file")

    def test_redeclared_snippet(self) -> None:
        self.assertParseError("(s) {\n}\n(s) {\n}",
                              "Corefile:3: redeclaration of previously declared snippet 's'")

    def test_snippet_needs_a_block(self) -> None:
        self.assertParseError("(s)\nlog", "Corefile:1: snippet 's' must be followed by a '{' "
                                          "block")

    def test_snippet_importing_itself(self) -> None:
        self.assertParseError("(s) {\n  log\n  import s\n}\n. {\n  import s\n}",
                              "Corefile:3: import cycle: snippet 's' -> snippet 's'")

    def test_snippet_cycle(self) -> None:
        text = "(a) {\n  import b\n}\n(b) {\n  import a\n}\n. {\n  import a\n}"
        self.assertParseError(text, "Corefile:5: import cycle: snippet 'a' -> snippet 'b' -> "
                                    "snippet 'a'")

    def test_import_argument_errors(self) -> None:
        self.assertParseError(". {\n  import\n  log\n}",
                              "Corefile:2: wrong argument count or unexpected line ending "
                              "after 'import'")
        self.assertParseError(". { import }",
                              "Corefile:1: wrong argument count or unexpected line ending "
                              "after 'import'")
        self.assertParseError(". {\n  import a b\n}",
                              "Corefile:2: import takes only one argument (a snippet name, "
                              "file or glob)")
        self.assertParseError('. {\n  import ""\n}',
                              "Corefile:2: import requires a non-empty file path or snippet "
                              "name")


class FileImportTests(unittest.TestCase):
    def setUp(self) -> None:
        self.root = os.path.abspath(self.mktemp())
        os.makedirs(self.root)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertLoadError(self, path: str, message: str) -> None:
        error = self.assertRaises(ConfigError, load, path, environ={})
        self.assertEqual(str(error), message)

    def test_import_relative_to_the_importing_file(self) -> None:
        corefile = self.write("Corefile", ". {\n  import conf/common.conf\n  whoami\n}\n")
        common = self.write("conf/common.conf", "errors\nimport more.conf\n")
        more = self.write("conf/more.conf", "\n\nlog stdout\n")
        imported: list[str] = []
        (block,) = load(corefile, environ={}, imported=imported)
        self.assertEqual(layout([block]), [(["."], {"errors": ["errors"],
                                                    "log": ["log", "stdout"],
                                                    "whoami": ["whoami"]})])
        self.assertEqual(block.directives["log"][0], Token("log", more, 3))
        self.assertEqual(block.directives["errors"][0].file, common)
        self.assertEqual(block.directives["whoami"][0].file, corefile)
        self.assertEqual(imported, [corefile, common, more])

    def test_top_level_import_of_blocks(self) -> None:
        corefile = self.write("Corefile", "import sites/a.conf\nb.org {\n  log\n}\n")
        site = self.write("sites/a.conf", "a.org {\n  whoami\n}\n")
        blocks = load(corefile, environ={})
        self.assertEqual(layout(blocks), [(["a.org"], {"whoami": ["whoami"]}),
                                          (["b.org"], {"log": ["log"]})])
        self.assertEqual((blocks[0].file, blocks[0].line), (site, 1))

    def test_imported_file_defines_snippets(self) -> None:
        corefile = self.write("Corefile", "import snippets\n. {\n  import s\n}\n")
        self.write("snippets", "(s) {\n  whoami\n}\n")
        self.assertEqual(layout(load(corefile, environ={})), [(["."], {"whoami": ["whoami"]})])

    def test_snippet_imports_relative_to_where_it_was_written(self) -> None:
        corefile = self.write("Corefile", "import lib/snippets\n. {\n  import s\n}\n")
        self.write("lib/snippets", "(s) {\n  import extra\n}\n")
        self.write("lib/extra", "whoami\n")
        self.assertEqual(layout(load(corefile, environ={})), [(["."], {"whoami": ["whoami"]})])

    def test_absolute_import(self) -> None:
        other = self.write("elsewhere/x.conf", "whoami\n")
        corefile = self.write("Corefile", f". {{\n  import {other}\n}}\n")
        self.assertEqual(layout(load(corefile, environ={})), [(["."], {"whoami": ["whoami"]})])

    def test_glob_import_in_name_order(self) -> None:
        self.write("zones/b.conf", "b.org {\n  log\n}\n")
        self.write("zones/a.conf", "a.org {\n  whoami\n}\n")
        self.write("zones/c.txt", "c.org {\n}\n")
        corefile = self.write("Corefile", "import zones/*.conf\n")
        imported: list[str] = []
        blocks = load(corefile, environ={}, imported=imported)
        self.assertEqual([texts(b.keys) for b in blocks], [["a.org"], ["b.org"]])
        self.assertEqual(imported, [corefile, os.path.join(self.root, "zones", "a.conf"),
                                    os.path.join(self.root, "zones", "b.conf")])

    def test_glob_includes_dot_files_as_go_does(self) -> None:
        self.write("z/.hidden", "log\n")
        self.write("z/visible", "whoami\n")
        corefile = self.write("Corefile", ". {\n  import z/*\n}\n")
        (block,) = load(corefile, environ={})
        self.assertEqual(list(block.directives), ["log", "whoami"])

    def test_glob_with_question_mark(self) -> None:
        self.write("z/a1", "whoami\n")
        self.write("z/a22", "log\n")
        corefile = self.write("Corefile", ". {\n  import z/a?\n}\n")
        self.assertEqual(layout(load(corefile, environ={})), [(["."], {"whoami": ["whoami"]})])

    def test_glob_matching_nothing_is_fine(self) -> None:
        corefile = self.write("Corefile", "import none/*.conf\n. {\n  import none*\n  log\n}\n")
        self.assertEqual(layout(load(corefile, environ={})), [(["."], {"log": ["log"]})])

    def test_glob_with_several_wildcards(self) -> None:
        corefile = self.write("Corefile", ". {\n  import */*.conf\n}\n")
        self.assertLoadError(corefile, f"{corefile}:2: glob pattern may only contain one "
                                       f"wildcard (*), but has others: */*.conf")

    def test_glob_with_character_class(self) -> None:
        corefile = self.write("Corefile", ". {\n  import [ab].conf\n}\n")
        self.assertLoadError(corefile, f"{corefile}:2: glob pattern may only contain one "
                                       f"wildcard (*), but has others: [ab].conf")

    def test_import_of_a_directory(self) -> None:
        os.makedirs(os.path.join(self.root, "conf.d"))
        corefile = self.write("Corefile", ". {\n  whoami\n  import conf.d\n}\n")
        self.assertLoadError(corefile, f"{corefile}:3: could not import "
                                       f"{self.root}/conf.d: is a directory")

    def test_glob_matching_a_directory(self) -> None:
        os.makedirs(os.path.join(self.root, "conf.d", "sub"))
        corefile = self.write("Corefile", "import conf.d/*\n")
        self.assertLoadError(corefile, f"{corefile}:1: could not import "
                                       f"{self.root}/conf.d/sub: is a directory")

    def test_missing_file(self) -> None:
        corefile = self.write("Corefile", ". {\n  import missing.conf\n}\n")
        self.assertLoadError(corefile, f"{corefile}:2: import 'missing.conf': no such snippet "
                                       f"or file")

    def test_import_cycle_between_files(self) -> None:
        corefile = self.write("Corefile", "import a.conf\n")
        a = self.write("a.conf", "\nimport Corefile\n")
        self.assertLoadError(corefile, f"{a}:2: import cycle: {corefile} -> {a} -> {corefile}")

    def test_file_importing_itself(self) -> None:
        corefile = self.write("Corefile", ". {\n  import Corefile\n}\n")
        self.assertLoadError(corefile, f"{corefile}:2: import cycle: {corefile} -> {corefile}")

    def test_same_file_twice_is_not_a_cycle(self) -> None:
        corefile = self.write("Corefile", "a.org {\n  import x\n}\nb.org {\n  import x\n}\n")
        x = self.write("x", "log\n")
        imported: list[str] = []
        blocks = load(corefile, environ={}, imported=imported)
        self.assertEqual(len(blocks), 2)
        self.assertEqual(imported, [corefile, x])

    def test_errors_in_imported_files_name_them(self) -> None:
        corefile = self.write("Corefile", ". {\n  import x\n}\n")
        x = self.write("x", "whoami\n\nnope\n")
        error = self.assertRaises(ConfigError, load, corefile, ["whoami"], {})
        self.assertEqual(str(error), f"{x}:3: unknown directive 'nope'")
        self.write("x", 'log "open\n')
        self.assertLoadError(corefile, f"{x}:1: unterminated quoted string")

    def test_import_path_from_environment(self) -> None:
        corefile = self.write("Corefile", ". {\n  import {$CONF}\n}\n")
        self.write("env.conf", "whoami\n")
        blocks = load(corefile, environ={"CONF": "env.conf"})
        self.assertEqual(list(blocks[0].directives), ["whoami"])

    def test_relative_to_the_corefile_not_the_working_directory(self) -> None:
        corefile = self.write("Corefile", ". {\n  import x\n}\n")
        self.write("x", "whoami\n")
        self.assertNotEqual(os.getcwd(), self.root)
        self.assertEqual(list(load(corefile, environ={})[0].directives), ["whoami"])

    def test_load_missing_corefile(self) -> None:
        path = os.path.join(self.root, "nope")
        self.assertLoadError(path, f"{path}: cannot read Corefile: No such file or directory")

    def test_load_directory(self) -> None:
        self.assertLoadError(self.root, f"{self.root}: cannot read Corefile: Is a directory")

    def test_load_reports_the_given_path(self) -> None:
        corefile = self.write("Corefile", ". {\n  nope\n}\n")
        relative = os.path.relpath(corefile)
        error = self.assertRaises(ConfigError, load, relative, ["whoami"], {})
        self.assertEqual(str(error), f"{relative}:2: unknown directive 'nope'")

    def test_parse_reports_imports(self) -> None:
        x = self.write("x", "whoami\n")
        imported: list[str] = []
        parse(". {\n  import x\n}\n", os.path.join(self.root, "Corefile"), environ={},
              imported=imported)
        self.assertEqual(imported, [x])


class ReplaceEnvTests(unittest.TestCase):
    def test_forms(self) -> None:
        env = {"A": "1", "B": "2"}
        self.assertEqual(parser.replace_env("{$A}-{%B%}-{$C}", env), "1-2-")
        self.assertEqual(parser.replace_env("{$}{%%}", env), "{$}{%%}")
        self.assertEqual(parser.replace_env("{%%}A%}", env), "{%%}A%}")
        self.assertEqual(parser.replace_env("no braces", env), "no braces")
