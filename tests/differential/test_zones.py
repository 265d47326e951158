"""CoreDNS and pydns on the same zone files: the BIND corpus (every owner, the names around it,
the edge names: wildcards, delegations, DNAME, CNAME chains in and out of the zone, loops,
empty non-terminals, mixed case, names too long), over UDP and TCP.

Where they differ, pydns answers as the RFCs and BIND do (``tests/integration/
test_bind_differential.py`` pins that, against BIND itself); each such difference is a
:class:`Known`, explained in docs/differences.md under the same heading.
"""

from __future__ import annotations

import re
from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from tests.differential.harness import Known, Query, both_ways, serve_both
from tests.integration.test_bind_differential import ZONES, corpus

COREFILE = "".join(f"{origin} {{\n    file {path}\n}}\n" for origin, path in ZONES.items())


def _soa_ttl_aside(records: Any) -> list[str]:
    return [re.sub(r"^(\S+) \d+ IN SOA ", r"\1 TTL IN SOA ", text) for text in records or []]


def negative_soa_ttl(field: str, ours: Any, theirs: Any) -> bool:
    """The same authority section but for the SOA's TTL, ours being the SOA's MINIMUM."""
    if _soa_ttl_aside(ours) != _soa_ttl_aside(theirs):
        return False
    soa = next(text.split() for text in ours if " IN SOA " in text)
    return soa[1] == soa[-1] or int(soa[1]) <= int(soa[-1])


def case_only(field: str, ours: Any, theirs: Any) -> bool:
    """The same records but for the case of names."""
    return sorted(t.lower() for t in ours or []) == sorted(t.lower() for t in theirs or [])


def apex_ns_beside_chain(field: str, ours: Any, theirs: Any) -> bool:
    """CoreDNS's authority after a CNAME/DNAME chain: the apex NS (ours: the SOA of a NODATA
    or nothing); or the additional section that goes with it."""
    if field == "additional":
        return not theirs
    return len(theirs) == 1 and " IN NS " in theirs[0] and all(" IN SOA " in t for t in ours)


KNOWN = [
    Known("The SOA TTL of a negative answer", ("authority",), when=negative_soa_ttl),
    Known("The case of names", ("answer", "authority", "additional"), when=case_only),
    Known("The authority section after a CNAME or DNAME", ("authority", "additional"),
          when=apex_ns_beside_chain),
    Known("The authority section after a CNAME or DNAME", ("authority",),
          labels=r"fwd\.example\.net\. "),  # into another zone served here: its SOA
    Known("Wildcards below existing names", ("answer", "additional", "authority", "rcode"),
          labels=r"^(ent\.wild\.example\.org\. IN (A|MX|TXT)|deep\.example\.org\. IN TXT"
                 r"|(a\.|a\.nx\.|nx\.)?fwd\.example\.net\. IN TXT|ent\.wild\.example\.org\.)"),
    Known("CNAME loops", ("rcode", "answer", "authority"),
          labels=r"^(intoloop|loop[123]|self)\.loop\.test\. ", ),
    Known("DNAME substitutions too long for a name", ("reply",), labels=r"^a{63}\.b{20}\."),
]


class ZoneTests(unittest.TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def test_corpus(self):
        pair = yield serve_both(self, COREFILE, probe=("example.org.", "SOA"))
        queries = [Query.make(name, rdtype, use_edns=0, payload=4096)
                   for name, rdtype in corpus()]
        report = yield pair.compare(both_ways(queries), KNOWN)
        self.assertEqual(report, [], f"{len(report)} differences:\n" + "\n".join(report))
