"""Names as a zone's index keys them: absolute text in lower case, as ``Request.qname_lower``."""

from __future__ import annotations

import dns.name


def key_of(name: dns.name.Name) -> str:
    """The lower-case text form of ``name``, the index's key for it."""
    return name.to_text().lower()


def parent(name: str) -> str:
    """The parent of an absolute text name (dnspython's escapes understood)."""
    if "\\" not in name:
        return name[name.index(".") + 1:] or "."
    i = 0
    while True:
        char = name[i]
        if char == "\\":
            i += 4 if name[i + 1].isdigit() else 2
        elif char == ".":
            return name[i + 1:] or "."
        else:
            i += 1
