"""Where the parts of a reply are: read once, at insert time, so a hit can replay the bytes.

``read_layout`` goes over the wire bytes with ``struct`` (no dnspython): header, the one
question, then every record's owner name (skipped, compressed or not), type, TTL and rdata
length. It returns where each TTL field sits (so a hit patches them in place), where the OPT
record starts (it is hop-by-hop: cut off and rebuilt for each client), the lowest TTL and the
SOA MINIMUM of a denial. Whether the reply is cached at all is its response type
(:func:`twisted_dns.pkg.response.typify`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from twisted_dns.wire import (
    HEADER,
    RR_FIXED,
    TYPE_OPT,
    TYPE_SIG,
    TYPE_SOA,
    TYPE_TKEY,
    TYPE_TSIG,
    Malformed,
    skip_name,
)

_U32 = struct.Struct("!I")


@dataclass(slots=True)
class Layout:
    """What one reply holds, by offsets into its bytes."""

    flags: int
    #: the question section's bytes (name, type, class): ``data[12:question_end]``
    question_end: int
    ancount: int
    nscount: int
    #: additional records other than the OPT
    arcount: int
    #: where the OPT record starts (it must be the last record), or ``len(data)``
    body_end: int
    #: the offset of every TTL field, OPT excluded
    ttl_offsets: list[int]
    #: the lowest record TTL (OPT excluded), None without records
    min_ttl: int | None
    #: the SOA MINIMUM of the first SOA in the authority section, None without one
    soa_minimum: int | None


def read_layout(data: bytes) -> Layout:
    """The layout of a reply; :class:`~twisted_dns.wire.Malformed` for anything but one
    well-formed message the cache could replay (one question, the OPT record last, no
    TSIG or SIG(0): those are per transaction)."""
    try:
        return _read(data)
    except (IndexError, struct.error):
        raise Malformed("message ends early") from None


def _read(data: bytes) -> Layout:
    n = len(data)
    _id, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    if qd != 1:
        raise Malformed(f"{qd} questions")
    off = skip_name(data, 12) + 4
    question_end = off
    unpack = RR_FIXED.unpack_from
    ttl_offsets: list[int] = []
    min_ttl: int | None = None
    soa_minimum: int | None = None
    body_end = n
    total = an + ns + ar
    for index in range(total):
        start = off
        off = skip_name(data, off)
        rtype, _rclass, ttl, rdlen = unpack(data, off)
        rdata = off + 10
        end = rdata + rdlen
        if end > n:
            raise Malformed("record data runs past the message")
        if rtype == TYPE_OPT:
            if index != total - 1 or index < an + ns:
                raise Malformed("the OPT record is not the last record")
            body_end = start
        elif rtype in (TYPE_TSIG, TYPE_TKEY) or (rtype == TYPE_SIG and index == total - 1):
            raise Malformed("a signed (TSIG/SIG(0)) message is per transaction")
        else:
            ttl_offsets.append(off + 4)
            if min_ttl is None or ttl < min_ttl:
                min_ttl = ttl
            if soa_minimum is None and rtype == TYPE_SOA and an <= index < an + ns:
                # MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM
                tail = skip_name(data, skip_name(data, rdata))
                soa_minimum = _U32.unpack_from(data, tail + 16)[0]
        off = end
    if off != n:
        raise Malformed("trailing bytes after the last record")
    return Layout(flags, question_end, an, ns, ar - (body_end != n), body_end, ttl_offsets,
                  min_ttl, soa_minimum)
