"""The *minimal* handler: drop the authority and additional sections of positive replies.

The chain below writes into a ``NonWriter``; the reply is then typed as CoreDNS's
``response.Typify`` does (:mod:`twisted_dns.pkg.response`), and only a NOERROR one (answers,
or an empty NOERROR that is neither NODATA nor a delegation) loses its authority and
additional records. The OPT record is hop-by-hop, not data, so it stays (as in CoreDNS, whose
server re-adds it).

Replies arrive as wire bytes (forward, cache) or as dnspython Messages (file, template):

- bytes are cut after the answer section and the OPT record appended again: no dnspython; a
  signed reply (TSIG, SIG(0)) is sent as it came, since cutting it would break the signature;
- a Message gets empty authority and additional lists (its OPT lives apart, in ``.opt``).
"""

from __future__ import annotations

import struct
from typing import Any

import dns.message
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.pkg.response import Type, typify
from twisted_dns.response import NonWriter

NAME = "minimal"

_SIGNATURES = frozenset((wire.TYPE_SIG, wire.TYPE_TKEY, wire.TYPE_TSIG))


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
    if typify(reply, now) != Type.NOERROR:
        return reply
    if isinstance(reply, dns.message.Message):
        reply.authority = []
        reply.additional = []
        return reply
    return _cut(reply)


def _cut(data: bytes) -> bytes:
    """Wire ``data`` cut after its answer section, its OPT record kept; unchanged when it has
    nothing to cut, is signed or does not read."""
    try:
        msg_id, flags, qd, an, ns, ar = wire.HEADER.unpack_from(data)
        if not (ns or ar):
            return data
        answer_end = off = wire.skip_records(data, wire.skip_questions(data, 12, qd), an)
        opt = b""
        for _ in range(ns + ar):
            start = off
            off = wire.skip_name(data, off)
            rtype, _class, _ttl, rdlen = wire.RR_FIXED.unpack_from(data, off)
            off += 10 + rdlen
            if rtype == wire.TYPE_OPT:
                opt = data[start:off]
            elif rtype in _SIGNATURES:
                return data
    except (IndexError, struct.error, wire.Malformed):
        return data
    return wire.HEADER.pack(msg_id, flags, qd, an, 0, 1 if opt else 0) + data[12:answer_end] + opt
