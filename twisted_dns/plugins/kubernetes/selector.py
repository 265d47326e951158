"""Label selectors as ``labels`` and ``namespace_labels`` take them (apimachinery's
``labels.Parse`` through ``metav1.ParseToLabelSelector``), checked at setup and sent to the
API server in its canonical form::

    >>> canonical("environment in (production, staging, qa),application=nginx")
    'application=nginx,environment in (production,qa,staging)'

The grammar, the checks on keys and values and the error texts are apimachinery's; ``!=``,
``>`` and ``<`` parse but a LabelSelector cannot hold them (an error, as in CoreDNS).
"""

from __future__ import annotations

import re

_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")
_TOKENS = {")": ")", ",": ",", "!": "!", "==": "==", "=": "=", ">": ">", "in": "in",
           "<": "<", "!=": "!=", "notin": "notin", "(": "("}
ID, END, ERROR = "identifier", "end of string", "error"
_BINARY = "in, notin, =, ==, !=, gt, lt"

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NAME_MESSAGE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                 "'my.name',  or '123-abc', regex used for validation is "
                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_MESSAGE = ("a valid label must be an empty string or consist of alphanumeric "
                  "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                  "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                  "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


class SelectorError(ValueError):
    """A selector that does not parse, with apimachinery's text."""


def _lex(text: str) -> list[tuple[str, str]]:
    """(token, literal) pairs, ending with END (``labels.Lexer``)."""
    items = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            items.append((END, ""))
            return items
        if text[i] in _SPECIAL:
            buffer, found = "", None
            while i < n and text[i] in _SPECIAL:
                if buffer + text[i] in _TOKENS:
                    buffer += text[i]
                    found = buffer
                    i += 1
                elif found is not None:
                    break
                else:
                    buffer += text[i]
                    i += 1
            if found is None:
                items.append((ERROR, f"error expected: keyword found '{buffer}'"))
            else:
                items.append((_TOKENS[found], found))
            continue
        start = i
        while i < n and text[i] not in _SPECIAL and text[i] not in _WHITESPACE:
            i += 1
        word = text[start:i]
        items.append((_TOKENS.get(word, ID), word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def look(self, values: bool = True) -> tuple[str, str]:
        token, literal = self.items[self.position]
        return (ID if values and token in ("in", "notin") else token), literal

    def take(self, values: bool = True) -> tuple[str, str]:
        found = self.look(values)
        self.position += 1
        return found

    def parse(self) -> list[tuple[str, str, list[str]]]:
        requirements = []
        while True:
            token, literal = self.look()
            if token in (ID, "!"):
                try:
                    requirements.append(self.requirement())
                except SelectorError as exc:
                    raise SelectorError(f"unable to parse requirement: {exc}") from None
                token, literal = self.take()
                if token == END:
                    return requirements
                if token != ",":
                    raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
                after, literal = self.look()
                if after not in (ID, "!"):
                    raise SelectorError(f"found '{literal}', expected: identifier after ','")
            elif token == END:
                return requirements
            else:
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of "
                                    "string'")

    def requirement(self) -> tuple[str, str, list[str]]:
        token, key = self.take()
        operator = ""
        if token == "!":
            operator = "!"
            token, key = self.take()
        if token != ID:
            raise SelectorError(f"found '{key}', expected: identifier")
        problems = _key_problems(key)
        if problems:
            raise SelectorError(f'Invalid value: "{key}": {"; ".join(problems)}')
        if self.look()[0] in (END, ","):
            return key, operator or "exists", []
        if operator:
            return key, operator, []
        token, literal = self.take(values=False)
        if token not in ("in", "notin", "=", "==", "!=", ">", "<"):
            raise SelectorError(f"found '{literal}', expected: {_BINARY}")
        values = self.values() if token in ("in", "notin") else self.exact_value()
        for value in values:
            if len(value) > 63 or (value and not _NAME.fullmatch(value)):
                message = "must be no more than 63 characters" if len(value) > 63 \
                    else _VALUE_MESSAGE
                raise SelectorError(f'values[0][{key}]: Invalid value: "{value}": {message}')
        return key, token, sorted(values)

    def values(self) -> set[str]:
        token, literal = self.take()
        if token != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        token, literal = self.look()
        if token == ")":
            self.take()
            return {""}
        if token not in (ID, ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        found: set[str] = set()
        while True:
            token, value = self.take()
            if token == ID:
                found.add(value)
                after, literal2 = self.look()
                if after == ")":
                    break
                if after != ",":
                    raise SelectorError(f"found '{literal2}', expected: ',' or ')'")
            elif token == ",":
                if not found:
                    found.add("")
                after, _ = self.look()
                if after == ")":
                    found.add("")
                    break
                if after == ",":
                    found.add("")
            else:
                raise SelectorError(f"found '{value}', expected: ',', or identifier")
        if self.take()[0] != ")":
            raise SelectorError(f"found '{literal}', expected: ')'")
        return found

    def exact_value(self) -> set[str]:
        token, _ = self.look()
        if token in (END, ","):
            return {""}
        token, literal = self.take()
        if token == ID:
            return {literal}
        raise SelectorError(f"found '{literal}', expected: identifier")


def _key_problems(key: str) -> list[str]:
    """What ``validation.IsQualifiedName`` finds wrong with a label key."""
    parts = key.split("/")
    if len(parts) > 2:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                "'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                "prefix and '/' (e.g. 'example.com/MyName')"]
    problems = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        elif len(prefix) > 253:
            problems.append("prefix part must be no more than 253 characters")
        elif not _SUBDOMAIN.fullmatch(prefix):
            problems.append("prefix part a lowercase RFC 1123 subdomain must consist of lower "
                            "case alphanumeric characters, '-' or '.', and must start and end "
                            "with an alphanumeric character (e.g. 'example.com', regex used "
                            "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]"
                            "([-a-z0-9]*[a-z0-9])?)*')")
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if name and not _NAME.fullmatch(name):
        problems.append(_NAME_MESSAGE)
    return problems


def canonical(text: str) -> str:
    """``text`` as the LabelSelector's canonical string (requirements sorted by key, values
    sorted); SelectorError with apimachinery's reason when it is not a selector."""
    try:
        requirements = _Parser(text).parse()
    except SelectorError as exc:
        raise SelectorError(f'couldn\'t parse the selector string "{text}": {exc}') from None
    labels: dict[str, str] = {}
    expressions = []
    for key, operator, values in requirements:
        if operator in ("=", "=="):
            labels[key] = values[0]
        elif operator in (">", "<"):
            name = "gt" if operator == ">" else "lt"
            raise SelectorError(f'"{name}" isn\'t supported in label selectors')
        elif operator == "!=":
            raise SelectorError('"!=" is not a valid label selector operator')
        else:
            expressions.append((key, operator, values))
    parts = [(key, f"{key}={value}") for key, value in labels.items()]
    for key, operator, values in expressions:
        if operator == "exists":
            parts.append((key, key))
        elif operator == "!":
            parts.append((key, f"!{key}"))
        else:
            parts.append((key, f"{key} {operator} ({','.join(values)})"))
    parts.sort(key=lambda part: part[0])
    return ",".join(text for _, text in parts)
