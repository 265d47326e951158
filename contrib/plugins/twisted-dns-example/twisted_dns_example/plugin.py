"""*echoname*: answers TXT queries with the query name, as the client sent it.

A third-party plugin in miniature: ``setup`` is registered as the entry point
``echoname = twisted_dns_example.plugin:setup`` in the group ``twisted_dns.plugins``, and
``@position`` gives it a place in the chain because twisted-dns's ``plugin.cfg`` does not
list it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.registry import position

if TYPE_CHECKING:
    from twisted_dns.config import Controller

NAME = "echoname"
DEFAULT_TTL = 0
MAX_TTL = 2**31 - 1
#: the longest character-string a TXT record holds; longer text is split
_CHUNK = 255


@implementer(IPlugin)
class EchoName:
    """Answers a TXT query itself; every other query goes to the next plugin."""

    def __init__(self, ttl: int = DEFAULT_TTL, next_plugin: Any = None) -> None:
        self.ttl = ttl
        self.next = next_plugin

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802 - the IPlugin contract
        if request.qtype != dns.rdatatype.TXT:
            # the next plugin's answer (the query counts as its own), SERVFAIL without one
            return next_or_failure(NAME, self.next, request, writer)
        query = request.message()
        reply = dns.message.make_response(query)
        question = query.question[0]
        reply.answer.append(echo_rrset(question.name, question.rdclass, self.ttl, request.qname))
        writer.write(reply)
        return dns.rcode.NOERROR


def echo_rrset(owner: dns.name.Name, rdclass: int, ttl: int, text: str) -> dns.rrset.RRset:
    """A TXT RRset holding ``text``, split into 255-byte strings (a name can be longer)."""
    data = text.encode("utf-8")
    chunks = [data[i:i + _CHUNK] for i in range(0, len(data), _CHUNK)] or [b""]
    rrset = dns.rrset.RRset(owner, rdclass, dns.rdatatype.TXT)
    rrset.add(TXT(rdclass, dns.rdatatype.TXT, chunks), ttl)
    return rrset


def parse_ttl(text: str) -> int:
    """A TTL in seconds; ValueError unless it is a whole number from 0 to 2**31-1."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_TTL:
        raise ValueError(text)
    return int(text)


# With the answering plugins, before template and every other backend: a TXT query is
# answered before a backend sees it (cache, rewrite, dnssec... ahead of it still apply),
# and every other query passes on to whichever backend follows.
@position(before="template")
def setup(c: Controller) -> None:
    """Parse ``echoname [TTL]`` (no block, once per server block) and add the handler to the
    block's chain."""
    ttl = DEFAULT_TTL
    while c.once():
        args = c.remaining_args()
        if len(args) > 1:
            raise c.err(f"too many arguments: expected 'echoname [TTL]', got {len(args)}")
        if args:
            try:
                ttl = parse_ttl(args[0])
            except ValueError:
                raise c.err(f"invalid TTL '{args[0]}': expected seconds, 0 to {MAX_TTL}") from None
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
    c.add_plugin(lambda next_plugin: EchoName(ttl, next_plugin))
