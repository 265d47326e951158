"""CoreDNS's response typing (``plugin/pkg/response``): what kind of answer a reply is.

:func:`typify` names a reply's :class:`Type` (NOERROR, NXDOMAIN, NODATA, a delegation, ...)
as CoreDNS's ``Typify`` does, and :func:`classify` folds a type into the :class:`Class` a
user filters on (``log { class denial }``). The cache decides from the type whether and how
long a reply is kept, *minimal* whether it is cut, *log* whether it is logged.

A reply is wire bytes (forward, cache: read with :mod:`twisted_dns.wire`, never decoded) or
a dnspython Message (file, template); both are read for the same few facts, which one
function types.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from enum import Enum

import dns.message

from twisted_dns import wire


class Type(str, Enum):
    """CoreDNS's ``response.Type``; the value (and ``str()``) is its ``String()``."""

    #: a positive reply
    NOERROR = "NOERROR"
    #: NXDOMAIN in the header
    NAMEERROR = "NXDOMAIN"
    #: SERVFAIL or NOTIMP, the errors CoreDNS caches
    SERVERERROR = "SERVERERROR"
    #: the name exists, the type does not: NOERROR in the header, SOA in the authority
    NODATA = "NODATA"
    #: a referral: NOERROR in the header, NS in the authority
    DELEGATION = "DELEGATION"
    #: NOTIFY, or a zone transfer (AXFR/IXFR question)
    META = "META"
    #: a dynamic update
    UPDATE = "UPDATE"
    #: anything else (REFUSED, FORMERR, an expired signature, nothing written): never cached
    OTHERERROR = "OTHERERROR"

    __str__ = str.__str__


class Class(str, Enum):
    """CoreDNS's ``response.Class``: the sets of types ``log { class ... }`` names."""

    ALL = "all"
    SUCCESS = "success"
    DENIAL = "denial"
    ERROR = "error"

    __str__ = str.__str__


def class_from_string(text: str) -> Class:
    """CoreDNS's ``ClassFromString``: ``success`` -> SUCCESS; ValueError otherwise."""
    try:
        return Class(text)
    except ValueError:
        raise ValueError(f"invalid Class: {text}") from None


_CLASSES = {Type.NOERROR: Class.SUCCESS, Type.DELEGATION: Class.SUCCESS,
            Type.NAMEERROR: Class.DENIAL, Type.NODATA: Class.DENIAL}


def classify(response_type: Type) -> Class:
    """CoreDNS's ``Classify``: success, denial or error."""
    return _CLASSES.get(response_type, Class.ERROR)


def typify(reply: bytes | dns.message.Message | None, now: float) -> Type:
    """CoreDNS's ``Typify`` of ``reply`` at UNIX time ``now`` (RRSIGs are judged by it when
    the reply has the DO bit).

    ``None`` (nothing was written) and bytes that are not a DNS message are OTHERERROR.
    """
    if reply is None:
        return Type.OTHERERROR
    if isinstance(reply, dns.message.Message):
        return _typify_message(reply, now)
    try:
        return _typify_wire(reply, now)
    except (IndexError, struct.error, wire.Malformed):
        return Type.OTHERERROR


def _typify(flags: int, rcode: int, qtype: int | None, answers: bool, soa: bool, ns: bool,
            expired: bool) -> Type:
    """The rules of ``Typify`` (``plugin/pkg/response/typify.go``), from what a reader found:
    the header flags, the rcode with its extended bits, the first question's type, whether
    there are answers, an SOA or NS record in the authority, an RRSIG (of a DO reply) out of
    its validity period."""
    opcode = (flags >> 11) & 0xF
    if opcode == wire.OPCODE_UPDATE:
        return Type.UPDATE
    if opcode == wire.OPCODE_NOTIFY or qtype == wire.TYPE_AXFR or qtype == wire.TYPE_IXFR:
        return Type.META
    if expired:
        return Type.OTHERERROR
    if answers:
        if rcode == wire.NOERROR:
            return Type.NOERROR
        if rcode == wire.NXDOMAIN:  # a name that answers and does not exist
            return Type.OTHERERROR
    if soa and rcode == wire.NOERROR:
        return Type.NODATA
    if rcode == wire.NXDOMAIN:
        return Type.NAMEERROR
    if rcode == wire.SERVFAIL or rcode == wire.NOTIMP:
        return Type.SERVERERROR
    if ns and rcode == wire.NOERROR:
        return Type.DELEGATION
    if rcode == wire.NOERROR:
        return Type.NOERROR
    return Type.OTHERERROR


_SIG_TIMES = struct.Struct("!II")


def _typify_wire(data: bytes, now: float) -> Type:
    """:func:`_typify` of wire bytes, read in one pass over the records."""
    _id, flags, qd, an, ns, ar = wire.HEADER.unpack_from(data)
    off = 12
    qtype = None
    if qd:
        off = wire.skip_name(data, off)
        qtype = (data[off] << 8) | data[off + 1]
        off = wire.skip_questions(data, off + 4, qd - 1)
    unpack = wire.RR_FIXED.unpack_from
    authority_end = an + ns
    soa = referral = do = False
    ext_rcode = 0
    signatures = []
    for index in range(authority_end + ar):
        off = wire.skip_name(data, off)
        rtype, _class, ttl, rdlen = unpack(data, off)
        rdata = off + 10
        off = rdata + rdlen
        if rtype == wire.TYPE_RRSIG:
            # type covered (2), algorithm (1), labels (1), original TTL (4), then the times
            signatures.append(_SIG_TIMES.unpack_from(data, rdata + 8))
        elif index >= authority_end:
            if rtype == wire.TYPE_OPT:
                ext_rcode, do = ttl >> 24, bool(ttl & wire.DO)
        elif index >= an:
            if rtype == wire.TYPE_SOA:
                soa = True
            elif rtype == wire.TYPE_NS:
                referral = True
    if off > len(data):
        raise wire.Malformed("record data runs past the message")
    return _typify(flags, (ext_rcode << 4) | (flags & 0xF), qtype, an > 0, soa, referral,
                   do and _expired(signatures, now))


def _typify_message(message: dns.message.Message, now: float) -> Type:
    """:func:`_typify` of a dnspython Message."""
    soa = referral = False
    for rrset in message.authority:
        if rrset.rdtype == wire.TYPE_SOA:
            soa = True
        elif rrset.rdtype == wire.TYPE_NS:
            referral = True
    expired = bool(message.ednsflags & wire.DO) and _expired(
        ((sig.expiration, sig.inception)
         for section in (message.answer, message.authority, message.additional)
         for rrset in section if rrset.rdtype == wire.TYPE_RRSIG for sig in rrset), now)
    qtype = message.question[0].rdtype if message.question else None
    return _typify(message.flags, message.rcode(), qtype, bool(message.answer), soa,
                   referral, expired)


_YEAR68 = 1 << 31


def _expired(signatures: Iterable[tuple[int, int]], now: float) -> bool:
    """Whether a signature's (expiration, inception) leaves ``now`` outside its validity
    period: miekg/dns's ``RRSIG.ValidityPeriod``, RFC 1982 serial arithmetic on 32-bit
    times, with Go's integer division (towards zero)."""
    utc = int(now)
    for expiration, inception in signatures:
        if not (inception + _go_div(inception - utc) * _YEAR68 <= utc
                <= expiration + _go_div(expiration - utc) * _YEAR68):
            return True
    return False


def _go_div(value: int) -> int:
    """``value / 2**31`` as Go divides integers: truncated towards zero."""
    return value // _YEAR68 if value >= 0 else -(-value // _YEAR68)
