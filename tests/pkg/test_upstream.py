"""Lookups through the block's own chain (twisted_dns.pkg.upstream)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.message
import dns.rdatatype
import dns.rrset
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.pkg.upstream import Upstream, in_lookup
from twisted_dns.testing import make_request


@dataclass
class Block:
    """What Upstream reads of a BlockConfig."""

    chain: Any
    zones: list[str] = field(default_factory=lambda: ["."])


class Answering:
    """A chain that answers every query with ``count`` A records and records what it saw."""

    def __init__(self, count: int = 1) -> None:
        self.count = count
        self.seen: list[tuple[Any, bool]] = []

    def Name(self) -> str:
        return "answering"

    def ServeDNS(self, request, writer):
        self.seen.append((request, in_lookup(request)))
        reply = dns.message.make_response(request.message())
        reply.answer = [dns.rrset.from_text(request.qname, 60, "IN", "A",
                                            *(f"10.0.{i // 256}.{i % 256}"
                                              for i in range(self.count)))]
        writer.write(reply)
        return 0


class Silent(Answering):
    def ServeDNS(self, request, writer):
        self.seen.append((request, in_lookup(request)))
        return 2  # SERVFAIL: nothing written


class Failing(Answering):
    def ServeDNS(self, request, writer):
        raise RuntimeError("broken plugin")


class UpstreamTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_lookup_goes_down_the_chain(self):
        chain = Answering()
        request = make_request("www.example.org", "A", client=("10.1.2.3", 5353))
        found = yield defer.ensureDeferred(
            Upstream(Block(chain, ["example.net.", "."])).lookup(request, "target.example.net.",
                                                                 dns.rdatatype.A))
        self.assertEqual([rrset.to_text() for rrset in found.answer],
                         ["target.example.net. 60 IN A 10.0.0.0"])
        (lookup, marked), = chain.seen
        self.assertTrue(marked)  # the chain saw a lookup...
        self.assertFalse(in_lookup(lookup))  # ...which is over now
        self.assertEqual((lookup.qname, lookup.qtype, lookup.id, lookup.client, lookup.zone,
                          lookup.proto),
                         ("target.example.net.", dns.rdatatype.A, request.id, ("10.1.2.3", 5353),
                          "example.net.", "tcp"))
        self.assertFalse(in_lookup(request))

    @defer.inlineCallbacks
    def test_answer_is_not_cut_to_udp_size(self):
        request = make_request("www.example.org", "A")
        found = yield defer.ensureDeferred(
            Upstream(Block(Answering(100))).lookup(request, "big.example.", dns.rdatatype.A))
        self.assertEqual(len(found.answer[0]), 100)
        self.assertFalse(found.flags & dns.flags.TC)

    @defer.inlineCallbacks
    def test_nothing_written_is_none(self):
        request = make_request("www.example.org", "AAAA")
        found = yield defer.ensureDeferred(
            Upstream(Block(Silent())).lookup(request, "x.example.", dns.rdatatype.AAAA))
        self.assertIsNone(found)

    @defer.inlineCallbacks
    def test_a_failing_chain_is_logged_and_none(self):
        request = make_request("www.example.org", "A")
        found = yield defer.ensureDeferred(
            Upstream(Block(Failing())).lookup(request, "x.example.", dns.rdatatype.A))
        self.assertIsNone(found)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_usable_only_with_a_chain(self):
        self.assertFalse(Upstream(None).usable)
        self.assertFalse(Upstream(Block(None)).usable)
        self.assertTrue(Upstream(Block(Answering())).usable)
