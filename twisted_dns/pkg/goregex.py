"""Go (RE2) regular expressions as Python ``re`` patterns, or a clear error.

The two dialects agree on everything *template* users write (``^ip-(?P<a>[0-9]+)[.]$``,
``\\.``, classes, repetition, ``(?i)``). The differences are translated:

- ``(?<name>re)`` (Go 1.22) -> ``(?P<name>re)``; ``\\z`` -> ``\\Z``; ``\\Q...\\E`` -> escaped
  text; ``\\x{HHHH}`` -> the character; POSIX classes ``[[:alpha:]]`` -> their ASCII sets;
- ``\\d \\w \\s \\b`` are ASCII-only in Go, so patterns compile with ``re.ASCII``;

and what one accepts but the other does not is refused, so a Corefile never means something
else here: RE2 has no look-around, backreferences, atomic groups, conditionals or ``(?#...)``
comments; Python has no ``\\p{...}`` classes, ``(?U)`` or flags in mid-pattern.
"""

from __future__ import annotations

import re

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z",
    "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_REFUSED_GROUPS = {
    "(?=": "look-ahead", "(?!": "negative look-ahead", "(?<=": "look-behind",
    "(?<!": "negative look-behind", "(?>": "atomic groups", "(?(": "conditionals",
    "(?#": "comments", "(?P=": "backreferences",
}


class RegexError(ValueError):
    """The pattern is not valid Go syntax, or uses what Python cannot do the same way."""


def translate(pattern: str) -> str:
    """The Python pattern meaning what ``pattern`` means to Go's ``regexp``."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= n:
                raise RegexError("trailing backslash at end of expression")
            escaped = pattern[i + 1]
            if escaped == "Q":
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2:end]))
                i = end + 2
                continue
            if escaped == "z":
                out.append("\\Z")
            elif escaped == "x" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise RegexError(f"invalid escape sequence: {pattern[i:]}")
                out.append(re.escape(chr(int(pattern[i + 3:end], 16))))
                i = end + 1
                continue
            elif escaped in "pP":
                raise RegexError(f"Unicode classes (\\{escaped}) are not supported")
            elif escaped.isdigit() and escaped != "0":
                raise RegexError(f"invalid escape sequence: \\{escaped} (no backreferences)")
            elif escaped in "ZGC":
                raise RegexError(f"invalid escape sequence: \\{escaped}")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2:end] if end > 0 else ""
                if name.startswith("^"):
                    raise RegexError(f"negated POSIX class [:{name}:] is not supported")
                if name not in _POSIX:
                    raise RegexError(f"invalid character class range: [:{name}:]")
                out.append(_POSIX[name])
                i = end + 2
                continue
            if char == "]":
                in_class = False
            elif char == "[":
                out.append("\\[")  # a literal '[' inside a class (Python warns otherwise)
                i += 1
                continue
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            i += 1
            # a ']' (or '^]') right after '[' is a literal
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        if char == "(" and pattern.startswith("(?", i):
            for prefix, what in _REFUSED_GROUPS.items():
                if pattern.startswith(prefix, i):
                    raise RegexError(f"{what} are not supported by Go regexp: {prefix}")
            if pattern.startswith("(?<", i):
                out.append("(?P<")
                i += 3
                continue
            if not pattern.startswith("(?P<", i):
                flags = _FLAGS.match(pattern, i)
                if flags is None:
                    raise RegexError(f"invalid or unsupported Perl syntax at {pattern[i:i + 4]}")
                letters = (flags.group(1) or "") + (flags.group(2) or "")
                if set(letters) - set("ims"):
                    raise RegexError(f"flag(s) {letters} are not supported (only i, m, s)")
                if flags.group(3) == ")" and flags.group(2) is not None:
                    raise RegexError("(?-flags) is not supported; use (?-flags:...)")
                if flags.group(3) == ")" and i != 0:
                    raise RegexError("flags in the middle of a pattern are not supported; "
                                     "use (?flags:...) or put them first")
        out.append(char)
        i += 1
    return "".join(out)


def compile_go(pattern: str) -> re.Pattern:
    """Compile a Go regular expression; raises :class:`RegexError`."""
    try:
        return re.compile(translate(pattern), re.ASCII)
    except re.error as exc:
        raise RegexError(str(exc)) from None
