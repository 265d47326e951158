"""Read a reply once, at insert time, for everything the cache needs to keep and replay it.

``walk`` goes over the wire bytes with ``struct`` (no dnspython): header, the one question,
then every record's owner name (skipped, compressed or not), type, class, TTL and rdata
length. It returns where each TTL field sits (so a hit patches them in place), where the OPT
record starts (it is hop-by-hop: cut off and rebuilt for each client), the lowest TTL, the SOA
numbers of a denial, and CoreDNS's response type (``plugin/pkg/response.Typify``), which
decides whether and for how long the reply is cached.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from twisted_dns import wire
from twisted_dns.wire import (
    DO,
    HEADER,
    OPCODE_NOTIFY,
    OPCODE_UPDATE,
    RR_FIXED,
    TYPE_A,
    TYPE_AAAA,
    TYPE_AXFR,
    TYPE_IXFR,
    TYPE_NS,
    TYPE_OPT,
    TYPE_RRSIG,
    TYPE_SIG,
    TYPE_SOA,
    TYPE_TKEY,
    TYPE_TSIG,
    Malformed,
    skip_name,
)

_U32 = struct.Struct("!I")
_SIG_TIMES = struct.Struct("!II")

#: CoreDNS's response types (``response.Type``)
NOERROR, NAMEERROR, SERVERERROR, NODATA, DELEGATION, META, UPDATE, OTHERERROR = (
    "NOERROR", "NXDOMAIN", "SERVERERROR", "NODATA", "DELEGATION", "META", "UPDATE", "OTHERERROR")

_YEAR68 = 1 << 31


@dataclass(slots=True)
class Walked:
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
    type: str


def walk(data: bytes, now: float) -> Walked:
    """Walk a reply; raises :class:`Malformed` for anything but one well-formed message.

    ``now`` (UNIX seconds) judges RRSIG validity, as CoreDNS's typify does for DO replies.
    """
    try:
        return _walk(data, now)
    except (IndexError, struct.error):
        raise Malformed("message ends early") from None


def _walk(data: bytes, now: float) -> Walked:
    n = len(data)
    _id, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    if qd != 1:
        raise Malformed(f"{qd} questions")
    off = skip_name(data, 12)
    qtype = (data[off] << 8) | data[off + 1]
    off += 4
    question_end = off
    unpack = RR_FIXED.unpack_from
    ttl_offsets: list[int] = []
    min_ttl: int | None = None
    soa_minimum: int | None = None
    authority_soa = authority_ns = 0
    answer_has_qtype = False
    rrsigs: list[int] = []
    body_end = n
    ext_rcode = 0
    do = False
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
            ext_rcode = ttl >> 24
            do = bool(ttl & DO)
        elif rtype in (TYPE_TSIG, TYPE_TKEY) or (rtype == TYPE_SIG and index == total - 1):
            raise Malformed("a signed (TSIG/SIG(0)) message is per transaction")
        else:
            ttl_offsets.append(off + 4)
            if min_ttl is None or ttl < min_ttl:
                min_ttl = ttl
            if index < an:
                answer_has_qtype = answer_has_qtype or rtype == qtype
            elif index < an + ns:
                if rtype == TYPE_SOA:
                    authority_soa += 1
                    if soa_minimum is None:
                        # MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM
                        tail = skip_name(data, skip_name(data, rdata))
                        soa_minimum = _U32.unpack_from(data, tail + 16)[0]
                elif rtype == TYPE_NS:
                    authority_ns += 1
            if rtype == TYPE_RRSIG:
                rrsigs.append(rdata)
        off = end
    if off != n:
        raise Malformed("trailing bytes after the last record")
    rcode = (ext_rcode << 4) | (flags & 0xF)
    kind = _typify(flags, rcode, qtype, an, answer_has_qtype, authority_soa, authority_ns,
                   do and _expired(data, rrsigs, now))
    return Walked(flags, question_end, an, ns, ar - (body_end != n), body_end,
                  ttl_offsets, min_ttl, soa_minimum, kind)


def _typify(flags: int, rcode: int, qtype: int, an: int, answer_has_qtype: bool,
            soa: int, ns: int, expired: bool) -> str:
    """CoreDNS's ``response.Typify`` from what the walk found."""
    opcode = (flags >> 11) & 0xF
    if opcode == OPCODE_UPDATE:
        return UPDATE
    if opcode == OPCODE_NOTIFY or qtype in (TYPE_AXFR, TYPE_IXFR):
        return META
    if expired:
        return OTHERERROR
    if an and rcode == wire.NOERROR:
        if qtype in (TYPE_A, TYPE_AAAA) and not answer_has_qtype:
            return NODATA
        return NOERROR
    if soa and rcode == wire.NOERROR:
        return NODATA
    if soa and rcode == wire.NXDOMAIN:
        return NAMEERROR
    if rcode in (wire.SERVFAIL, wire.NOTIMP):
        return SERVERERROR
    if ns and rcode == wire.NOERROR:
        return DELEGATION
    if rcode == wire.NOERROR:
        return NOERROR
    return OTHERERROR


def _expired(data: bytes, rrsigs: list[int], now: float) -> bool:
    """Whether an RRSIG (by rdata offset) is outside its validity period (RFC 1982 serial
    arithmetic)."""
    utc = int(now)
    for rdata in rrsigs:
        # type covered (2), algorithm (1), labels (1), original TTL (4), then the two times
        expiration, inception = _SIG_TIMES.unpack_from(data, rdata + 8)
        inception += _trunc_div(inception - utc) * _YEAR68
        expiration += _trunc_div(expiration - utc) * _YEAR68
        if not inception <= utc <= expiration:
            return True
    return False


def _trunc_div(value: int) -> int:
    """Go's integer division by 2**31 (towards zero)."""
    return value // _YEAR68 if value >= 0 else -(-value // _YEAR68)
