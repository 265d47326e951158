"""The *file* plugin answers as BIND does: the same zone files, the same queries, compared.

BIND's ``named`` (authoritative only: ``recursion no; minimal-responses no;``) and pydns
(``file``) load the zones under ``tests/integration/zones/``. The corpus is every owner name
of the zones and the names around them (a name below each, a name below that, the name in
mixed case) plus a fixed list of edge names (empty non-terminals, names under wildcards, cuts
and DNAMEs), each asked for a fixed list of types plus the types the name has.

What is compared, for every query:

- the rcode and the AA flag;
- the answer and authority sections exactly, as sets of RRsets with their TTLs (owner names
  compared case-insensitively, as DNS does);
- the additional section where the RFCs fix it: the in-domain glue of a referral (A/AAAA of
  NS names at or below the cut), and the A/AAAA of the in-zone targets of the NS, MX and SRV
  records in the answer. Besides that, everything pydns puts in the additional section must
  also be in BIND's: BIND (``minimal-responses no``) adds more, e.g. the addresses of the
  apex NS names of the authority section, which CoreDNS leaves out and so do we.

Where the RFCs fix an answer and CoreDNS departs from them (wildcards shadowed by empty
non-terminals, the negative SOA TTL, the rcode after a CNAME chain, ...) we follow the RFCs and
BIND. Where BIND and CoreDNS legitimately make different choices we follow CoreDNS, and the
comparison leaves that part out, saying why:

- the authority section of a CNAME chain leaving the zone and of a DS answer at a cut
  (``_not_compared``: CoreDNS puts the apex NS there, BIND nothing);
- the TTL of the SOA in a negative answer to an SOA query (BIND makes it 0);
- ANY queries are not asked (CoreDNS answers them like a type the name does not have, BIND
  returns every RRset; RFC 8482 allows both).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet import defer, threads
from twisted.trial import unittest

from twisted_dns.plugins.file import Zone
from twisted_dns.testing import start_server
from twisted_dns.testing.peers import NamedServer

ZONES_DIR = os.path.join(os.path.dirname(__file__), "zones")
#: origin -> zone file (and the files they $INCLUDE, copied next to them for BIND)
ZONES = {
    "example.org.": os.path.join(ZONES_DIR, "db.example.org"),
    "example.net.": os.path.join(ZONES_DIR, "db.example.net"),
    "loop.test.": os.path.join(ZONES_DIR, "db.loop.test"),
}
INCLUDES = [os.path.join(ZONES_DIR, "db.example.net.include")]

#: asked at every name, whatever it holds
TYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "DNAME", "DS", "SRV", "PTR"]

#: names no owner name gives, chosen for the rule they exercise
EDGE_NAMES = [
    "ent.wild.example.org.",            # an empty non-terminal under a wildcard: NODATA
    "q.ent.wild.example.org.",          # below it: the ENT shadows *.wild -> NXDOMAIN
    "Any.Wild.Example.ORG.",            # synthesized from *.wild, owner in the query's case
    "deeper.name.wild.example.org.",    # two labels below *.wild
    "x.cwild.example.org.",             # a wildcard CNAME
    "b.c.deep.example.org.",            # empty non-terminals
    "c.deep.example.org.",
    "deep.example.org.",
    "zz.c.deep.example.org.",           # below an ENT, no wildcard: NXDOMAIN
    "nothere.example.org.",             # the apex wildcard
    "a.b.nothere.example.org.",
    "host.sub.example.org.",            # under a cut: referral
    "a.b.sub.example.org.",
    "ns1.sub.example.org.",             # glue itself: referral too
    "x.nodsdeleg.example.org.",
    "a.dn.example.org.",                # DNAME to a zone not served
    "host.dnlocal.example.org.",        # DNAME within the zone, target exists
    "nx.dnlocal.example.org.",          # ... target does not exist
    "Host.DnLocal.example.org.",
    "ent.local.example.org.",
    "a.fwd.example.net.",               # DNAME at a name with other data
    "x.y.z.example.net.",
    "y.z.example.net.",
    "z.example.net.",
    "nx.example.net.",
    "lab.example.net.",
    "nx.lab.example.net.",
    # the DNAME substitution is longer than 255 octets: YXDOMAIN
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbb"
    ".long.loop.test.",
    "short.long.loop.test.",
]


def corpus() -> list[tuple[str, str]]:
    """(name, type) pairs: every owner and the names around it, every type of TYPES."""
    names: dict[str, set[str]] = {}
    for origin, path in ZONES.items():
        for rrset in Zone.from_file(path, origin).rrsets():
            text = rrset.name.to_text()
            for variant in (text, "nx." + text, "a.nx." + text, _mixed_case(text)):
                names.setdefault(variant, set()).add(dns.rdatatype.to_text(rrset.rdtype))
    for name in EDGE_NAMES:
        names.setdefault(name, set())
    cases = []
    for name, types in sorted(names.items()):
        for rdtype in sorted(set(TYPES) | types):
            cases.append((name, rdtype))
    return cases


def _mixed_case(name: str) -> str:
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


def _in_zones(name: dns.name.Name) -> bool:
    return any(name.is_subdomain(dns.name.from_text(origin)) for origin in ZONES)


def _rrsets(section: list[dns.rrset.RRset]) -> set[tuple]:
    """A section as comparable values: owner (lower case), type, TTL and the rdata."""
    return {(rrset.name.to_text().lower(), rrset.rdtype, rrset.ttl,
             frozenset(rdata.to_text().lower() for rdata in rrset))
            for rrset in section if rrset.rdtype != dns.rdatatype.OPT}


def _required_additional(reply: dns.message.Message) -> set[str]:
    """The owner names whose A/AAAA the additional section must hold (see module doc)."""
    names: set[str] = set()
    aa = bool(reply.flags & dns.flags.AA)
    if not aa:  # a referral: in-domain glue
        for rrset in reply.authority:
            if rrset.rdtype == dns.rdatatype.NS:
                for rdata in rrset:
                    if rdata.target.is_subdomain(rrset.name):
                        names.add(rdata.target.to_text().lower())
        return names
    for rrset in reply.answer:
        if rrset.rdtype == dns.rdatatype.MX:
            targets = [rdata.exchange for rdata in rrset]
        elif rrset.rdtype in (dns.rdatatype.NS, dns.rdatatype.SRV):
            targets = [rdata.target for rdata in rrset]
        else:
            continue
        for target in targets:
            if _in_zones(target):
                names.add(target.to_text().lower())
    return names


def _zone_of(name: dns.name.Name) -> dns.name.Name:
    return next(dns.name.from_text(o) for o in ZONES if name.is_subdomain(dns.name.from_text(o)))


def _not_compared(bind: dns.message.Message) -> str | None:
    """Why BIND's authority section is not what we answer, or None.

    Each rule is a choice BIND and CoreDNS make differently; we make CoreDNS's (the apex NS
    in the authority section), which ``differences`` checks instead.
    """
    question = bind.question[0]
    answer = bind.answer
    if answer and answer[-1].rdtype == dns.rdatatype.CNAME and not answer[-1][0].target \
            .is_subdomain(_zone_of(question.name)) and question.rdtype != dns.rdatatype.CNAME:
        return "a chain leaving the zone: CoreDNS adds the apex NS, BIND nothing"
    if question.rdtype == dns.rdatatype.DS and answer and answer[-1].rdtype == dns.rdatatype.DS:
        return "a DS at a cut: CoreDNS adds the apex NS, BIND nothing"
    return None


def differences(ours: dns.message.Message, bind: dns.message.Message) -> list[str]:
    """What differs between the two replies (empty when they agree)."""
    out = []
    if ours.question[0].rdtype == dns.rdatatype.SOA:
        # BIND gives the SOA of a negative answer to an SOA query TTL 0, a choice of its own
        # (RFC 2308 says the lesser of its TTL and MINIMUM, as for any other type): the TTL
        # of the authority SOA is not compared for SOA queries
        for rrset in bind.authority + ours.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                rrset.ttl = 0
    reason = _not_compared(bind)
    if reason is not None:
        apex_ns = [(_zone_of(ours.question[0].name), dns.rdatatype.NS)]
        if [(rrset.name, rrset.rdtype) for rrset in ours.authority] != apex_ns:
            out.append(f"authority ({reason}): ours {ours.authority}, want the apex NS")
        bind.authority = ours.authority = []
    if ours.rcode() != bind.rcode():
        out.append(f"rcode {ours.rcode()} != {bind.rcode()}")
    if (ours.flags & dns.flags.AA) != (bind.flags & dns.flags.AA):
        out.append(f"AA {bool(ours.flags & dns.flags.AA)} != {bool(bind.flags & dns.flags.AA)}")
    for section in ("answer", "authority"):
        mine, theirs = _rrsets(getattr(ours, section)), _rrsets(getattr(bind, section))
        if mine != theirs:
            out.append(f"{section}: only ours {sorted(mine - theirs)}, "
                       f"only BIND {sorted(theirs - mine)}")
    mine, theirs = _rrsets(ours.additional), _rrsets(bind.additional)
    if not mine <= theirs:
        out.append(f"additional: ours not in BIND's: {sorted(mine - theirs)}")
    required = _required_additional(bind)
    mine_required = {r for r in mine if r[0] in required}
    theirs_required = {r for r in theirs if r[0] in required}
    if mine_required != theirs_required:
        out.append(f"required additional: ours {sorted(mine_required)}, "
                   f"BIND {sorted(theirs_required)}")
    return out


def _ask_both(cases: list[tuple[str, str]], ours_port: int, bind_port: int,
              proto: str) -> tuple[list[str], Counter]:
    """Send every case to both servers (in a thread): the differences, one line each, and
    how many of BIND's answers were of each kind (to show the corpus reaches every rule)."""
    send = dns.query.tcp if proto == "tcp" else dns.query.udp
    report = []
    kinds: Counter = Counter()
    for name, rdtype in cases:
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=4096)
        ours = send(query, "127.0.0.1", port=ours_port, timeout=5)
        bind = send(query, "127.0.0.1", port=bind_port, timeout=5)
        # asked again, pydns answers from the reply it kept: the same bytes
        query.id = (query.id + 1) % 65536
        again = send(query, "127.0.0.1", port=ours_port, timeout=5)
        if _shape(again) != _shape(ours):
            report.append(f"{name} {rdtype}: asked again, a different reply: {again}")
        kinds[_kind(bind)] += 1
        for line in differences(ours, bind):
            report.append(f"{name} {rdtype}: {line}")
    return report, kinds


