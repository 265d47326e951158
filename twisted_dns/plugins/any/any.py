"""The *any* handler: answers qtype ANY with one HINFO record, as RFC 8482 suggests."""

from __future__ import annotations

from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg import chain

NAME = "any"

ANY = 255
HINFO = 13
IN = 1
#: CoreDNS's record: ``<qname> 8482 IN HINFO "ANY obsoleted" "See RFC 8482"``
TTL = 8482
CPU = b"ANY obsoleted"
OS = b"See RFC 8482"


def _character_string(text: bytes) -> bytes:
    return bytes([len(text)]) + text


#: the whole answer record; its owner is a pointer to the question name, so it never changes
_ANSWER = wire.rr(wire.QNAME_POINTER, HINFO, IN, TTL,
                  _character_string(CPU) + _character_string(OS))


@implementer(IPlugin)
class Any:
    """Answers every ``ANY`` query (any class) with the HINFO above; others go to ``next``."""

    def __init__(self, next_plugin) -> None:
        self.next = next_plugin

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer):  # noqa: N802 - the IPlugin contract
        if request.qtype != ANY:
            return chain.next_or_failure(NAME, self.next, request, writer)
        writer.write(wire.reply(request, answer=(_ANSWER,)))
        return 0
