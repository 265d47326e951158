"""Split Corefile text into tokens, each remembering where it came from.

The rules are Caddy v1's (CoreDNS parses its Corefile with a fork of Caddy v1's parser):

- tokens are separated by whitespace; a carriage return is dropped;
- a token that *starts* with ``"`` runs to the next unescaped ``"`` and may span lines; inside
  it ``\\"`` is a quote and every other backslash is kept as written;
- ``#`` outside quotes starts a comment that runs to the end of the line, wherever it appears
  (``foo#bar`` is the token ``foo``), as Caddy v1 and CoreDNS do;
- ``{`` and ``}`` are structural only when they stand alone (``foo{`` is one token); the lexer
  does not care, the parser does;
- a byte order mark at the very start is ignored.

Stricter than Caddy: a NUL character, which no name, path or option can hold, is an error at
its line, and so is text that is not UTF-8 (:func:`decode`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted_dns.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a Corefile: its text (quotes removed), file and the line it starts on."""

    text: str
    file: str
    line: int
    quoted: bool = False
    #: Which read of the source produced the token: every file read and every snippet expansion
    #: gets its own number. Tokens of different origins are never on the same line, even when
    #: their file and line numbers say so (a snippet imported twice in a row). Not compared.
    origin: int = field(default=0, compare=False, repr=False)


def decode(data: bytes, filename: str) -> str:
    """The text of a Corefile read as bytes, line breaks as a file opened as text gives them;
    bytes that are not UTF-8 are a ConfigError at the line of the first one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConfigError(f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column}",
                          filename, line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tokenize(text: str, filename: str) -> list[Token]:
    """All tokens of ``text`` in order; an unterminated quote is a ConfigError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    tokens: list[Token] = []
    line = 1
    val: list[str] = []
    start = 0  # line of the token being built
    started = False  # a token is being built (it may still be empty: "")
    quoted = escaped = comment = False

    for ch in text:
        if ch == "\0":
            raise ConfigError("NUL character in the Corefile", filename, line)
        if quoted:
            if escaped:
                escaped = False
                if ch != '"':  # only a quote can be escaped; keep the backslash otherwise
                    val.append("\\")
            elif ch == "\\":
                escaped = True
                continue
            elif ch == '"':
                tokens.append(Token("".join(val), filename, start, True))
                val, started, quoted = [], False, False
                continue
            if ch == "\n":
                line += 1
            val.append(ch)
            continue

        if ch.isspace():
            if ch == "\r":
                continue
            if ch == "\n":
                line += 1
                comment = False
            if started:
                tokens.append(Token("".join(val), filename, start))
                val, started = [], False
            continue
        if ch == "#":
            comment = True
        if comment:
            continue
        if not started:
            started, start = True, line
            if ch == '"':
                quoted = True
                continue
        val.append(ch)

    if quoted:
        raise ConfigError("unterminated quoted string", filename, start)
    if started:
        tokens.append(Token("".join(val), filename, start))
    return tokens
