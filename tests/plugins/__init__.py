"""Tests of the built-in plugins (``twisted_dns/plugins``), and helpers they share.

``configure`` runs one directive's setup over a Corefile the way the server does (parser,
Controller, BlockConfig); ``make_request`` builds a real :class:`~twisted_dns.request.Request`
from a dnspython query; the server's ``CaptureWriter`` keeps the rendered reply (``reply_of``
decodes it) and ``NextPlugin`` stands in for the rest of the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.message
from zope.interface import implementer

from twisted_dns.config import BlockConfig, Configuration, Controller
from twisted_dns.corefile import parser
from twisted_dns.interfaces import IPlugin
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter


def configure(setup: Callable[[Controller], None], directive: str, corefile: str,
              filename: str = "Corefile") -> BlockConfig:
    """Run ``setup`` on ``directive`` of the Corefile's first block; the block's config.

    The chain is built with the directive's plugins only, ending with nothing.
    """
    block = parser.parse(corefile, filename)[0]
    config = BlockConfig(keys=[], file=filename, line=block.line)
    setup(Controller(directive, block.directives[directive], config, Configuration(filename, None)))
    config.build_chain()
    return config


def make_request(name: str, rdtype: str | int = "A", rdclass: str | int = "IN",
                 proto: str = "udp", client: tuple = ("127.0.0.1", 40212),
                 **make_query_kwargs: Any) -> Request:
    """The Request the server would build for this query, received from ``client``."""
    query = dns.message.make_query(name, rdtype, rdclass, **make_query_kwargs)
    return Request.from_wire(query.to_wire(), client, ("127.0.0.1", 53), proto)


def reply_of(writer: CaptureWriter) -> dns.message.Message:
    """The one reply sent through ``writer``, as the client would decode it."""
    assert len(writer.sent) == 1, f"{len(writer.sent)} replies sent"
    return dns.message.from_wire(writer.sent[0])


@implementer(IPlugin)
class NextPlugin:
    """The rest of the chain: records the queries it gets and returns ``rcode``."""

    def __init__(self, rcode: int = 0) -> None:
        self.rcode = rcode
        self.requests: list[Request] = []

    def Name(self) -> str:
        return "next"

    def ServeDNS(self, request: Request, writer: Any) -> int:
        self.requests.append(request)
        return self.rcode
