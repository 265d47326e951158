"""The built-in functions of Go's templates (and ``fmt.Sprintf`` for ``printf``), plus
``strconv.ParseUint`` that CoreDNS adds as ``parseInt``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from twisted_dns.pkg.gotemplate.values import (
    NO_VALUE,
    GoObject,
    TemplateExecError,
    go_float,
    go_quote,
    go_type,
    to_text,
    truth,
)

VERB = re.compile(r"%(?P<flags>[-+# 0]*)(?P<width>[0-9]+)?(?:\.(?P<prec>[0-9]*))?"
                   r"(?P<verb>.|$)", re.DOTALL)
VERBS = frozenset("vsdqxXobcfFeEgGt%")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pad(text: str, flags: str, width: str | None, zero_ok: bool = False) -> str:
    if not width or len(text) >= int(width):
        return text
    n = int(width)
    if "-" in flags:
        return text.ljust(n)
    if "0" in flags and zero_ok:
        sign = text[0] if text[:1] in "+- " and text[:1] else ""
        return sign + text[len(sign):].rjust(n - len(sign), "0")
    return text.rjust(n)


def _format_one(verb: str, flags: str, width: str | None, prec: str | None, value: Any) -> str:
    bad = TemplateExecError(f"printf: %{verb} cannot format {go_type(value)} {value!r}")
    if verb in "vs":
        if verb == "s" and not isinstance(value, (str, list, dict, GoObject)):
            raise bad
        text = to_text(value)
        if prec is not None and verb == "s":
            text = text[:int(prec or 0)]
        return _pad(text, flags, width)
    if verb == "q":
        if is_int(value):
            return _pad("'" + chr(value) + "'", flags, width)
        if not isinstance(value, str):
            raise bad
        return _pad(go_quote(value), flags, width)
    if verb == "t":
        if not isinstance(value, bool):
            raise bad
        return _pad(to_text(value), flags, width)
    if verb == "c":
        if not is_int(value):
            raise bad
        return _pad(chr(value), flags, width)
    if verb in "xX" and isinstance(value, str):
        text = value.encode("utf-8").hex()
        return _pad(text.upper() if verb == "X" else text, flags, width)
    if verb in "dxXob":
        if not is_int(value):
            raise bad
        sign = "-" if value < 0 else "+" if "+" in flags else " " if " " in flags else ""
        digits = format(abs(value), {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
        if "#" in flags:
            digits = {"x": "0x", "X": "0X", "o": "0", "b": ""}.get(verb, "") + digits
        if prec:
            digits = digits.rjust(int(prec), "0")
        return _pad(sign + digits, flags, width, zero_ok=not prec)
    # floats: f F e E g G
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise bad
    value = float(value)
    if verb in "gG" and prec is None:
        text = go_float(value)
        text = text.upper() if verb == "G" else text
        if "+" in flags and value >= 0:
            text = "+" + text
    else:
        py_flags = "".join(f for f in "+ #" if f in flags)
        text = f"%{py_flags}.{int(prec or 0) if prec is not None else 6}{verb}" % value
    return _pad(text, flags, width, zero_ok=True)


def sprintf(fmt: str, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` for the supported verbs; wrong or missing arguments raise."""
    out = []
    pos = 0
    argi = 0
    for m in VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        verb = m.group("verb")
        if verb == "%":
            out.append("%")
            continue
        if verb not in VERBS:
            raise TemplateExecError(f"printf: verb %{verb} is not supported")
        if argi >= len(args):
            raise TemplateExecError(f"printf: missing argument for %{verb}")
        out.append(_format_one(verb, m.group("flags"), m.group("width"), m.group("prec"),
                               args[argi]))
        argi += 1
    out.append(fmt[pos:])
    if argi < len(args):
        raise TemplateExecError(f"printf: {len(args) - argi} extra argument(s)")
    return "".join(out)


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise TemplateExecError(f"invalid type for comparison: {go_type(value)}")


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise TemplateExecError("missing argument for comparison")
    kind = _basic_kind(first)
    for other in others:
        if _basic_kind(other) != kind:
            raise TemplateExecError("incompatible types for comparison")
        if first == other:
            return True
    return False


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    kind = _basic_kind(a)
    if kind == "bool":
        raise TemplateExecError("invalid type for comparison")
    if _basic_kind(b) != kind:
        raise TemplateExecError("incompatible types for comparison")
    return a, b