def _shape(reply: dns.message.Message) -> tuple:
    """Everything in a reply but its ID (RRsets as values: dnspython reorders records)."""
    return (reply.flags, reply.rcode(), str(reply.question[0]),
            *(_rrsets(section) for section in (reply.answer, reply.authority,
                                                reply.additional)))


def _kind(reply: dns.message.Message) -> str:
    """What sort of answer BIND gave."""
    if _not_compared(reply) is not None:
        return "authority not compared"
    rcode = dns.rcode.to_text(reply.rcode())
    if rcode != "NOERROR":
        return rcode
    if not reply.flags & dns.flags.AA:
        return "referral"
    if not reply.answer:
        return "NODATA"
    if any(rrset.rdtype == dns.rdatatype.DNAME for rrset in reply.answer):
        return "DNAME"
    if any(rrset.rdtype == dns.rdatatype.CNAME for rrset in reply.answer):
        return "CNAME"
    return "answer"


class BindDifferentialTests(unittest.TestCase):
    """pydns and named on the same zones agree on the whole corpus."""

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        NamedServer.require()
        directory = tempfile.mkdtemp(prefix="pydns-bind-")
        self.addCleanup(shutil.rmtree, directory, True)
        self.named = NamedServer(directory, ZONES, includes=INCLUDES)
        self.addCleanup(self.named.stop)
        yield self.named.start()
        blocks = "".join(f"{origin} {{\n    file {path}\n}}\n" for origin, path in ZONES.items())
        self.server = yield start_server(blocks)
        self.addCleanup(self.server.stop)

    @defer.inlineCallbacks
    def check(self, cases: list[tuple[str, str]], proto: str):
        report, kinds = yield threads.deferToThread(_ask_both, cases, self.server.port,
                                                    self.named.port, proto)
        self.assertEqual(report, [], f"{len(report)} of {len(cases)} differ:\n"
                         + "\n".join(report))
        return kinds

    @defer.inlineCallbacks
    def test_corpus_udp(self):
        cases = corpus()
        self.assertGreater(len(cases), 1500)
        kinds = yield self.check(cases, "udp")
        # the corpus reaches every kind of answer, and the rules leave few cases out
        for kind in ("answer", "NODATA", "NXDOMAIN", "referral", "CNAME", "DNAME", "SERVFAIL",
                     "YXDOMAIN"):
            self.assertGreater(kinds[kind], 0, f"no {kind} in {kinds}")
        self.assertLess(kinds["authority not compared"], len(cases) // 10, str(kinds))

    def test_edge_names_tcp(self):
        return self.check([(n, t) for n in EDGE_NAMES for t in ("A", "TXT", "NS")], "tcp")
