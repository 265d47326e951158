"""The *minimal* handler: drop the authority and additional sections of positive replies.

The chain below writes into a ``NonWriter``; the reply is then classified as CoreDNS's
``response.Typify`` does, and only a NOERROR one (answers, or an empty NOERROR that is neither
NODATA nor a delegation) loses its authority and additional records. The OPT record is
hop-by-hop, not data, so it stays (as in CoreDNS, whose server re-adds it).

Replies arrive as wire bytes (forward, cache) or as dnspython Messages (file, template):

- bytes are walked with ``struct`` (the cache's walker, which implements the same Typify) and
  cut after the answer section, the OPT record appended again: no dnspython;
- a Message gets empty authority and additional lists (its OPT lives apart, in ``.opt``).
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.plugins.cache.walker import (
    DELEGATION,
    META,
    NAMEERROR,
    NODATA,
    NOERROR,
    OTHERERROR,
    SERVERERROR,
    UPDATE,
    walk,
)
from twisted_dns.response import NonWriter

NAME = "minimal"

_YEAR68 = 1 << 31


@implementer(IPlugin)
class Minimal:
    """Passes the query on and writes the reply below it, minimized when positive."""

    def __init__(self, next_plugin: Any, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.next = next_plugin
        #: the clock RRSIG validity is judged by (CoreDNS's Typify does so for DO replies)
        self.clock = reactor

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer):  # noqa: N802 - the IPlugin contract
        capture = NonWriter(writer)
        result = next_or_failure(NAME, self.next, request, capture)
        if isinstance(result, int):
            return self._finish(result, capture, writer)
        return as_deferred(result).addCallback(self._finish, capture, writer)

    def _finish(self, rcode: int, capture: NonWriter, writer: Any) -> int:
        if capture.written:
            writer.write(minimize(capture.reply, self.clock.seconds()))
        return rcode


def minimize(reply: bytes | dns.message.Message, now: float) -> bytes | dns.message.Message:
    """``reply`` without authority and additional records when it is a NOERROR reply."""
    if isinstance(reply, dns.message.Message):
        if typify(reply, now) == NOERROR:
            reply.authority = []
            reply.additional = []
        return reply
    try:
        walked = walk(reply, now)
    except wire.Malformed:
        return reply  # not ours to judge (a signed reply, junk): sent as it came
    if walked.type != NOERROR or not (walked.nscount or walked.arcount):
        return reply
    answer_end = wire.skip_records(reply, walked.question_end, walked.ancount)
    has_opt = walked.body_end != len(reply)
    msg_id, flags, qdcount, ancount, _ns, _ar = wire.HEADER.unpack_from(reply)
    header = wire.HEADER.pack(msg_id, flags, qdcount, ancount, 0, 1 if has_opt else 0)
    return header + reply[12:answer_end] + reply[walked.body_end:]


def typify(message: dns.message.Message, now: float) -> str:
    """CoreDNS's ``response.Typify`` for a dnspython Message (the walker's, for bytes)."""
    if message.opcode() == dns.opcode.UPDATE:
        return UPDATE
    qtype = message.question[0].rdtype if message.question else None
    if message.opcode() == dns.opcode.NOTIFY or qtype in (dns.rdatatype.AXFR,
                                                         dns.rdatatype.IXFR):
        return META
    if message.ednsflags & dns.flags.DO and _expired(message, now):
        return OTHERERROR
    rcode = message.rcode()
    if message.answer and rcode == dns.rcode.NOERROR:
        if qtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and not any(
                rrset.rdtype == qtype for rrset in message.answer):
            return NODATA
        return NOERROR
    types = [rrset.rdtype for rrset in message.authority]
    soa = dns.rdatatype.SOA in types
    if soa and rcode == dns.rcode.NOERROR:
        return NODATA
    if soa and rcode == dns.rcode.NXDOMAIN:
        return NAMEERROR
    if rcode in (dns.rcode.SERVFAIL, dns.rcode.NOTIMP):
        return SERVERERROR
    if dns.rdatatype.NS in types and rcode == dns.rcode.NOERROR:
        return DELEGATION
    return NOERROR if rcode == dns.rcode.NOERROR else OTHERERROR


def _expired(message: dns.message.Message, now: float) -> bool:
    """An RRSIG outside its validity period (RFC 1982 serial arithmetic, as miekg/dns)."""
    utc = int(now)
    for section in (message.answer, message.authority, message.additional):
        for rrset in section:
            if rrset.rdtype != dns.rdatatype.RRSIG:
                continue
            for sig in rrset:
                inception = sig.inception + int((sig.inception - utc) / _YEAR68) * _YEAR68
                expiration = sig.expiration + int((sig.expiration - utc) / _YEAR68) * _YEAR68
                if not inception <= utc <= expiration:
                    return True
    return False
