"""Group a Corefile's tokens into server blocks, as Caddy v1 (and so CoreDNS) does.

Theory of operation: the parser walks one list of tokens with a cursor. ``import`` at the start
of a line is replaced *in that list* by the tokens of the snippet or files it names, and the
walk goes on over them, so imported text behaves exactly as if it had been written in place
(snippets may import snippets, files may define snippets or whole blocks). Each expansion gets
a fresh :attr:`Token.origin` and remembers the chain of imports that led to it, which is how a
cycle is reported instead of looping.

A block is ``KEY... {`` (keys may also continue on the next line after a trailing comma), then
directives, one per line, each taking the rest of its line and any ``{ ... }`` (nested to any
depth) it opens; ``}`` on a line of its own closes the block. A file holding a single block may
leave out the braces. ``(name) { ... }`` at the top level defines a snippet instead of a block.
``{$VAR}`` and ``{%VAR%}`` in keys and arguments are replaced by the environment's value.

Differences from Caddy v1, all for inputs CoreDNS rejects or mangles: a block may close on the
line of its last directive (``. { whoami }``); a quoted ``"{"``, ``"}"`` or ``"import"`` is
plain text; an unclosed block, a stray ``}``, an import cycle and an unterminated quote are
errors with the line to fix.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from twisted.logger import Logger

from twisted_dns.corefile.dispenser import is_close, is_open, same_line
from twisted_dns.corefile.lexer import Token, decode, tokenize
from twisted_dns.errors import ConfigError

log = Logger(namespace="corefile")

_ENV_WINDOWS = re.compile(r"\{%([^%{}]+)%\}")
_ENV_UNIX = re.compile(r"\{\$([^{}]+)\}")
_GLOB_MAGIC = re.compile(r"[*?\[\]]")

#: An import chain entry: ("file", absolute path) or ("snippet", name).
_Source = tuple[str, str]


@dataclass
class ServerBlock:
    """One server block: its keys, and the tokens of each directive used in it.

    ``directives`` maps a directive name to the tokens of all its occurrences in the block, in
    order, each occurrence starting with the directive-name token (Caddy's
    ``ServerBlock.Tokens``); names are in order of first appearance.
    """

    keys: list[Token]
    directives: dict[str, list[Token]] = field(default_factory=dict)
    file: str = ""
    line: int = 0


def replace_env(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``{%VAR%}`` then ``{$VAR}`` with the variable's value ("" when unset)."""
    if "{" not in text:
        return text
    text = _ENV_WINDOWS.sub(lambda m: environ.get(m.group(1), ""), text)
    return _ENV_UNIX.sub(lambda m: environ.get(m.group(1), ""), text)


def parse(text: str, filename: str, directives: Collection[str] | None = None,
          environ: Mapping[str, str] | None = None,
          imported: list[str] | None = None) -> list[ServerBlock]:
    """The server blocks of Corefile ``text``; every mistake is a ConfigError at file:line.

    ``directives``: the known directive names (None accepts any). ``environ``: the variables
    for ``{$VAR}`` (default ``os.environ``). ``imported``: receives the absolute path of every
    file read through ``import``, once each (reload watches them).
    """
    parser = _Parser(tokenize(text, filename), ("file", os.path.abspath(filename)),
                     directives=directives,
                     environ=os.environ if environ is None else environ,
                     imported=imported if imported is not None else [])
    return parser.parse_all()


def load(path: str, directives: Collection[str] | None = None,
         environ: Mapping[str, str] | None = None,
         imported: list[str] | None = None) -> list[ServerBlock]:
    """Read and parse the Corefile at ``path``; its absolute path goes to ``imported`` too."""
    text = read_corefile(path)
    if imported is not None:
        _add_once(imported, os.path.abspath(path))
    return parse(text, path, directives, environ, imported)


def read_corefile(path: str) -> str:
    """The text of the Corefile at ``path``; a one-line ConfigError when it cannot be read
    (``FILE: cannot read Corefile: why``) or is not UTF-8 (at the line of the first bad byte)."""
    try:
        with open(path, "rb") as corefile:
            data = corefile.read()
    except OSError as exc:
        raise ConfigError(f"cannot read Corefile: {exc.strerror}", path) from exc
    return decode(data, path)


