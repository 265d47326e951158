"""Errors a user can cause: each renders as one line, ``FILE:LINE: message``."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad Corefile or plugin configuration, located at ``file:line`` when known.

    The rendered text is always one line: a line break or other control character in the
    message (a multi-line quoted token quoted back, a NUL byte) is shown escaped, ``\\n``.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        message = _one_line(self.message)
        if self.file is None:
            return message
        if self.line is None:
            return f"{self.file}: {message}"
        return f"{self.file}:{self.line}: {message}"


def _one_line(text: str) -> str:
    """``text`` with every character that is not printable escaped as Python writes it."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
