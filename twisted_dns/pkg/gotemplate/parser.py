"""The parse tree of a template, built and checked the way Go's parser does.

Undefined functions and variables, unsupported keywords and functions, and (when the caller
names the data's fields) unknown top-level fields are :class:`TemplateSyntaxError` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted_dns.pkg.gotemplate.funcs import UNSUPPORTED_FUNCS, VERB, VERBS
from twisted_dns.pkg.gotemplate.lexer import KEYWORDS, Token, number_value, unescape
from twisted_dns.pkg.gotemplate.values import TemplateSyntaxError

# An argument is a tuple: ("field", names) relative to dot, ("dot",), ("var", name, names),
# ("const", value), ("nil",), ("func", name), ("pipe", Pipe, names).


class Pipe:
    """``[$x :=] command | command ...``: declared (or assigned) variables and commands."""

    __slots__ = ("assign", "cmds", "decl")

    def __init__(self, decl: list[str], assign: bool, cmds: list[list[tuple]]) -> None:
        self.decl = decl
        self.assign = assign
        self.cmds = cmds


class Action:
    """``{{ pipeline }}``: output the pipeline's value (nothing when it declares a variable)."""

    __slots__ = ("pipe",)

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe


class Branch:
    """``if``/``with``/``range``: the pipeline, its body and the ``else`` part."""

    __slots__ = ("body", "kind", "orelse", "pipe")

    def __init__(self, kind: str, pipe: Pipe) -> None:
        self.kind = kind
        self.pipe = pipe
        self.body: list = []
        self.orelse: list = []


_Node = str | Action | Branch