def _index(item: Any, *indexes: Any) -> Any:
    for index in indexes:
        if item is None or item is NO_VALUE:
            raise TemplateExecError("index of untyped nil")
        if isinstance(item, dict):
            item = item.get(index, "")
        elif isinstance(item, (list, tuple, str)):
            if not is_int(index):
                raise TemplateExecError(f"cannot index slice/array with type {go_type(index)}")
            if not 0 <= index < len(item):
                raise TemplateExecError(f"error calling index: index out of range: {index}")
            item = item[index] if not isinstance(item, str) else item.encode()[index]
        else:
            raise TemplateExecError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if not isinstance(item, (list, tuple, str)):
        raise TemplateExecError(f"can't slice item of type {go_type(item)}")
    if len(indexes) > 2:
        raise TemplateExecError("too many slice indexes")
    bounds = [0, len(item)]
    for i, index in enumerate(indexes):
        if not is_int(index) or not 0 <= index <= len(item):
            raise TemplateExecError(f"error calling slice: index out of range: {index}")
        bounds[i] = index
    if bounds[0] > bounds[1]:
        raise TemplateExecError("error calling slice: invalid slice index")
    return item[bounds[0]:bounds[1]]


def _len(item: Any) -> int:
    if isinstance(item, (str, list, tuple, dict)):
        return len(item.encode() if isinstance(item, str) else item)
    raise TemplateExecError(f"error calling len: len of type {go_type(item)}")


def _sprint(*args: Any) -> str:
    out = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(to_text(arg))
    return "".join(out)


def parse_uint(text: Any, base: Any, bits: Any) -> int:
    """Go's ``strconv.ParseUint`` (CoreDNS's ``parseInt`` template function)."""
    if not isinstance(text, str) or not is_int(base) or not is_int(bits):
        raise TemplateExecError("parseInt takes a string, a base and a bit size")
    error = TemplateExecError(f'error calling parseInt: strconv.ParseUint: parsing '
                              f'{go_quote(text)}: invalid syntax')
    digits = text
    if base == 0:
        base = 10
        lower = digits.lower()
        if lower.startswith(("0x", "0b", "0o")):
            base = {"x": 16, "b": 2, "o": 8}[lower[1]]
            digits = digits[2:]
        elif lower.startswith("0") and len(lower) > 1:
            base, digits = 8, digits[1:]
        if "_" in digits:
            if not re.fullmatch(r"[0-9a-zA-Z]+(?:_[0-9a-zA-Z]+)*", digits):
                raise error
            digits = digits.replace("_", "")
    elif not 2 <= base <= 36:
        raise TemplateExecError(f"error calling parseInt: strconv.ParseUint: parsing "
                                f"{go_quote(text)}: invalid base {base}")
    if bits == 0:
        bits = 64
    elif not 0 < bits <= 64:
        raise TemplateExecError(f"error calling parseInt: strconv.ParseUint: parsing "
                                f"{go_quote(text)}: invalid bit size {bits}")
    if not digits or not re.fullmatch(r"[0-9a-zA-Z]+", digits):
        raise error
    try:
        value = int(digits, base)
    except ValueError:
        raise error from None
    if value >= 1 << bits:
        raise TemplateExecError(f'error calling parseInt: strconv.ParseUint: parsing '
                                f'{go_quote(text)}: value out of range')
    return value


#: name -> (callable, number of arguments or None for any)
Funcs = Mapping[str, tuple[Callable[..., Any], int | None]]

BUILTINS: dict[str, tuple[Callable[..., Any], int | None]] = {
    "not": (lambda x: not truth(x), 1),
    "len": (_len, 1),
    "index": (_index, None),
    "slice": (_slice, None),
    "print": (_sprint, None),
    "println": (lambda *a: " ".join(to_text(x) for x in a) + "\n", None),
    "printf": (lambda fmt, *a: sprintf(fmt, *a) if isinstance(fmt, str)
               else _raise(TemplateExecError("printf: format is not a string")), None),
    "eq": (_eq, None),
    "ne": (lambda a, b: not _eq(a, b), 2),
    "lt": (lambda a, b: (lambda x, y: x < y)(*_ordered(a, b)), 2),
    "le": (lambda a, b: (lambda x, y: x <= y)(*_ordered(a, b)), 2),
    "gt": (lambda a, b: (lambda x, y: x > y)(*_ordered(a, b)), 2),
    "ge": (lambda a, b: (lambda x, y: x >= y)(*_ordered(a, b)), 2),
    # and/or are evaluated lazily by the executor; listed so the parser knows them
    "and": (lambda *a: a[-1], None),
    "or": (lambda *a: a[-1], None),
}
UNSUPPORTED_FUNCS = frozenset(("html", "js", "urlquery", "call"))


def _raise(exc: Exception) -> Any:
    raise exc