class _Parser:
    """One parse: the token list being walked and what the walk has learnt so far."""

    def __init__(self, tokens: list[Token], source: _Source, *,
                 directives: Collection[str] | None, environ: Mapping[str, str],
                 imported: list[str]) -> None:
        self.tokens = tokens
        self.cursor = -1
        self.directives = None if directives is None else frozenset(directives)
        self.environ = environ
        self.imported = imported
        self.snippets: dict[str, list[Token]] = {}
        #: origin number -> the import chain that produced tokens of that origin
        self.chains: dict[int, tuple[_Source, ...]] = {0: (source,)}

    # -- cursor ---------------------------------------------------------------------------

    def next(self) -> bool:
        if self.cursor < len(self.tokens) - 1:
            self.cursor += 1
            return True
        return False

    @property
    def tok(self) -> Token:
        return self.tokens[self.cursor]

    def new_line(self) -> bool:
        """Whether the current token starts a line."""
        return self.cursor == 0 or not same_line(self.tokens[self.cursor - 1], self.tok)

    def at_import(self) -> bool:
        return self.tok.text == "import" and not self.tok.quoted and self.new_line()

    def error(self, message: str, token: Token | None = None) -> ConfigError:
        token = token or self.tok
        return ConfigError(message, token.file, token.line)

    def env(self, token: Token) -> Token:
        text = replace_env(token.text, self.environ)
        return token if text == token.text else dataclasses.replace(token, text=text)

    # -- blocks ---------------------------------------------------------------------------

    def parse_all(self) -> list[ServerBlock]:
        blocks = []
        while self.next():
            block = self.parse_one()
            if block is not None:
                blocks.append(block)
        return blocks

    def parse_one(self) -> ServerBlock | None:
        """One block or snippet definition, starting at the current token."""
        keys = self.keys()
        if not keys:
            if self.cursor >= len(self.tokens):
                return None  # only imports that brought nothing
            raise self.error("expected a server block key")
        name = _snippet_name(keys)
        if name is not None:
            self.define_snippet(name, keys[0])
            return None
        block = ServerBlock(keys=keys, file=keys[0].file, line=keys[0].line)
        if self.cursor >= len(self.tokens):
            return block  # a line of keys and nothing else
        braced = is_open(self.tok)
        if not braced:
            self.cursor -= 1  # a single block without braces: this line is a directive
        self.block_body(block, braced)
        return block

    def keys(self) -> list[Token]:
        """Read the keys. The cursor is left on the block's '{', on the first token of the
        next line, or past the last token when the input ends with the keys."""
        keys: list[Token] = []
        expecting = False  # a trailing comma promised another key
        last = self.tok
        while True:
            if self.at_import():
                last = self.tok
                self.do_import()
                if self.next():
                    continue
            else:
                token = last = self.tok
                if is_open(token):
                    if expecting:
                        raise self.error("expected another key but found '{': check for an "
                                         "extra comma")
                    if not keys:
                        raise self.error("expected a server block key before '{'")
                    return keys
                if is_close(token):
                    raise self.error("unexpected '}': no block is open")
                text = replace_env(token.text, self.environ)
                if not token.quoted and len(text) > 1 and text.endswith("{"):
                    raise self.error(f"missing space before '{{' in '{text}'")
                expecting = text.endswith(",")
                if expecting:
                    text = text[:-1]
                if text:  # "" is possible when the user typed ""
                    keys.append(dataclasses.replace(token, text=text))
                if self.next():
                    if expecting or not self.new_line():
                        continue
                    return keys
            if expecting:
                raise self.error("unexpected end of file: expected another key after ','",
                                 last)
            self.cursor = len(self.tokens)
            return keys

    def block_body(self, block: ServerBlock, braced: bool) -> None:
        """The directives of a block, up to its '}' (or to the end of a braceless block)."""
        opening = self.tok if braced else None
        while self.next():
            token = self.tok
            if is_close(token):
                if braced:
                    return
                raise self.error("unexpected '}': no block is open")
            if token.text == "import" and not token.quoted:  # where a directive starts
                self.do_import()
                continue
            if is_open(token):
                raise self.error("unexpected '{': expected a directive")
            self.directive(block)
        if opening is not None:
            raise self.error("unclosed block: this '{' has no matching '}'", opening)

    def directive(self, block: ServerBlock) -> None:
        """One directive: the rest of its line plus the blocks it opens; the cursor ends on
        its last token."""
        name_token = self.env(self.tok)
        name = name_token.text
        if self.directives is not None and name not in self.directives:
            raise self.error(f"unknown directive '{name}'")
        collected = block.directives.setdefault(name, [])
        collected.append(name_token)
        opened: list[Token] = []  # the '{' tokens not closed yet
        while self.next():
            token = self.tok
            if is_open(token):
                opened.append(token)
            elif not opened and (self.new_line() or is_close(token)):
                self.cursor -= 1  # the next line (or the block's '}') is not ours
                return
            elif is_close(token):
                opened.pop()
            elif self.at_import():
                self.do_import()
                continue
            collected.append(self.env(token))
        if opened:
            raise self.error("unclosed block: this '{' has no matching '}'", opened[0])

    # -- snippets and imports -------------------------------------------------------------

    def define_snippet(self, name: str, key: Token) -> None:
        if name in self.snippets:
            raise self.error(f"redeclaration of previously declared snippet '{name}'", key)
        if self.cursor >= len(self.tokens) or not is_open(self.tok):
            raise self.error(f"snippet '{name}' must be followed by a '{{' block", key)
        opening = self.tok
        depth = 1
        body: list[Token] = []
        while self.next():
            token = self.tok
            if is_close(token):
                depth -= 1
                if depth == 0:
                    self.snippets[name] = body
                    return
            elif is_open(token):
                depth += 1
            body.append(token)
        raise self.error("unclosed block: this '{' has no matching '}'", opening)

    def do_import(self) -> None:
        """Replace ``import PATTERN`` (the current token and its argument) by what it names;
        the cursor is left just before the first imported token."""
        at = self.cursor
        keyword = self.tok
        if (not self.next() or not same_line(keyword, self.tok) or is_open(self.tok)
                or is_close(self.tok)):
            raise self.error("wrong argument count or unexpected line ending after 'import'",
                             keyword)
        pattern = replace_env(self.tok.text, self.environ)
        if not pattern:
            raise self.error("import requires a non-empty file path or snippet name")
        following = self.tokens[self.cursor + 1] if self.cursor + 1 < len(self.tokens) else None
        if following and same_line(self.tok, following) and not is_close(following):
            raise self.error("import takes only one argument (a snippet name, file or glob)",
                             following)
        chain = self.chains[keyword.origin]
        if pattern in self.snippets:
            spliced = self.expand(chain, ("snippet", pattern), self.snippets[pattern], keyword)
        else:
            spliced = []
            for path in self.import_paths(pattern, keyword):
                spliced += self.expand(chain, ("file", path), self.read_import(path, keyword),
                                       keyword)
        self.tokens[at:at + 2] = spliced
        self.cursor = at - 1

    def expand(self, chain: tuple[_Source, ...], source: _Source, tokens: list[Token],
               keyword: Token) -> list[Token]:
        """``tokens`` as a fresh origin, unless ``source`` is already being imported."""
        if source in chain:
            loop = (*chain[chain.index(source):], source)
            path = " -> ".join(_describe(item) for item in loop)
            raise self.error(f"import cycle: {path}", keyword)
        origin = len(self.chains)
        self.chains[origin] = (*chain, source)
        return [dataclasses.replace(token, origin=origin) for token in tokens]

    def import_paths(self, pattern: str, keyword: Token) -> list[str]:
        """The files ``pattern`` names, relative to the directory of the importing file."""
        base = os.path.dirname(os.path.abspath(keyword.file))
        full = os.path.normpath(os.path.join(base, pattern))
        if full.count("*") > 1 or full.count("?") > 1 or ("[" in full and "]" in full):
            raise self.error(f"glob pattern may only contain one wildcard (*), but has others: "
                             f"{pattern}", keyword)
        if not _GLOB_MAGIC.search(full):
            if not os.path.lexists(full):
                raise self.error(f"import '{pattern}': no such snippet or file", keyword)
            return [full]
        if "[" in full:
            raise self.error(f"failed to use import pattern {pattern}: syntax error in "
                             f"pattern", keyword)
        matches = _glob(full)
        if not matches:
            log.warn("No files matching import glob pattern: {pattern}", pattern=pattern)
        return matches

    def read_import(self, path: str, keyword: Token) -> list[Token]:
        if os.path.isdir(path):
            raise self.error(f"could not import {path}: is a directory", keyword)
        try:
            with open(path, "rb") as imported:
                data = imported.read()
        except OSError as exc:
            raise self.error(f"could not import {path}: {exc.strerror}", keyword) from exc
        text = decode(data, path)
        _add_once(self.imported, path)
        return tokenize(text, path)


def _snippet_name(keys: list[Token]) -> str | None:
    """A block whose only key is ``(name)`` defines a snippet."""
    if len(keys) == 1 and keys[0].text.startswith("(") and keys[0].text.endswith(")"):
        return keys[0].text[1:-1]
    return None


def _describe(source: _Source) -> str:
    kind, name = source
    return f"snippet '{name}'" if kind == "snippet" else name


def _add_once(paths: list[str], path: str) -> None:
    if path not in paths:
        paths.append(path)


def _glob(pattern: str) -> list[str]:
    """Go's ``filepath.Glob``: per-component matching, sorted, dot files included."""
    parts = pattern.split(os.sep)
    found = [os.sep if pattern.startswith(os.sep) else ""]
    for part in (p for p in parts if p):
        if not _GLOB_MAGIC.search(part):
            found = [os.path.join(base, part) for base in found]
            continue
        matched = []
        for base in found:
            try:
                names = sorted(os.listdir(base or "."))
            except OSError:
                continue
            matched += [os.path.join(base, n) for n in names if fnmatch.fnmatchcase(n, part)]
        found = matched
    return [path for path in found if os.path.lexists(path)]
