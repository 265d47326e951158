"""Values as Go's templates see them: the errors, a missing map value, struct-like objects,
and how ``fmt`` prints a value (what an action outputs)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class TemplateSyntaxError(ValueError):
    """The template text is not valid (or uses Go syntax outside the supported subset)."""


class TemplateExecError(RuntimeError):
    """Rendering failed (Go's ``template: executing ...`` errors)."""


class _NoValue:
    """A missing map key: Go prints it as ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


class GoObject:
    """A value with Go struct fields and methods a template may use.

    ``go_fields`` names the attributes templates may read; ``go_methods`` maps method names
    to their number of arguments.
    """

    go_fields: frozenset[str] = frozenset()
    go_methods: Mapping[str, int] = {}


def go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]string"
    if isinstance(value, dict):
        return "map[string]string"
    if value is None or value is NO_VALUE:
        return "<nil>"
    return type(value).__name__


def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil, empty string/list/map are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def go_float(value: float) -> str:
    """``fmt``'s ``%v`` for a float64: shortest digits, an exponent outside [-4, 6)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def to_text(value: Any) -> str:
    """How Go's ``fmt`` prints a value with ``%v`` (what an action outputs)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if value is None:
        return "<nil>"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(to_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{to_text(k)}:{to_text(value[k])}"
                                 for k in sorted(value)) + "]"
    return str(value)


def go_quote(text: str) -> str:
    """``strconv.Quote``."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\a\b\f\n\r\t\v":
            out.append({"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r",
                        "\t": r"\t", "\v": r"\v"}[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x80 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'
