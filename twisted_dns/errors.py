"""Errors a user can cause: each renders as one line, ``FILE:LINE: message``."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad Corefile or plugin configuration, located at ``file:line`` when known."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"
