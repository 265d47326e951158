"""Domain names as text, the way a query gives them, compared the way CoreDNS compares them.

A name here is in presentation format, absolute and lower-case, escaped as dnspython prints
it: ``Request.qname_lower`` is one, and :func:`normalize` makes one from a configured name. An
escaped dot is part of a label, so ``a\\.example.org.`` is the label ``a.example`` under
``org.``, not a name in ``example.org.``. Octets are what count (RFC 1035 5.1, RFC 4343):
``\\065.Example.ORG`` normalizes to ``a.example.org.``, the text a query for that name has.
Comparing normalized text is what makes :func:`is_subdomain` (``dns.IsSubDomain``) and
:func:`longest_match` (``plugin.Zones.Matches``) case-insensitive without lower-casing per
query; only a backslash just before a dot costs an extra look back. :class:`ZoneIndex` is
the router's per-query lookup over a fixed set of zones.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Label octets printed after a backslash; the others outside PLAIN as ``\\DDD`` (dnspython).
_SPECIAL = b'"().;\\@$'
#: Label octets printed as they are.
PLAIN = bytes(c for c in range(0x21, 0x7F) if c not in _SPECIAL)
#: octet -> its text in a label
_TEXT = tuple(chr(c) if c in PLAIN else "\\" + chr(c) if c in _SPECIAL else f"\\{c:03d}"
              for c in range(256))
#: a name made only of these needs no escape decoding to normalize
_PLAIN_TEXT = frozenset(PLAIN.decode("ascii") + ".")


def label_text(label: bytes) -> str:
    """A label's presentation text: ``b"a.b"`` -> ``a\\.b``, ``b"\\x00"`` -> ``\\000``."""
    return "".join([_TEXT[c] for c in label])


def name_text(labels: Iterable[bytes]) -> str:
    """The absolute name made of ``labels`` (the root's empty one left out), as text."""
    return "".join([label_text(label) + "." for label in labels]) or "."


def normalize(name: str) -> str:
    """A configured name as a query shows it: ``Example.ORG`` -> ``example.org.``.

    Escapes become the canonical ones (``\\065`` -> ``a``, ``\\046`` -> ``\\.``), other
    characters outside plain ASCII are escaped (as their UTF-8 octets), and a backslash that
    starts no valid escape stands for itself. Never raises: a malformed name just matches
    nothing.
    """
    if _PLAIN_TEXT.issuperset(name):
        name = name.lower()
        return name if name.endswith(".") else name + "."
    labels = _labels(name)
    if not labels[-1]:
        labels.pop()  # the root's: the name is absolute already
    return name_text([label.lower() for label in labels])


def _labels(text: str) -> list[bytearray]:
    """The octets of each label of ``text``, escapes decoded; a final empty label when
    ``text`` ends with a (real) dot."""
    labels = [bytearray()]
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == ".":
            labels.append(bytearray())
            i += 1
            continue
        if char == "\\":
            digits = text[i + 1:i + 4]
            if len(digits) == 3 and digits.isascii() and digits.isdigit() and int(digits) < 256:
                labels[-1].append(int(digits))
                i += 4
                continue
            if i + 1 < n and not text[i + 1].isdigit():
                i += 1
                char = text[i]  # \X is X
        labels[-1].extend(char.encode("utf-8"))
        i += 1
    return labels


def _escaped(name: str, i: int) -> bool:
    """Whether the character at ``i`` is escaped: an odd run of backslashes before it."""
    start = i
    while start and name[start - 1] == "\\":
        start -= 1
    return (i - start) % 2 == 1


def parent(name: str) -> str:
    """The name one label up: ``a\\.b.example.org.`` -> ``example.org.``; the root's is the
    root."""
    dot = name.index(".")
    while dot and name[dot - 1] == "\\" and _escaped(name, dot):
        dot = name.index(".", dot + 1)
    return name[dot + 1:] or "."


def is_subdomain(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` or below it, label by label (``dns.IsSubDomain``)."""
    if zone == ".":
        return True
    cut = len(name) - len(zone) - 1
    if cut < 0:
        return name == zone
    return (name.endswith(zone) and name[cut] == "."
            and not (name[cut - 1] == "\\" and _escaped(name, cut)))


def longest_match(zones: Iterable[str], name: str) -> str | None:
    """The longest of ``zones`` holding ``name``, or None (CoreDNS's ``Zones.Matches``)."""
    best = None
    for zone in zones:
        if (best is None or len(zone) > len(best)) and is_subdomain(name, zone):
            best = zone
    return best


class ZoneIndex:
    """A fixed set of zones, for a :func:`longest_match` every query makes (the router's).

    Only the suffixes as long as some zone are tried, longest first: one set lookup per
    distinct zone length (usually one or two), however deep the name.
    """

    __slots__ = ("_lengths", "_root", "_zones")

    def __init__(self, zones: Iterable[str]) -> None:
        self._zones = frozenset(zones)
        self._lengths = sorted({len(zone) for zone in self._zones if zone != "."}, reverse=True)
        self._root = "." if "." in self._zones else None

    def longest(self, name: str) -> str | None:
        """The longest zone holding ``name``, or None."""
        zones = self._zones
        n = len(name)
        for length in self._lengths:
            cut = n - length - 1
            if cut == -1:
                if name in zones:
                    return name
            elif (cut >= 0 and name[cut] == "."
                  and not (name[cut - 1] == "\\" and _escaped(name, cut))):
                suffix = name[cut + 1:]
                if suffix in zones:
                    return suffix
        return self._root

    def holding(self, name: str) -> list[str]:
        """Every zone holding ``name``, longest first (the root, if there, last)."""
        return sorted((zone for zone in self._zones if is_subdomain(name, zone)),
                      key=len, reverse=True)
