"""RFC 1982 serial number arithmetic on SOA serials (32 bits, wrapping at 2**32).

A serial is "greater" when it is less than half the number space ahead, so 0 follows
4294967295; two serials exactly half the space apart are neither (RFC 1982 3.2 leaves that
undefined; BIND says neither, as here). *file*, *auto*, *secondary* and *transfer* compare
serials with :func:`serial_greater`.
"""

from __future__ import annotations

_SPACE = 2**32
_HALF = 2**31


def serial_greater(new: int, old: int) -> bool:
    """RFC 1982: ``new`` is after ``old`` (``new`` > ``old`` in serial number arithmetic)."""
    return new != old and ((new - old) % _SPACE) < _HALF
