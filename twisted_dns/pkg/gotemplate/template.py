"""Executing a parsed template against a data value (Go's ``exec.go``)."""

from __future__ import annotations

from typing import Any

from twisted_dns.pkg.gotemplate.funcs import BUILTINS, Funcs, is_int
from twisted_dns.pkg.gotemplate.lexer import lex
from twisted_dns.pkg.gotemplate.parser import Action, Branch, Parser, Pipe
from twisted_dns.pkg.gotemplate.values import (
    NO_VALUE,
    GoObject,
    TemplateExecError,
    go_type,
    to_text,
    truth,
)


class _Vars:
    """The variable stack: (name, value) pairs, innermost last."""

    def __init__(self, root: Any) -> None:
        self.stack: list[list[Any]] = [["$", root]]

    def get(self, name: str) -> Any:
        for pair in reversed(self.stack):
            if pair[0] == name:
                return pair[1]
        raise TemplateExecError(f"undefined variable: {name}")

    def set(self, name: str, value: Any) -> None:
        for pair in reversed(self.stack):
            if pair[0] == name:
                pair[1] = value
                return
        raise TemplateExecError(f"undefined variable: {name}")


class Template:
    """A parsed template; :meth:`execute` renders it with a data value."""

    def __init__(self, text: str, funcs: Funcs | None = None,
                 root_fields: frozenset[str] | None = None) -> None:
        """Parse ``text``; raises :class:`TemplateSyntaxError`.

        ``funcs`` adds functions to the built-in ones; ``root_fields``, when given, are the
        only fields the top-level data has, so a misspelt ``.Nmae`` fails here, not later.
        """
        self.text = text
        self.funcs = {**BUILTINS, **(funcs or {})}
        self.nodes = Parser(lex(text), self.funcs, root_fields).parse()

    def execute(self, data: Any) -> str:
        """The rendered text; raises :class:`TemplateExecError`."""
        out: list[str] = []
        self._walk(self.nodes, data, _Vars(data), out)
        return "".join(out)

    def _walk(self, nodes: list, dot: Any, variables: _Vars, out: list[str]) -> None:
        mark = len(variables.stack)
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Action):
                value = self._pipe(node.pipe, dot, variables)
                if not node.pipe.decl:
                    out.append(to_text(value))
            else:
                self._branch(node, dot, variables, out)
        del variables.stack[mark:]

    def _branch(self, node: Branch, dot: Any, variables: _Vars, out: list[str]) -> None:
        mark = len(variables.stack)
        if node.kind == "range":
            self._range(node, dot, variables, out)
        else:
            value = self._pipe(node.pipe, dot, variables)
            if truth(value):
                self._walk(node.body, value if node.kind == "with" else dot, variables, out)
            else:
                self._walk(node.orelse, dot, variables, out)
        del variables.stack[mark:]

    def _range(self, node: Branch, dot: Any, variables: _Vars, out: list[str]) -> None:
        pipe = node.pipe
        value = self._pipe(Pipe([], False, pipe.cmds), dot, variables)
        if isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif is_int(value):
            items = [(i, i) for i in range(value)]
        elif value is None or value is NO_VALUE:
            items = []
        else:
            raise TemplateExecError(f"range can't iterate over {to_text(value)}")
        if not items:
            self._walk(node.orelse, dot, variables, out)
            return
        for key, element in items:
            mark = len(variables.stack)
            if len(pipe.decl) == 1:
                variables.stack.append([pipe.decl[0], element])
            elif len(pipe.decl) == 2:
                variables.stack.append([pipe.decl[0], key])
                variables.stack.append([pipe.decl[1], element])
            self._walk(node.body, element, variables, out)
            del variables.stack[mark:]

    def _pipe(self, pipe: Pipe, dot: Any, variables: _Vars) -> Any:
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self._command(cmd, dot, variables, value)
        if pipe.decl:
            if pipe.assign:
                variables.set(pipe.decl[0], value)
            else:
                variables.stack.append([pipe.decl[0], value])
        return value

    def _command(self, cmd: list[tuple], dot: Any, variables: _Vars, final: Any) -> Any:
        head = cmd[0]
        rest = cmd[1:]
        kind = head[0]
        if kind == "func":
            return self._call(head[1], rest, dot, variables, final)
        if kind in ("const", "nil", "dot") and final is not _MISSING:
            raise TemplateExecError(f"can't give argument to non-function {head!r}")
        if kind == "field":
            return self._fields(dot, head[1], rest, dot, variables, final)
        if kind == "var":
            return self._fields(variables.get(head[1]), head[2], rest, dot, variables, final)
        if kind == "pipe":
            receiver = self._pipe(head[1], dot, variables)
            return self._fields(receiver, head[2], rest, dot, variables, final)
        return self._arg(head, dot, variables)

    def _arg(self, arg: tuple, dot: Any, variables: _Vars) -> Any:
        kind = arg[0]
        if kind == "const":
            return arg[1]
        if kind == "dot":
            return dot
        if kind == "nil":
            return None
        if kind == "func":
            return self._call(arg[1], (), dot, variables, _MISSING)
        return self._command([arg], dot, variables, _MISSING)

    def _call(self, name: str, rest: Any, dot: Any, variables: _Vars, final: Any) -> Any:
        if name in ("and", "or"):
            thunks = [lambda a=a: self._arg(a, dot, variables) for a in rest]
            if final is not _MISSING:
                thunks.append(lambda: final)
            if not thunks:
                raise TemplateExecError(f"wrong number of args for {name}: want at least 1")
            value = None
            for thunk in thunks:
                value = thunk()
                if truth(value) != (name == "and"):
                    return value
            return value
        function, arity = self.funcs[name]
        args = [self._arg(a, dot, variables) for a in rest]
        if final is not _MISSING:
            args.append(final)
        if arity is not None and len(args) != arity:
            raise TemplateExecError(f"wrong number of args for {name}: want {arity} got "
                                    f"{len(args)}")
        if name in ("index", "slice", "eq", "printf") and not args:
            raise TemplateExecError(f"wrong number of args for {name}: want at least 1 got 0")
        return function(*args)

    def _fields(self, receiver: Any, names: tuple[str, ...], rest: Any, dot: Any,
                variables: _Vars, final: Any) -> Any:
        args = [self._arg(a, dot, variables) for a in rest]
        if final is not _MISSING:
            args.append(final)
        for i, name in enumerate(names):
            last = i == len(names) - 1
            receiver = _field(receiver, name, args if last else [])
        if args and not names:
            raise TemplateExecError("can't give argument to non-function")
        return receiver


_MISSING = object()


def _field(receiver: Any, name: str, args: list[Any]) -> Any:
    if isinstance(receiver, GoObject):
        if name in receiver.go_methods:
            arity = receiver.go_methods[name]
            if len(args) != arity:
                raise TemplateExecError(f"wrong number of args for {name}: want {arity} got "
                                        f"{len(args)}")
            return getattr(receiver, name)(*args)
        if name in receiver.go_fields:
            if args:
                raise TemplateExecError(f"{name} is not a method but has arguments")
            return getattr(receiver, name)
    elif isinstance(receiver, dict):
        if args:
            raise TemplateExecError(f"{name} is not a method but has arguments")
        return receiver.get(name, NO_VALUE)
    elif receiver is None or receiver is NO_VALUE:
        raise TemplateExecError(f"nil pointer evaluating {name}")
    raise TemplateExecError(f"can't evaluate field {name} in type {go_type(receiver)}")
