"""The chain order: the plugin.cfg format, and ``@position`` for plugins it does not list."""

from __future__ import annotations

import importlib.resources
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from twisted_dns.errors import ConfigError

#: attributes that ``position`` sets on a setup callable
BEFORE_ATTR = "twisted_dns_before"
AFTER_ATTR = "twisted_dns_after"

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")

_F = TypeVar("_F", bound=Callable[..., Any])


def directive_names(value: str | Iterable[str], what: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"position({what}=...) takes directive names, got {name!r}")
    return names


def position(before: str | Iterable[str] = (), after: str | Iterable[str] = ()
             ) -> Callable[[_F], _F]:
    """Declare where an unlisted plugin goes in the chain, for plugin authors::

        @position(after="cache", before="forward")
        def setup(c): ...

    Only used when the order file does not name the plugin (see the module docstring).
    """
    before_names, after_names = directive_names(before, "before"), directive_names(after, "after")
    both = sorted(set(before_names) & set(after_names))
    if both:
        raise ValueError(f"position(): {', '.join(both)} is both before and after")

    def mark(setup: _F) -> _F:
        setattr(setup, BEFORE_ATTR, before_names)
        setattr(setup, AFTER_ATTR, after_names)
        return setup

    return mark


def parse_order(text: str, file: str = "plugin.cfg") -> list[str]:
    """Parse the plugin.cfg format: one directive name a line, ``#`` starts a comment."""
    order: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not _NAME.match(name):
            hint = " (CoreDNS's name:package format? keep only the name)" if ":" in name else ""
            raise ConfigError(f"expected one directive name a line, got {name!r}{hint}",
                              file, number)
        if name in seen:
            raise ConfigError(f"{name!r} is already listed on line {seen[name]}", file, number)
        seen[name] = number
        order.append(name)
    return order


def read_order_file(path: str | os.PathLike[str]) -> list[str]:
    """Read a user's order file (``--plugin-cfg``); a bad one is a ``ConfigError`` FILE:LINE."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read plugin order file: {exc}", file) from exc
    return parse_order(text, file)


def packaged_order() -> list[str]:
    """The chain order shipped with twisted-dns (``twisted_dns/plugin.cfg``)."""
    text = importlib.resources.files("twisted_dns").joinpath("plugin.cfg").read_text("utf-8")
    return parse_order(text, "twisted_dns/plugin.cfg")
