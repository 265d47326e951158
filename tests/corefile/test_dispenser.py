"""Tests for twisted_dns.corefile.dispenser: Caddy's Dispenser, as plugin setups use it."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.corefile.dispenser import Dispenser
from twisted_dns.corefile.lexer import Token, tokenize
from twisted_dns.corefile.parser import parse

FORWARD = """\
. {
    forward . 1.1.1.1 2.2.2.2 {
        policy random
        tls {
            server_name example.org
        }
        max_fails 3
    }
    whoami
    forward example.org 3.3.3.3
}
"""


def directive(text: str, name: str) -> Dispenser:
    (block,) = parse(text, "Corefile")
    return Dispenser(block.directives[name])


class WalkTests(unittest.TestCase):
    def test_multi_occurrence_directive_with_nested_blocks(self) -> None:
        d = directive(FORWARD, "forward")
        self.assertTrue(d.next())
        self.assertEqual((d.val(), d.line()), ("forward", 2))
        self.assertEqual(d.remaining_args(), [".", "1.1.1.1", "2.2.2.2"])
        seen = []
        while d.next_block():
            prop = d.val()
            if prop == "tls":
                self.assertEqual(d.remaining_args(), [])
                level = d.nesting()
                self.assertEqual(level, 1)
                inner = []
                while d.next_block(level):
                    inner.append((d.val(), d.remaining_args(), d.nesting()))
                self.assertEqual(inner, [("server_name", ["example.org"], 2)])
                self.assertEqual((d.val(), d.line()), ("}", 6))
                seen.append(prop)
            else:
                seen.append((prop, d.remaining_args()))
        self.assertEqual(seen, [("policy", ["random"]), "tls", ("max_fails", ["3"])])
        self.assertEqual((d.val(), d.line(), d.nesting()), ("}", 8, 0))

        self.assertTrue(d.next())
        self.assertEqual((d.val(), d.line()), ("forward", 10))
        self.assertEqual(d.remaining_args(), ["example.org", "3.3.3.3"])
        self.assertFalse(d.next_block())
        self.assertFalse(d.next())

    def test_unread_sub_block_is_walked_through(self) -> None:
        d = directive(FORWARD, "forward")
        d.next()
        d.remaining_args()
        seen = []
        while d.next_block():
            seen.append(d.val())
            d.remaining_args()
        self.assertEqual(seen, ["policy", "tls", "{", "server_name", "}", "max_fails"])
        self.assertEqual((d.line(), d.nesting()), (8, 0))
        self.assertTrue(d.next())
        self.assertEqual(d.remaining_args(), ["example.org", "3.3.3.3"])

    def test_one_line_block(self) -> None:
        d = directive(". {\n forward . 1.1.1.1 { max_fails 2 }\n}", "forward")
        d.next()
        self.assertEqual(d.remaining_args(), [".", "1.1.1.1"])
        self.assertTrue(d.next_block())
        self.assertEqual((d.val(), d.remaining_args()), ("max_fails", ["2"]))
        self.assertFalse(d.next_block())
        self.assertEqual(d.val(), "}")
        self.assertFalse(d.next())

    def test_block_opened_on_the_next_line(self) -> None:
        d = directive(". {\n  forward . 1.1.1.1\n  {\n    policy random\n  }\n}", "forward")
        d.next()
        self.assertEqual(d.remaining_args(), [".", "1.1.1.1"])
        self.assertTrue(d.next_block())
        self.assertEqual((d.val(), d.remaining_args()), ("policy", ["random"]))
        self.assertFalse(d.next_block())
        self.assertFalse(d.next())

    def test_empty_block(self) -> None:
        d = directive(". {\n cache {\n }\n}", "cache")
        d.next()
        self.assertFalse(d.next_block())
        self.assertEqual(d.nesting(), 0)
        self.assertEqual(d.val(), "}")

    def test_no_block(self) -> None:
        d = directive(". {\n cache 30\n log\n}", "cache")
        d.next()
        self.assertFalse(d.next_block())
        self.assertEqual(d.val(), "cache")
        self.assertEqual(d.remaining_args(), ["30"])

    def test_next_arg_stays_on_the_line_and_before_braces(self) -> None:
        d = Dispenser(tokenize("a b {\nc\n}", "Corefile"))
        self.assertTrue(d.next_arg())  # the first token, as in Caddy
        self.assertEqual(d.val(), "a")
        self.assertTrue(d.next_arg())
        self.assertEqual(d.val(), "b")
        self.assertFalse(d.next_arg())
        self.assertEqual(d.val(), "b")
        d.next()
        self.assertFalse(d.next_arg())  # 'c' is on the next line
        self.assertEqual(d.val(), "{")

    def test_quoted_braces_are_arguments(self) -> None:
        d = Dispenser(tokenize('answer "{" "}"', "Corefile"))
        d.next()
        self.assertEqual(d.remaining_args(), ["{", "}"])
        self.assertFalse(d.next_block())

    def test_next_line(self) -> None:
        d = Dispenser(tokenize("a b\nc", "Corefile"))
        self.assertTrue(d.next_line())
        self.assertEqual(d.val(), "a")
        self.assertFalse(d.next_line())  # 'b' is on the same line
        d.next()
        self.assertTrue(d.next_line())
        self.assertEqual(d.val(), "c")
        self.assertFalse(d.next_line())  # the end

    def test_different_files_are_different_lines(self) -> None:
        d = Dispenser([Token("a", "one", 1), Token("b", "two", 1)])
        d.next()
        self.assertFalse(d.next_arg())
        self.assertTrue(d.next_line())
        self.assertEqual(d.val(), "b")

    def test_different_origins_are_different_lines(self) -> None:
        d = Dispenser([Token("a", "one", 1, origin=1), Token("b", "one", 1, origin=2)])
        d.next()
        self.assertFalse(d.next_arg())

    def test_multi_line_quoted_token(self) -> None:
        d = Dispenser(tokenize('a "x\ny" b\nc', "Corefile"))
        d.next()
        self.assertEqual(d.remaining_args(), ["x\ny", "b"])
        self.assertTrue(d.next_line())
        self.assertEqual(d.val(), "c")

    def test_args(self) -> None:
        d = Dispenser(tokenize("rewrite name a.org b.org\nnext", "Corefile"))
        d.next()
        self.assertEqual(d.args("field"), ["name"])
        self.assertEqual(d.args("from", "to"), ["a.org", "b.org"])
        self.assertIsNone(d.args("extra"))
        self.assertEqual(d.val(), "b.org")

    def test_args_too_few(self) -> None:
        d = Dispenser(tokenize("rewrite name a.org\nnext", "Corefile"))
        d.next()
        self.assertIsNone(d.args("field", "from", "to"))
        self.assertEqual(str(d.arg_err()), "Corefile:1: wrong argument count or unexpected "
                                           "line ending after 'a.org'")

    def test_before_first_token(self) -> None:
        d = Dispenser(tokenize("\n\nlog", "conf"))
        self.assertEqual((d.val(), d.line(), d.file()), ("", 0, "conf"))
        self.assertRaises(IndexError, d.token)
        self.assertEqual(str(d.err("oops")), "conf:3: oops")

    def test_token(self) -> None:
        d = Dispenser(tokenize('log "x"', "conf"))
        d.next()
        d.next()
        self.assertEqual(d.token(), Token("x", "conf", 1, True))


class ErrorTests(unittest.TestCase):
    def setUp(self) -> None:
        self.d = Dispenser(tokenize("a b {\n  c\n}", "Corefile"))

    def test_err(self) -> None:
        self.d.next()
        self.d.next()
        self.assertEqual(str(self.d.err("bad thing")), "Corefile:1: bad thing")

    def test_arg_err(self) -> None:
        self.d.next()
        self.assertEqual(str(self.d.arg_err()),
                         "Corefile:1: wrong argument count or unexpected line ending after 'a'")

    def test_arg_err_at_open_brace(self) -> None:
        for _ in range(3):
            self.d.next()
        self.assertEqual(str(self.d.arg_err()),
                         "Corefile:1: unexpected token '{', expecting argument")

    def test_syntax_err(self) -> None:
        for _ in range(4):
            self.d.next()
        self.assertEqual(str(self.d.syntax_err("}")),
                         "Corefile:2: syntax error: unexpected token 'c', expecting '}'")

    def test_eof_err(self) -> None:
        while self.d.next():
            pass
        self.assertEqual(str(self.d.eof_err()), "Corefile:3: unexpected end of file")

    def test_no_tokens(self) -> None:
        d = Dispenser([])
        self.assertFalse(d.next())
        self.assertFalse(d.next_arg())
        self.assertFalse(d.next_block())
        self.assertEqual(str(d.err("empty")), "empty")
