"""Tests for twisted_dns.corefile.lexer: Caddy v1's tokenizing rules."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.corefile.lexer import Token, decode, tokenize
from twisted_dns.errors import ConfigError


def words(text: str) -> list[tuple[str, int]]:
    return [(token.text, token.line) for token in tokenize(text, "Corefile")]


class TokenizeTests(unittest.TestCase):
    def test_whitespace_separates_and_lines_count(self) -> None:
        self.assertEqual(words("host:123\n\n\t  directive  arg\n"),
                         [("host:123", 1), ("directive", 3), ("arg", 3)])

    def test_tokens_carry_file(self) -> None:
        self.assertEqual(tokenize("a b", "conf/x"),
                         [Token("a", "conf/x", 1), Token("b", "conf/x", 1)])

    def test_standalone_braces_are_tokens(self) -> None:
        self.assertEqual(words("host:123 {\n  directive\n}"),
                         [("host:123", 1), ("{", 1), ("directive", 2), ("}", 3)])
        self.assertEqual(words("host { directive }"),
                         [("host", 1), ("{", 1), ("directive", 1), ("}", 1)])

    def test_attached_braces_are_part_of_the_word(self) -> None:
        self.assertEqual(words("host{ {x x} }y"), [("host{", 1), ("{x", 1), ("x}", 1),
                                                    ("}y", 1)])

    def test_comments(self) -> None:
        text = "host {\n#comment\n  directive\n  # comment\n  foobar # another comment\n}"
        self.assertEqual(words(text), [("host", 1), ("{", 1), ("directive", 3), ("foobar", 5),
                                       ("}", 6)])

    def test_hash_inside_a_word_starts_a_comment_as_in_coredns(self) -> None:
        self.assertEqual(words("rewrite foo#bar baz\nnext"), [("rewrite", 1), ("foo", 1),
                                                               ("next", 2)])

    def test_hash_inside_quotes_is_text(self) -> None:
        self.assertEqual(words('answer "a # b" c'), [("answer", 1), ("a # b", 1), ("c", 1)])

    def test_quoted_token(self) -> None:
        tokens = tokenize('a "quoted value" b', "Corefile")
        self.assertEqual([(t.text, t.quoted) for t in tokens],
                         [("a", False), ("quoted value", True), ("b", False)])

    def test_escaped_quote(self) -> None:
        self.assertEqual(words(r'A "quoted \"value\" inside" B'),
                         [("A", 1), ('quoted "value" inside', 1), ("B", 1)])

    def test_other_backslashes_are_kept(self) -> None:
        self.assertEqual(words(r'"don\'t\escape"'), [(r"don\'t\escape", 1)])
        self.assertEqual(words(r'"don\\escape"'), [(r"don\\escape", 1)])
        self.assertEqual(words(r'"C:\php\php-cgi.exe"'), [(r"C:\php\php-cgi.exe", 1)])

    def test_backslash_outside_quotes_is_text(self) -> None:
        self.assertEqual(words(r'a\"b'), [(r'a\"b', 1)])

    def test_quote_inside_a_word_is_text(self) -> None:
        self.assertEqual(words('foo"bar baz"'), [('foo"bar', 1), ('baz"', 1)])

    def test_quoted_token_spans_lines_and_keeps_its_start_line(self) -> None:
        text = 'A "quoted value with line\n\tbreak inside" {\n  foobar\n}'
        self.assertEqual(words(text), [("A", 1), ("quoted value with line\n\tbreak inside", 1),
                                       ("{", 2), ("foobar", 3), ("}", 4)])

    def test_empty_quoted_token(self) -> None:
        tokens = tokenize('empty "" string', "Corefile")
        self.assertEqual([t.text for t in tokens], ["empty", "", "string"])
        self.assertTrue(tokens[1].quoted)

    def test_carriage_returns_are_skipped(self) -> None:
        self.assertEqual(words("skip those\r\nCR characters"),
                         [("skip", 1), ("those", 1), ("CR", 2), ("characters", 2)])

    def test_byte_order_mark_is_ignored(self) -> None:
        self.assertEqual(words("\ufeff. {\n}"), [(".", 1), ("{", 1), ("}", 2)])

    def test_empty_input(self) -> None:
        self.assertEqual(tokenize("", "Corefile"), [])
        self.assertEqual(tokenize("  # only a comment\n\n", "Corefile"), [])

    def test_unterminated_quote(self) -> None:
        error = self.assertRaises(ConfigError, tokenize, 'a\nb "never\nclosed', "Corefile")
        self.assertEqual(str(error), "Corefile:2: unterminated quoted string")

    def test_nul_is_an_error(self) -> None:
        error = self.assertRaises(ConfigError, tokenize, 'a\nb "c\x00', "Corefile")
        self.assertEqual(str(error), "Corefile:2: NUL character in the Corefile")

    def test_origin_is_not_compared(self) -> None:
        self.assertEqual(Token("a", "f", 1, origin=3), Token("a", "f", 1))
        self.assertEqual(hash(Token("a", "f", 1, origin=3)), hash(Token("a", "f", 1)))


class DecodeTests(unittest.TestCase):
    def test_line_breaks_as_a_file_read_as_text_has_them(self) -> None:
        self.assertEqual(decode("\ufeff\u00e9\r\nb\rc\n".encode(), "Corefile"),
                         "\ufeff\u00e9\nb\nc\n")

    def test_not_utf8_at_its_line_and_column(self) -> None:
        error = self.assertRaises(ConfigError, decode, b"a\nbc\xff\n\xfe", "Corefile")
        self.assertEqual(str(error), "Corefile:2: not UTF-8: byte 0xff at column 3")
        error = self.assertRaises(ConfigError, decode, b"\xc3(", "Corefile")
        self.assertEqual(str(error), "Corefile:1: not UTF-8: byte 0xc3 at column 1")
