"""Names as a zone's index keys them: absolute text in lower case, as ``Request.qname_lower``."""

from __future__ import annotations

import dns.name


def key_of(name: dns.name.Name) -> str:
    """The lower-case text form of ``name``, the index's key for it."""
    return name.to_text().lower()