class Parser:
    """Builds the node list of a template from :func:`~.lexer.lex`'s items."""

    def __init__(self, items: list, funcs: Mapping[str, Any],
                 root_fields: frozenset[str] | None) -> None:
        self.items = items
        self.index = 0
        self.funcs = funcs
        self.root_fields = root_fields
        self.scopes: list[set[str]] = [{"$"}]

    # tokens of the current action
    def _tokens(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.pos = 0

    def _peek(self) -> Token | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _take(self) -> Token:
        token = self.toks[self.pos]
        self.pos += 1
        return token

    def parse(self) -> list[_Node]:
        nodes, stop = self._list(root=True)
        if stop is not None:
            raise TemplateSyntaxError(f"unexpected {{{{{stop}}}}}")
        return nodes

    def _list(self, root: bool) -> tuple[list[_Node], str | None]:
        """Nodes up to an ``else``/``end`` (returned as the stop word) or the text's end."""
        nodes: list[_Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if isinstance(item, str):
                nodes.append(item)
                continue
            self._tokens(item)
            first = self._peek()
            if first is None:
                raise TemplateSyntaxError("missing value for command")
            if first.kind == "ident" and first.text in KEYWORDS:
                word = self._take().text
                if word in ("else", "end"):
                    return nodes, word
                if word in ("if", "with", "range"):
                    nodes.append(self._branch(word, root))
                    continue
                raise TemplateSyntaxError(f"{{{{{word}}}}} is not supported")
            pipe = self._pipe(root, allow_decl=True)
            if self._peek() is not None:
                raise TemplateSyntaxError(f"unexpected {self._peek().text!r} in command")
            nodes.append(Action(pipe))
        return nodes, None

    def _branch(self, kind: str, root: bool) -> Branch:
        self.scopes.append(set())
        branch = Branch(kind, self._pipe(root, allow_decl=True, ranging=kind == "range"))
        if self._peek() is not None:
            raise TemplateSyntaxError(f"unexpected {self._peek().text!r} in {kind}")
        inner_root = root and kind == "if"
        branch.body, stop = self._list(inner_root)
        if stop == "else":
            rest = self._peek()
            if rest is not None and rest.kind == "ident" and rest.text in ("if", "with") \
                    and kind != "range":
                # {{else if ...}} / {{else with ...}}: a nested branch closed by the same end
                word = self._take().text
                if word != kind:
                    raise TemplateSyntaxError(f"{{{{else {word}}}}} inside {kind}")
                branch.orelse = [self._branch(word, root)]
                self.scopes.pop()
                return branch
            if rest is not None:
                raise TemplateSyntaxError(f"unexpected {rest.text!r} in else")
            branch.orelse, stop = self._list(root)
        if stop != "end":
            raise TemplateSyntaxError(f"unexpected EOF: {kind} has no {{{{end}}}}")
        if self._peek() is not None:
            raise TemplateSyntaxError(f"unexpected {self._peek().text!r} in end")
        self.scopes.pop()
        return branch

    def _declared(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def _pipe(self, root: bool, allow_decl: bool = False, ranging: bool = False) -> Pipe:
        decl: list[str] = []
        assign = False
        if allow_decl:
            decl, assign = self._declaration(ranging)
        cmds = []
        while True:
            cmds.append(self._command(root))
            following = self._peek()
            if following is None or following.text == ")":
                break
            if following.text != "|":
                raise TemplateSyntaxError(f"unexpected {following.text!r} in operand")
            self._take()
        for i, cmd in enumerate(cmds):
            if i and cmd[0][0] in ("const", "nil"):
                raise TemplateSyntaxError("non executable command in pipeline stage "
                                          f"{i + 1}")
        if assign:
            for name in decl:
                if not self._declared(name):
                    raise TemplateSyntaxError(f"undefined variable {name!r}")
        else:
            self.scopes[-1].update(decl)
        return Pipe(decl, assign, cmds)

    def _declaration(self, ranging: bool) -> tuple[list[str], bool]:
        start = self.pos
        names: list[str] = []
        while True:
            token = self._peek()
            if token is None or token.kind != "var":
                break
            names.append(self._take().text)
            following = self._peek()
            if following is not None and following.kind in ("declare", "punct") \
                    and following.text in (":=", "="):
                self._take()
                if len(names) > (2 if ranging else 1):
                    raise TemplateSyntaxError("too many declarations")
                return names, following.text == "="
            if following is not None and following.text == "," and ranging:
                self._take()
                continue
            break
        self.pos = start
        return [], False

    def _command(self, root: bool) -> list[tuple]:
        start = self.pos
        args: list[tuple] = []
        while True:
            token = self._peek()
            if token is None or token.text in ("|", ")"):
                break
            if args and not token.space_before:
                raise TemplateSyntaxError(f"missing space before {token.text!r}")
            args.append(self._operand(root))
        if not args:
            raise TemplateSyntaxError("missing value for command")
        if len(args) > 1 and args[0][0] in ("const", "nil", "dot"):
            raise TemplateSyntaxError("can't give argument to non-function "
                                      f"{self.toks[start].text}")
        if args[0][0] == "nil" and len(args) == 1:
            raise TemplateSyntaxError("nil is not a command")
        return args

    def _operand(self, root: bool) -> tuple:
        token = self._take()
        kind, text = token.kind, token.text
        if kind == "field":
            names = [text[1:], *self._chain()]
            self._check_root(root, names[0])
            return ("field", tuple(names))
        if kind == "dot":
            return ("dot",)
        if kind == "var":
            if not self._declared(text):
                raise TemplateSyntaxError(f"undefined variable {text!r}")
            names = self._chain()
            if text == "$" and names:
                self._check_root(True, names[0])
            return ("var", text, tuple(names))
        if kind == "string":
            return ("const", unescape(text[1:-1], '"'))
        if kind == "raw":
            return ("const", text[1:-1])
        if kind == "char":
            value = unescape(text[1:-1], "'")
            if len(value) != 1:
                raise TemplateSyntaxError(f"malformed character constant: {text}")
            return ("const", ord(value))
        if kind == "number":
            return ("const", number_value(text))
        if kind == "ident":
            if text == "true" or text == "false":
                return ("const", text == "true")
            if text == "nil":
                return ("nil",)
            if text in KEYWORDS:
                raise TemplateSyntaxError(f"unexpected {text!r} in operand")
            if text not in self.funcs:
                if text in UNSUPPORTED_FUNCS:
                    raise TemplateSyntaxError(f"function {text!r} is not supported")
                raise TemplateSyntaxError(f"function {text!r} not defined")
            if text == "printf":
                self._check_printf()
            return ("func", text)
        if text == "(":
            pipe = self._pipe(root)
            if self._peek() is None or self._take().text != ")":
                raise TemplateSyntaxError("unclosed left paren")
            return ("pipe", pipe, tuple(self._chain()))
        raise TemplateSyntaxError(f"unexpected {text!r} in operand")

    def _chain(self) -> list[str]:
        names = []
        while True:
            token = self._peek()
            if token is None or token.kind != "field" or token.space_before:
                return names
            names.append(self._take().text[1:])

    def _check_root(self, root: bool, name: str) -> None:
        fields = self.root_fields
        if root and fields is not None and name not in fields:
            raise TemplateSyntaxError(f"can't evaluate field {name}: the data has "
                                      f"{', '.join(sorted(fields))}")

    def _check_printf(self) -> None:
        token = self._peek()
        if token is not None and token.kind in ("string", "raw") and token.space_before:
            fmt = unescape(token.text[1:-1], '"') if token.kind == "string" \
                else token.text[1:-1]
            for m in VERB.finditer(fmt):
                if m.group("verb") not in VERBS:
                    raise TemplateSyntaxError(f"printf verb %{m.group('verb')} is not "
                                              "supported")
