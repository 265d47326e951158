"""CoreDNS's placeholder replacer: ``{type} {name} {>id} {rcode} ...`` -> text, per query.

Used by *log* for its formats and by any plugin that lets users write such templates. A format
is parsed once (and cached); rendering walks its parts, so a query only pays for the
placeholders a format uses. The rules are CoreDNS's (``plugin/pkg/replacer``):

- Known labels: ``{type} {name} {class} {proto} {size} {remote} {port} {local}``, the request
  header ``{>id} {>opcode} {>do} {>bufsize}``, and from the recorded reply ``{rcode} {rsize}
  {duration} {>rflags}``.
- ``{/LABEL}`` is a metadata label: its value comes from ``request.metadata`` (a mapping of
  label to a string or to a callable returning one), ``-`` when it is not set.
- Anything else in braces (``{host}``, ``{when}``) stays as written.
- A format is split by finding each ``}`` and going back to the nearest ``{`` before it, so
  ``{ {type} }`` renders ``{ A }``.
- The reply placeholders are ``-`` without a recorder; ``{rcode}`` and ``{>rflags}`` are ``-``
  too when nothing was written (CoreDNS logs an unwritten SERVFAIL as ``- - 0``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

import dns.rdataclass
import dns.rdatatype

from twisted_dns.addresses import bracketed

#: what a placeholder without a value becomes
EMPTY_VALUE = "-"

#: CoreDNS's (miekg/dns) rcode names; other values print as numbers
RCODE_NAMES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
    16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG",
    22: "BADTRUNC", 23: "BADCOOKIE",
}

_FLAGS = (  # header bits in CoreDNS's order
    ("qr", 0x8000), ("aa", 0x0400), ("tc", 0x0200), ("rd", 0x0100), ("ra", 0x0080),
    ("z", 0x0040), ("ad", 0x0020), ("cd", 0x0010),
)

_LABEL, _LITERAL, _METADATA = 0, 1, 2


def rcode_text(rcode: int) -> str:
    """An rcode as CoreDNS prints it (``NXDOMAIN``, or the number when it has no name)."""
    return RCODE_NAMES.get(rcode, str(rcode))


def flags_text(flags: int) -> str:
    """Header flags as ``qr,aa,rd,ra`` (the set ones, in header order)."""
    return ",".join(name for name, bit in _FLAGS if flags & bit)


def addr_text(host: str | None) -> str:
    """An IP address for a log line: IPv6 in brackets (RFC 3986)."""
    return bracketed(host or "")


def seconds_text(seconds: float) -> str:
    """A duration as Go's ``FormatFloat(secs, 'f', -1, 64) + "s"``: ``0.000123456s``."""
    nanoseconds = round(seconds * 1e9)
    text = format(Decimal(repr(nanoseconds / 1e9)), "f")
    if text.endswith(".0"):
        text = text[:-2]
    return text + "s"


def buffer_size(request: Any) -> int:
    """CoreDNS's ``request.Size()``: 65535 over TCP, else the EDNS size, at least 512."""
    if request.proto != "udp":
        return 65535
    size = request.edns_payload if request.edns else 0
    return size if size > 512 else 512


def _reply_flags(recorder: Any) -> str:
    reply = getattr(recorder, "reply", None) if recorder is not None else None
    if reply is None:
        return EMPTY_VALUE
    if isinstance(reply, (bytes, bytearray, memoryview)):
        flags = int.from_bytes(bytes(reply[2:4]), "big")
    else:
        flags = reply.flags
    return flags_text(flags)


def _duration(recorder: Any, now: float | None) -> str:
    if now is None:
        from twisted.internet import reactor

        now = reactor.seconds()
    return seconds_text(now - recorder.start)


_Value = Callable[[Any, Any, "float | None"], str]

#: label -> value(request, recorder, now)
_VALUES: dict[str, _Value] = {
    "{type}": lambda r, rr, now: dns.rdatatype.to_text(r.qtype),
    "{name}": lambda r, rr, now: r.qname_lower,
    "{class}": lambda r, rr, now: dns.rdataclass.to_text(r.qclass),
    "{proto}": lambda r, rr, now: "udp" if r.proto == "udp" else "tcp",
    "{size}": lambda r, rr, now: str(len(r.wire)),
    "{remote}": lambda r, rr, now: addr_text(r.client_host),
    "{port}": lambda r, rr, now: str(r.client_port),
    "{local}": lambda r, rr, now: addr_text(r.server_host),
    "{>id}": lambda r, rr, now: str(r.id),
    "{>opcode}": lambda r, rr, now: str(r.opcode),
    "{>do}": lambda r, rr, now: "true" if r.do else "false",
    "{>bufsize}": lambda r, rr, now: str(buffer_size(r)),
    "{rcode}": lambda r, rr, now: (
        rcode_text(rr.rcode) if rr is not None and rr.written else EMPTY_VALUE),
    "{rsize}": lambda r, rr, now: str(rr.size) if rr is not None else EMPTY_VALUE,
    "{duration}": lambda r, rr, now: _duration(rr, now) if rr is not None else EMPTY_VALUE,
    "{>rflags}": lambda r, rr, now: _reply_flags(rr),
}

#: every label the replacer knows, in CoreDNS's order
LABELS = tuple(_VALUES)


def _metadata(request: Any, label: str) -> str:
    value = request.metadata_value(label)
    return EMPTY_VALUE if value is None else value


class Format:
    """A parsed format: literals, labels and metadata labels, in order."""

    __slots__ = ("nodes", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes = _parse(text)

    def render(self, request: Any, recorder: Any = None, now: float | None = None) -> str:
        """The format with ``request``'s (and the recorded reply's) values in place.

        ``recorder`` is a :class:`twisted_dns.response.Recorder` (or None before the reply);
        ``now`` is the reactor's time for ``{duration}`` (default: the global reactor's).
        """
        out = []
        for kind, value in self.nodes:
            if kind == _LITERAL:
                out.append(value)
            elif kind == _LABEL:
                out.append(_VALUES[value](request, recorder, now))
            else:
                out.append(_metadata(request, value))
        return "".join(out)

    def __repr__(self) -> str:
        return f"Format({self.text!r})"


def _parse(text: str) -> tuple[tuple[int, str], ...]:
    nodes: list[tuple[int, str]] = []
    literal = ""
    while True:
        end = text.find("}")
        if end < 0:
            break
        start = text.rfind("{", 0, end)
        if start < 0:
            # "A } {type}": "A }" is literal
            literal += text[:end + 1]
            text = text[end + 1:]
            continue
        label = text[start:end + 1]
        if label in _VALUES:
            nodes_add = (_LABEL, label)
        elif label.startswith("{/"):
            nodes_add = (_METADATA, label[2:-1])
        else:
            literal += text[:end + 1]
            text = text[end + 1:]
            continue
        literal += text[:start]
        if literal:
            nodes.append((_LITERAL, literal))
            literal = ""
        nodes.append(nodes_add)
        text = text[end + 1:]
    literal += text
    if literal:
        nodes.append((_LITERAL, literal))
    return tuple(nodes)


@lru_cache(maxsize=256)
def compile_format(text: str) -> Format:
    """The parsed :class:`Format` for ``text`` (cached: formats come from configuration)."""
    return Format(text)


def replace(text: str, request: Any, recorder: Any = None, now: float | None = None) -> str:
    """Render the format ``text`` for ``request`` (see :meth:`Format.render`)."""
    return compile_format(text).render(request, recorder, now)
