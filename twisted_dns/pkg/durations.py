"""Go durations, as Corefiles write them (``5s``, ``1m30s``, ``100ms``, ``1.5h``).

CoreDNS reads every duration option with Go's ``time.ParseDuration`` and prints durations with
``time.Duration.String`` (so ``consolidate 5m`` reports "in last 5m0s"). Both are mirrored here
exactly, including the error texts, on integer nanoseconds so nothing is lost to floats::

    >>> d = parse_duration("1m30s")
    >>> d.seconds, str(d)
    (90.0, '1m30s')
"""

from __future__ import annotations

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek small letter mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}

_MAX = (1 << 63) - 1  # Go's Duration is an int64 of nanoseconds
_DIGITS = "0123456789"


class Duration(int):
    """A Go ``time.Duration``: an int of nanoseconds that prints the way Go prints it."""

    @classmethod
    def from_seconds(cls, seconds: float) -> Duration:
        return cls(round(seconds * SECOND))

    @property
    def seconds(self) -> float:
        """The duration in (float) seconds, for ``reactor.callLater``."""
        return int(self) / SECOND

    def __str__(self) -> str:
        return format_duration(int(self))

    def __repr__(self) -> str:
        return f"Duration({format_duration(int(self))!r})"


def _quote(text: str) -> str:
    """Go's ``strconv.Quote`` for the texts that end up in error messages."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def parse_duration(text: str) -> Duration:
    """Parse a Go duration; raises ``ValueError`` with Go's message (``time: invalid ...``)."""
    orig = text
    neg = False
    if text and text[0] in "+-":
        neg = text[0] == "-"
        text = text[1:]
    if text == "0":
        return Duration(0)
    if not text:
        raise ValueError(f"time: invalid duration {_quote(orig)}")
    total = 0
    while text:
        if text[0] != "." and text[0] not in _DIGITS:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
        i = 0
        while i < len(text) and text[i] in _DIGITS:
            i += 1
        whole = int(text[:i]) if i else 0
        pre = i > 0
        text = text[i:]
        frac_digits = ""
        post = False
        if text.startswith("."):
            text = text[1:]
            i = 0
            while i < len(text) and text[i] in _DIGITS:
                i += 1
            frac_digits = text[:i]
            post = i > 0
            text = text[i:]
        if not pre and not post:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
        i = 0
        while i < len(text) and text[i] != "." and text[i] not in _DIGITS:
            i += 1
        if i == 0:
            raise ValueError(f"time: missing unit in duration {_quote(orig)}")
        unit_text, text = text[:i], text[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise ValueError(
                f"time: unknown unit {_quote(unit_text)} in duration {_quote(orig)}")
        value = whole * unit
        if frac_digits:
            # Go truncates the fraction to whole nanoseconds.
            value += int(frac_digits) * unit // 10 ** len(frac_digits)
        total += value
        if total > _MAX + (1 if neg else 0):
            raise ValueError(f"time: invalid duration {_quote(orig)}")
    return Duration(-total if neg else total)


def _frac(value: int, precision: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of ``value`` (``precision`` digits), trailing zeros cut."""
    digits = []
    printed = False
    for _ in range(precision):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        value //= 10
    if not printed:
        return "", value
    return "." + "".join(reversed(digits)), value


def format_duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String``: ``0s``, ``1.5µs``, ``100ms``, ``1m30s``, ``5m0s``."""
    neg = nanoseconds < 0
    u = -nanoseconds if neg else nanoseconds
    sign = "-" if neg else ""
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < MICROSECOND:
            return f"{sign}{u}ns"
        if u < MILLISECOND:
            frac, whole = _frac(u, 3)
            return f"{sign}{whole}{frac}\u00b5s"
        frac, whole = _frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, secs = _frac(u, 9)
    out = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins:
        out = f"{mins % 60}m{out}"
        hours = mins // 60
        if hours:
            out = f"{hours}h{out}"
    return sign + out
