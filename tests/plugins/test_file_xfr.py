"""A zone's records for a transfer out (``file/xfr.py``)."""

from __future__ import annotations

import dns.rdatatype
from twisted.trial import unittest

from tests.plugins.zonefiles import NS, SIGNED, SOA, A, zone_text
from twisted_dns import wire
from twisted_dns.plugins.file import Zone


class XfrTests(unittest.TestCase):
    def test_axfr_order(self) -> None:
        zone = Zone.from_text(zone_text(), "example.org.")
        rrsets = zone.axfr_rrsets()
        self.assertEqual((rrsets[0].rdtype, rrsets[-1].rdtype), (SOA, SOA))
        self.assertEqual([r.rdtype for r in rrsets[1:-1]].count(SOA), 0)
        self.assertEqual(rrsets[1].rdtype, NS)  # the apex comes first
        self.assertEqual(sum(len(r) for r in rrsets[1:-1]), len(zone) - 1)

    def test_from_rrsets_round_trip(self) -> None:
        """An AXFR's RRsets (SOA twice) build the same zone."""
        zone = Zone.from_text(zone_text(serial=9), "example.org.")
        copy = Zone.from_rrsets("example.org.", zone.axfr_rrsets(), "axfr from 192.0.2.1")
        self.assertEqual(copy.serial, 9)
        self.assertEqual(len(copy), len(zone))
        self.assertEqual(copy.lookup("alias.example.org.", A).answer,
                         zone.lookup("alias.example.org.", A).answer)

    def test_axfr_has_signatures(self) -> None:
        rrsets = Zone.from_text(SIGNED, "example.org.").axfr_rrsets()
        self.assertEqual((rrsets[0].rdtype, rrsets[-1].rdtype), (SOA, SOA))
        types = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in rrsets[1:4]]
        self.assertEqual(types, [("example.org.", "NS"), ("example.org.", "NSEC"),
                                 ("example.org.", "RRSIG")])
        self.assertEqual(sum(r.rdtype == dns.rdatatype.RRSIG for r in rrsets), 9)

    def test_records_are_the_rrsets_records(self) -> None:
        """The quick wire records (names read from text, or made RRsets) are the RRsets'."""
        for text in (zone_text(), SIGNED):
            unread = Zone.from_text(text, "example.org.")
            read = Zone.from_text(text, "example.org.")
            read.lookup("www.example.org.", A)  # one name made RRsets
            expected = [record for rrset in read.axfr_rrsets()
                        for record in wire.rrset_records(rrset)]
            for zone in (unread, read):
                records = zone.axfr_records()
                self.assertEqual((records[0], records[-1]), (expected[0], expected[-1]))
                self.assertEqual(sorted(records[1:-1]), sorted(expected[1:-1]))
