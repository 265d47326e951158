"""The *chaos* handler: ``version.bind``, ``authors.bind``, ``hostname.bind`` and friends."""

from __future__ import annotations

import random
import socket
from collections.abc import Sequence

import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg import chain

NAME = "chaos"

#: a TXT character-string holds at most 255 bytes
MAX_TEXT = 255

_VERSION_NAMES = frozenset({"version.bind.", "version.server."})
_HOSTNAME_NAMES = frozenset({"hostname.bind.", "id.server."})
_AUTHORS_NAME = "authors.bind."


def trim(text: str) -> bytes:
    """``text`` as one TXT character-string: UTF-8, cut to 255 bytes."""
    return text.encode("utf-8")[:MAX_TEXT]


def hostname() -> str:
    """This host's name, as ``hostname.bind`` and ``id.server`` tell it."""
    try:
        return socket.gethostname() or "localhost"
    except OSError:
        return "localhost"


@implementer(IPlugin)
class Chaos:
    """Answers ``CH TXT`` queries for the names above; everything else goes to ``next``."""

    def __init__(self, next_plugin, version: str, authors: Sequence[str]) -> None:
        self.next = next_plugin
        self.version = trim(version)
        self.authors = [trim(author) for author in authors]

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer):  # noqa: N802 - the IPlugin contract
        if request.qclass != dns.rdataclass.CH or request.qtype != dns.rdatatype.TXT:
            return chain.next_or_failure(NAME, self.next, request, writer)
        name = request.qname_lower
        if name in _VERSION_NAMES:
            texts = [self.version]
        elif name in _HOSTNAME_NAMES:
            texts = [trim(hostname())]
        elif name == _AUTHORS_NAME:
            # in a new random order each time, as CoreDNS does
            texts = random.sample(self.authors, len(self.authors))
        else:
            return chain.next_or_failure(NAME, self.next, request, writer)

        query = request.message()
        reply = dns.message.make_response(query)
        rrset = reply.find_rrset(reply.answer, query.question[0].name, dns.rdataclass.CH,
                                 dns.rdatatype.TXT, create=True)
        for text in texts:
            rrset.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.CH, dns.rdatatype.TXT, [text]),
                      ttl=0)
        writer.write(reply)
        return 0
