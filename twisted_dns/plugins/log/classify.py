"""CoreDNS's response types and classes (``plugin/pkg/response``), for ``log { class ... }``.

``typify`` names what kind of answer a reply is (NOERROR, NXDOMAIN, NODATA, delegation, ...);
``classify`` folds that into the classes a user filters on: ``success``, ``denial`` and
``error`` (``all`` matches everything).
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

NOERROR, NAMEERROR, SERVERERROR, NODATA, DELEGATION, META, UPDATE, OTHERERROR = (
    "NOERROR", "NXDOMAIN", "SERVERERROR", "NODATA", "DELEGATION", "META", "UPDATE", "OTHERERROR")

ALL, SUCCESS, DENIAL, ERROR = "all", "success", "denial", "error"
CLASSES = (ALL, SUCCESS, DENIAL, ERROR)

_YEAR68 = 1 << 31  # RFC 1982 serial arithmetic on 32-bit signature times


def class_from_string(text: str) -> str:
    """``success`` -> SUCCESS; ValueError("invalid Class: ...") for anything else."""
    if text in CLASSES:
        return text
    raise ValueError(f"invalid Class: {text}")


def _as_message(reply: Any) -> dns.message.Message | None:
    if reply is None or isinstance(reply, dns.message.Message):
        return reply
    try:
        return dns.message.from_wire(bytes(reply), ignore_trailing=True)
    except Exception:
        return None


def _trunc_div(value: int) -> int:
    """Go's integer division by 2**31 (towards zero)."""
    return value // _YEAR68 if value >= 0 else -(-value // _YEAR68)


def _expired(message: dns.message.Message, now: float) -> bool:
    """Whether any RRSIG in the message is outside its validity period at ``now``."""
    utc = int(now)
    for section in (message.answer, message.authority, message.additional):
        for rrset in section:
            if rrset.rdtype != dns.rdatatype.RRSIG:
                continue
            for sig in rrset:
                inception = sig.inception + _trunc_div(sig.inception - utc) * _YEAR68
                expiration = sig.expiration + _trunc_div(sig.expiration - utc) * _YEAR68
                if not inception <= utc <= expiration:
                    return True
    return False


def typify(reply: Any, now: float) -> str:
    """The type of a reply (a Message, wire bytes or None for "nothing written")."""
    message = _as_message(reply)
    if message is None:
        return OTHERERROR
    opcode = message.opcode()
    if opcode == dns.opcode.UPDATE:
        return UPDATE
    if opcode == dns.opcode.NOTIFY:
        return META
    qtype = message.question[0].rdtype if message.question else None
    if qtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
        return META
    if message.ednsflags & dns.flags.DO and _expired(message, now):
        return OTHERERROR
    rcode = message.rcode()
    answer = message.answer
    address_lookup = qtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
    if answer and rcode == dns.rcode.NOERROR:
        if address_lookup and not any(rrset.rdtype == qtype for rrset in answer):
            return NODATA
        return NOERROR
    soa = False
    ns = 0
    for rrset in message.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            soa = True
        elif rrset.rdtype == dns.rdatatype.NS:
            ns += 1
    if soa and rcode == dns.rcode.NOERROR:
        return NODATA
    if soa and rcode == dns.rcode.NXDOMAIN:
        return NAMEERROR
    if rcode in (dns.rcode.SERVFAIL, dns.rcode.NOTIMP):
        return SERVERERROR
    if ns and rcode == dns.rcode.NOERROR:
        return DELEGATION
    if rcode == dns.rcode.NOERROR:
        return NOERROR
    return OTHERERROR


def classify(response_type: str) -> str:
    """The class of a response type: success, denial or error."""
    if response_type in (NOERROR, DELEGATION):
        return SUCCESS
    if response_type in (NAMEERROR, NODATA):
        return DENIAL
    return ERROR
