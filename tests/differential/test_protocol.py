"""CoreDNS and pydns on the wire: EDNS (sizes, DO, versions, options), truncation and what fits
in the client's buffer, odd and malformed queries, over UDP and TCP."""

from __future__ import annotations

import os
import struct

import dns.edns
import dns.flags
import dns.message
import dns.opcode
from twisted.internet import defer
from twisted.trial import unittest

from tests.differential.harness import Known, Query, both_ways, serve_both
from tests.differential.test_zones import negative_soa_ttl

BIG_ZONE = """$ORIGIN big.test.
@       3600 IN SOA ns.big.test. hostmaster.big.test. 1 3600 600 86400 60
@       3600 IN NS  ns.big.test.
ns      3600 IN A   192.0.2.1
""" + "".join(f"many 300 IN A 198.51.100.{i}\n" for i in range(1, 121)) + "".join(
    f'text 300 IN TXT "{i:03d} {"x" * 200}"\n' for i in range(40))

COREFILE = """big.test {
    file {$ZONES}/db.big.test
}
. {
    whoami
}
"""


def raw(wire: bytes, label: str) -> list[Query]:
    return both_ways([Query(wire, f"{label} udp")])


def header(qd: int = 1, flags: int = 0x0100, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!HHHHHH", 4242, flags, qd, an, ns, ar)


QUESTION = b"\x03www\x07example\x03org\x00\x00\x01\x00\x01"

#: the option codes the tests send
NSID, COOKIE = dns.edns.OptionType.NSID, dns.edns.OptionType.COOKIE


def edns_queries() -> list[Query]:
    queries = [Query.make("many.big.test", "A")]
    for payload in (0, 100, 512, 1232, 1400, 4096, 65535):
        queries.append(Query.make("many.big.test", "A", use_edns=0, payload=payload))
        queries.append(Query.make("text.big.test", "TXT", use_edns=0, payload=payload))
    queries += [
        Query.make("many.big.test", "A", use_edns=0, want_dnssec=True),
        Query.make("ns.big.test", "A", use_edns=0, payload=4096, want_dnssec=True),
        Query.make("ns.big.test", "A", use_edns=1),
        Query.make("whoami.example", "A", use_edns=1),
        Query.make("ns.big.test", "A", use_edns=0, options=[dns.edns.GenericOption(NSID, b"")]),
        Query.make("ns.big.test", "A", use_edns=0,
                   options=[dns.edns.GenericOption(COOKIE, b"\x01" * 8)]),
        Query.make("ns.big.test", "A", use_edns=0,
                   options=[dns.edns.GenericOption(65001, b"private")]),
        Query.make("whoami.example", "A", use_edns=0,
                   options=[dns.edns.GenericOption(COOKIE, b"\x01" * 8)]),
        Query.make("text.big.test", "TXT", use_edns=0, payload=1232, want_dnssec=True),
        Query.make("nx.big.test", "A", use_edns=0, payload=1232),
        Query.make("big.test", "SOA", use_edns=0),
        Query.make("big.test", "ANY"),
        Query.make("big.test", "AXFR"),  # over UDP: refused by both transports' rules
        Query.make("big.test", "A", "CH"),
        Query.make("Many.BIG.test", "A", use_edns=0, payload=4096),
        Query.make("whoami.example", "A"),
        Query.make("WhoAmI.Example", "AAAA"),
        Query.make("whoami.example", "TXT", "CH"),
    ]
    return both_ways(queries)


def malformed_queries() -> list[Query]:
    cases = {
        "no question": header(qd=0),
        "two questions": header(qd=2) + QUESTION + QUESTION,
        "question cut short": header() + QUESTION[:7],
        "header only, qdcount 1": header(),
        "a response (QR set)": header(flags=0x8100) + QUESTION,
        "opcode IQUERY": header(flags=0x0900) + QUESTION,
        "opcode STATUS": header(flags=0x1100) + QUESTION,
        "opcode NOTIFY": header(flags=0x2000) + QUESTION,
        "opcode UPDATE": header(flags=0x2800) + QUESTION,
        "opcode 15": header(flags=0x7800) + QUESTION,
        "trailing garbage": header() + QUESTION + b"garbage",
        "a label of 64": header() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
        "a pointer loop": header() + b"\xc0\x0c\x00\x01\x00\x01",
        "answer count but no answer": header(an=1) + QUESTION,
        "two OPT records": header(ar=2) + QUESTION + (b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00"
                                                       b"\x00\x00") * 2,
        "OPT with a bad option length": header(ar=1) + QUESTION
        + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x08\x00\x03\x00\x09abc",
        "eleven bytes": header()[:11],
        "ad and cd set": header(flags=0x0130) + QUESTION,
        "z bit set": header(flags=0x0140) + QUESTION,
    }
    return [q for label, wire in cases.items() for q in raw(wire, label)]


class ProtocolTests(unittest.TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def pair(self):
        zones = self.mktemp()
        os.makedirs(zones)
        with open(os.path.join(zones, "db.big.test"), "w", encoding="utf-8") as handle:
            handle.write(BIG_ZONE)
        return (yield serve_both(self, COREFILE, environ={"ZONES": os.path.abspath(zones)}))

    @defer.inlineCallbacks
    def test_edns_and_truncation(self):
        pair = yield self.pair()
        report = yield pair.compare(edns_queries(), KNOWN_EDNS)
        self.assertEqual(report, [], f"{len(report)} differences:\n" + "\n".join(report))

    @defer.inlineCallbacks
    def test_malformed(self):
        pair = yield self.pair()
        report = yield pair.compare(malformed_queries(), KNOWN_MALFORMED)
        self.assertEqual(report, [], f"{len(report)} differences:\n" + "\n".join(report))


KNOWN_EDNS = [
    Known("The SOA TTL of a negative answer", ("authority",), when=negative_soa_ttl),
    Known("The payload size of a BADVERS reply", ("edns",), labels=r" edns1/",
          when=lambda field, ours, theirs: theirs == "version 0 payload 0 flags -"),
]
KNOWN_MALFORMED = [
    Known("Malformed queries", ("rcode",), labels="^header only",
          when=lambda field, ours, theirs: (ours, theirs) == ("FORMERR", "SERVFAIL")),
    # miekg/dns reads past the counts it cannot find; we answer FORMERR with the question
    Known("Malformed queries", ("rcode", "flags", "additional"),
          labels="^(answer count but no answer|two OPT records) "),
    Known("Malformed queries", ("edns", "edns options"), labels="^OPT with a bad option length"),
]
