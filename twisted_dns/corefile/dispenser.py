"""A cursor over a directive's tokens, with Caddy v1's ``Dispenser`` semantics.

A plugin's setup reads its directive the way CoreDNS plugins do::

    while d.next():                      # each occurrence of the directive
        args = d.remaining_args()        # the rest of its line, up to a '{'
        while d.next_block():            # each token inside its { ... }
            prop = d.val()
            values = d.remaining_args()  # the rest of that line
            ...

"The same line" means the same file, the same read of it (see :attr:`Token.origin`) and the
same line number, counting the line breaks inside a multi-line quoted token. An unquoted ``{`` or
``}`` is never an argument: ``next_arg`` and ``remaining_args`` stop before it, so a one-line
block such as ``forward . 1.1.1.1 { max_fails 2 }`` reads like the multi-line form.
"""

from __future__ import annotations

from twisted_dns.corefile.lexer import Token
from twisted_dns.errors import ConfigError


def is_open(token: Token) -> bool:
    """An unquoted ``{``: opens a block (a quoted one is plain text)."""
    return token.text == "{" and not token.quoted


def is_close(token: Token) -> bool:
    """An unquoted ``}``: closes a block."""
    return token.text == "}" and not token.quoted


def same_line(first: Token, second: Token) -> bool:
    """Whether ``second`` continues the line ``first`` is on (``first`` comes before it)."""
    return (first.file == second.file and first.origin == second.origin
            and first.line + first.text.count("\n") >= second.line)


class Dispenser:
    """Hands out tokens one at a time, with helpers that know about lines and blocks."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.cursor = -1
        self._nesting = 0

    # -- moving ---------------------------------------------------------------------------

    def next(self) -> bool:
        """Load the next token, wherever it is; False at the end."""
        if self.cursor < len(self.tokens) - 1:
            self.cursor += 1
            return True
        return False

    def next_arg(self) -> bool:
        """Load the next token if it is on the current line and is not a ``{`` or ``}``."""
        if self.cursor < 0:
            return self.next()
        following = self._peek()
        if following is None or is_open(following) or is_close(following):
            return False
        if same_line(self.tokens[self.cursor], following):
            self.cursor += 1
            return True
        return False

    def next_line(self) -> bool:
        """Load the next token only if it starts a new line."""
        if self.cursor < 0:
            return self.next()
        following = self._peek()
        if following is None or same_line(self.tokens[self.cursor], following):
            return False
        self.cursor += 1
        return True

    def next_block(self, initial_nesting: int = 0) -> bool:
        """Load the next token inside the ``{ ... }`` that the current line opens.

        Use it as a loop condition; it returns False (leaving the cursor on the closing ``}``)
        once the block ends, or right away when the current line opens no block. The loop body
        normally consumes the rest of each line (``remaining_args``), so the loop sees each
        line's first token. A sub-block the body does not read is walked through token by token
        and its braces are counted, so the loop still ends at the right ``}``. To read a
        sub-block, loop from the current depth, as in Caddy::

            while d.next_block():
                if d.val() == "tls":
                    level = d.nesting()
                    while d.next_block(level):
                        ...
        """
        if self._nesting > initial_nesting:
            if not self.next():
                return False
            current = self.tokens[self.cursor]
            if is_close(current):
                self._nesting -= 1
            elif is_open(current):
                self._nesting += 1
            return self._nesting > initial_nesting
        following = self._peek()
        if self.cursor < 0 or following is None or not is_open(following):
            return False
        self.cursor += 1  # the '{' (the parser only puts one here if it opens this line's block)
        if not self.next():
            return False
        if is_close(self.tokens[self.cursor]):
            return False  # "{ }": opened and closed at once
        self._nesting += 1
        return True

    def nesting(self) -> int:
        """How many blocks ``next_block`` has entered and not yet left."""
        return self._nesting

    # -- reading --------------------------------------------------------------------------

    def val(self) -> str:
        """The current token's text; "" before the first token or past the last."""
        if 0 <= self.cursor < len(self.tokens):
            return self.tokens[self.cursor].text
        return ""

    def token(self) -> Token:
        """The current token (IndexError when none is loaded: a bug in the caller)."""
        if 0 <= self.cursor < len(self.tokens):
            return self.tokens[self.cursor]
        raise IndexError("no token loaded")

    def line(self) -> int:
        """The current token's line; 0 when no token is loaded."""
        if 0 <= self.cursor < len(self.tokens):
            return self.tokens[self.cursor].line
        return 0

    def file(self) -> str:
        """The current token's file, else the nearest token's ("" without tokens)."""
        token = self._nearest()
        return token.file if token is not None else ""

    def args(self, *targets: str) -> list[str] | None:
        """The next ``len(targets)`` arguments on the line, or None if the line has fewer.

        ``targets`` only name what is expected (``d.args("from", "to")``), which keeps call
        sites readable; their number is what counts. As in Caddy, the arguments that were there
        stay consumed when there are too few, so ``arg_err()`` points after the last one.
        """
        values = []
        for _ in targets:
            if not self.next_arg():
                return None
            values.append(self.val())
        return values

    def remaining_args(self) -> list[str]:
        """Every argument left on the current line, stopping before a ``{`` or ``}``."""
        values = []
        while self.next_arg():
            values.append(self.val())
        return values

    # -- errors ---------------------------------------------------------------------------

    def err(self, message: str) -> ConfigError:
        """A ConfigError at the current token (the nearest one when none is loaded)."""
        token = self._nearest()
        if token is None:
            return ConfigError(message)
        return ConfigError(message, token.file, token.line)

    def arg_err(self) -> ConfigError:
        """The error for a missing or extra argument."""
        if 0 <= self.cursor < len(self.tokens) and is_open(self.tokens[self.cursor]):
            return self.err("unexpected token '{', expecting argument")
        return self.err(f"wrong argument count or unexpected line ending after '{self.val()}'")

    def syntax_err(self, expected: str) -> ConfigError:
        """The error for an unexpected token."""
        return self.err(f"syntax error: unexpected token '{self.val()}', expecting '{expected}'")

    def eof_err(self) -> ConfigError:
        """The error for input that ends too early."""
        return self.err("unexpected end of file")

    # -- helpers --------------------------------------------------------------------------

    def _peek(self) -> Token | None:
        if self.cursor + 1 < len(self.tokens):
            return self.tokens[self.cursor + 1]
        return None

    def _nearest(self) -> Token | None:
        if not self.tokens:
            return None
        return self.tokens[min(max(self.cursor, 0), len(self.tokens) - 1)]
