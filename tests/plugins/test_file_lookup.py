"""Answering from a zone (``file/lookup.py``), with DNSSEC records when DO is set.

Answers are checked against BIND record for record in
``tests/integration/test_bind_differential.py``; the cases here are those a differential test
cannot reach.
"""

from __future__ import annotations

import dns.rcode
import dns.rdatatype
from twisted.trial import unittest

from tests.plugins.zonefiles import CNAME, NS, SIGNED, SOA, TXT, A, zone_text
from twisted_dns.plugins.file import Zone


class LookupTests(unittest.TestCase):
    """Cases the BIND comparison does not reach (it checks the rest)."""

    def setUp(self) -> None:
        self.zone = Zone.from_text(zone_text(), "example.org.")

    def test_loop(self) -> None:
        result = self.zone.lookup("loop1.example.org.", A)
        self.assertEqual(result.rcode, dns.rcode.SERVFAIL)
        self.assertEqual([r.name.to_text() for r in result.answer],
                         ["loop1.example.org.", "loop2.example.org."])

    def test_name_outside_the_zone(self) -> None:
        self.assertRaises(ValueError, self.zone.lookup, "www.example.net.", A)
        self.assertRaises(ValueError, self.zone.lookup, "org.", A)

    def test_negative_soa_ttl(self) -> None:
        result = self.zone.lookup("nope.example.org.", A)
        self.assertEqual(result.rcode, dns.rcode.NXDOMAIN)
        self.assertEqual(result.authority[0].ttl, 300)  # MINIMUM, lower than the TTL 3600
        self.assertEqual(self.zone.soa.ttl, 3600)

    def test_any_is_a_type_like_others(self) -> None:
        """As CoreDNS: NODATA at a name, the chain at a CNAME (RFC 8482 is the any plugin's)."""
        result = self.zone.lookup("www.example.org.", dns.rdatatype.ANY)
        self.assertEqual((result.rcode, result.answer), (dns.rcode.NOERROR, []))
        self.assertEqual(result.authority[0].rdtype, SOA)
        result = self.zone.lookup("alias.example.org.", dns.rdatatype.ANY)
        self.assertEqual([r.rdtype for r in result.answer], [CNAME])

    def test_chain_leaving_the_zone(self) -> None:
        zone = Zone.from_text(zone_text() + "out IN CNAME www.example.net.\n", "example.org.")
        result = zone.lookup("out.example.org.", A)
        self.assertEqual((result.rcode, [r.rdtype for r in result.answer]),
                         (dns.rcode.NOERROR, [CNAME]))
        self.assertEqual([r.rdtype for r in result.authority], [NS])  # as CoreDNS

    def test_sections_not_shared(self) -> None:
        """Changing a result (a plugin after us may) does not change the zone."""
        self.zone.lookup("www.example.org.", A).authority.clear()
        self.assertEqual(len(self.zone.lookup("www.example.org.", A).authority), 1)


class DnssecTests(unittest.TestCase):
    """With DO, a signed zone's RRSIGs and NSECs come along (nothing is signed here)."""

    def setUp(self) -> None:
        self.zone = Zone.from_text(SIGNED, "example.org.")

    def types(self, section: list) -> list[tuple[str, str]]:
        return sorted((r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in section)

    def test_without_do(self) -> None:
        result = self.zone.lookup("ns.example.org.", A)
        self.assertEqual(self.types(result.answer), [("ns.example.org.", "A")])

    def test_answer_signed(self) -> None:
        result = self.zone.lookup("ns.example.org.", A, do=True)
        self.assertEqual(self.types(result.answer),
                         [("ns.example.org.", "A"), ("ns.example.org.", "RRSIG")])
        self.assertEqual(self.types(result.authority),
                         [("example.org.", "NS"), ("example.org.", "RRSIG")])

    def test_wildcard_signature_renamed(self) -> None:
        result = self.zone.lookup("Host.example.org.", A, do=True)
        self.assertEqual(self.types(result.answer),
                         [("Host.example.org.", "A"), ("Host.example.org.", "RRSIG")])
        self.assertEqual(result.answer[1][0].labels, 2)  # tells a validator: a wildcard

    def test_nodata_nsec(self) -> None:
        result = self.zone.lookup("ns.example.org.", TXT, do=True)
        self.assertEqual(self.types(result.authority),
                         [("example.org.", "RRSIG"), ("example.org.", "SOA"),
                          ("ns.example.org.", "NSEC"), ("ns.example.org.", "RRSIG")])

    def test_referral_with_ds(self) -> None:
        result = self.zone.lookup("www.sub.example.org.", A, do=True)
        self.assertFalse(result.aa)
        self.assertEqual(self.types(result.authority),
                         [("sub.example.org.", "DS"), ("sub.example.org.", "NS"),
                          ("sub.example.org.", "RRSIG")])
        self.assertEqual(self.types(result.additional), [("ns.sub.example.org.", "A")])

    def test_nxdomain_nsec(self) -> None:
        # no name is missing with a wildcard at the apex: ask below an existing leaf
        result = self.zone.lookup("x.ns.example.org.", A, do=True)
        self.assertEqual(result.rcode, dns.rcode.NXDOMAIN)
        # ns.example.org's NSEC (next: the apex) covers both the name and *.ns.example.org
        self.assertEqual(self.types(result.authority),
                         [("example.org.", "RRSIG"), ("example.org.", "SOA"),
                          ("ns.example.org.", "NSEC"), ("ns.example.org.", "RRSIG")])
