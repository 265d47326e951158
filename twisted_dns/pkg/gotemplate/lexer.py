"""Splitting a template into text and actions, and an action into tokens (Go's lexer).

``{{-`` and ``-}}`` (with a space on the inner side) trim the white space next to them;
``{{/* ... */}}`` is a comment.
"""

from __future__ import annotations

import re

from twisted_dns.pkg.gotemplate.values import TemplateSyntaxError

_SPACE = " \t\r\n"
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | (?P<declare>:=)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+
        |(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eEpP][+-]?[0-9_]+)?)[A-Za-z0-9_.]*)
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|,=])
""", re.VERBOSE)
_RIGHT_TRIM = re.compile(r"[ \t\r\n]+-}}")
_NUMBER = re.compile(r"""[+-]?(?:0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|0[bB][01]+(?:_[01]+)*
    |0[oO]?[0-7]+(?:_[0-7]+)*|(?:0|[1-9][0-9]*(?:_[0-9]+)*)
    |(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)$""", re.VERBOSE)
_ESCAPE = re.compile(r"""\\(?:([abfnrtv\\'"])|x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})
    |U([0-9a-fA-F]{8})|(.))""", re.VERBOSE | re.DOTALL)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\", "'": "'", '"': '"'}
KEYWORDS = frozenset(("if", "else", "end", "range", "with", "define", "template", "block",
                       "break", "continue"))


def unescape(body: str, quote: str) -> str:
    def replace(m: re.Match) -> str:
        simple, hex2, octal, u4, u8, bad = m.groups()
        if simple is not None:
            if simple in "'\"" and simple != quote:
                raise TemplateSyntaxError(f"invalid escape \\{simple} in {quote}-quoted text")
            return _SIMPLE_ESCAPES[simple]
        if bad is not None:
            raise TemplateSyntaxError(f"invalid escape \\{bad}")
        code = int(hex2 or u4 or u8, 16) if octal is None else int(octal, 8)
        return chr(code)

    return _ESCAPE.sub(replace, body)


class Token:
    __slots__ = ("kind", "space_before", "text")

    def __init__(self, kind: str, text: str, space_before: bool) -> None:
        self.kind = kind
        self.text = text
        self.space_before = space_before

    def __repr__(self) -> str:
        return f"{self.kind}:{self.text!r}"


def lex(text: str) -> list[str | list[Token]]:
    """The template as text pieces and actions (each a token list), trimming applied."""
    items: list[str | list[Token]] = []
    pos = 0
    trim_next = False
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(_SPACE)
        if start < 0:
            if chunk:
                items.append(chunk)
            return items
        p = start + 2
        if text.startswith("-", p) and p + 1 < len(text) and text[p + 1] in _SPACE:
            chunk = chunk.rstrip(_SPACE)
            p += 2
        if chunk:
            items.append(chunk)
        tokens, pos, trim_next = _lex_action(text, p)
        if tokens is not None:
            items.append(tokens)


def _lex_action(text: str, p: int) -> tuple[list[Token] | None, int, bool]:
    """Tokens of the action starting at ``p`` (None for a comment), where it ends, trim."""
    if text.startswith("/*", p):
        end = text.find("*/", p + 2)
        if end < 0:
            raise TemplateSyntaxError("unclosed comment")
        end += 2
        trim = _RIGHT_TRIM.match(text, end)
        if trim:
            return None, trim.end(), True
        if not text.startswith("}}", end):
            raise TemplateSyntaxError("comment ends before closing delimiter")
        return None, end + 2, False
    tokens: list[Token] = []
    space = False
    while True:
        if p >= len(text):
            raise TemplateSyntaxError("unclosed action")
        trim = _RIGHT_TRIM.match(text, p)
        if trim:
            return tokens, trim.end(), True
        if text.startswith("}}", p):
            return tokens, p + 2, False
        m = _TOKEN.match(text, p)
        if m is None:
            raise TemplateSyntaxError(f"unexpected {text[p]!r} in command")
        kind = m.lastgroup
        if kind == "space":
            space = True
        else:
            tokens.append(Token(kind, m.group(), space))
            space = False
        p = m.end()


def number_value(text: str) -> int | float:
    """The value of a number token (Go's number syntax, without imaginary numbers)."""
    if not _NUMBER.match(text):
        raise TemplateSyntaxError(f"bad number syntax: {text!r}")
    clean = text.replace("_", "")
    sign = -1 if clean.startswith("-") else 1
    body = clean.lstrip("+-")
    if re.fullmatch(r"0[0-7]+", body):
        return sign * int(body, 8)
    try:
        return sign * int(body, 0)
    except ValueError:
        return sign * float(body)
