"""The Corefile examples of a README, so tests parse and serve them and the docs cannot rot.

An example is a fenced block whose info string is ``corefile``, fenced with backticks or
tildes (CoreDNS's READMEs use ``~~~ corefile``)::

    ~~~ corefile
    . {
        whoami
    }
    ~~~

:func:`fenced_blocks` finds blocks of any other kind (``python test``, say) the same way.
"""

from __future__ import annotations

import os
import re
from typing import Any

from twisted_dns.corefile import parser
from twisted_dns.testing.server import default_registry

_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")


def corefile_examples(path: str | os.PathLike[str]) -> list[str]:
    """The text of every ``corefile`` fenced block in the Markdown file at ``path``."""
    return fenced_blocks(path, "corefile")


def fenced_blocks(path: str | os.PathLike[str], info: str) -> list[str]:
    """The text of every fenced block of the Markdown file at ``path`` whose info string
    starts with the words of ``info`` (``"python test"`` matches ``python test``, not
    ``python``)."""
    wanted = info.lower().split()
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        i += 1
        if not opened:
            continue
        fence = opened["fence"]
        words = [word.lower() for word in opened["info"].split()]
        body: list[str] = []
        # the block runs to a line of at least as many of the same fence characters
        while i < len(lines) and not re.fullmatch(
                rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        if words[:len(wanted)] == wanted:
            blocks.append("\n".join(body) + "\n")
    return blocks


def plugin_readme(name: str) -> str:
    """The path of built-in plugin ``name``'s README."""
    import twisted_dns.plugins

    return os.path.join(os.path.dirname(twisted_dns.plugins.__file__), name, "README.md")


def check_examples(test: Any, name: str | None, count: int | None = None, *,
                   readme: str | os.PathLike[str] | None = None, filename: str = "README.md",
                   **parse: Any) -> list[str]:
    """The Corefile examples of plugin ``name``'s README, after checking that each parses with
    the installed directives (and ``name``), that its first block uses ``name``, and that
    there are ``count`` of them when given (at least one in any case).

    ``readme`` is the Markdown file's path; the default is built-in plugin ``name``'s. With
    ``name`` None (a document about no one plugin) only the parsing is checked. The examples
    are parsed as the file ``filename`` (imports are read relative to it), with ``parse``'s
    options (``environ=...``).
    """
    examples = corefile_examples(plugin_readme(name) if readme is None else readme)
    if count is not None:
        test.assertEqual(len(examples), count)
    test.assertTrue(examples, f"{readme or name} has no corefile example")
    directives = default_registry().names() | ({name} if name else set())
    for example in examples:
        blocks = parser.parse(example, filename, directives=directives, **parse)
        if name is not None:
            test.assertIn(name, blocks[0].directives, example)
    return examples
