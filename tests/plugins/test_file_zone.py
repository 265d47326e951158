"""*file*'s zone model (``file/zone.py``): building, reading, ``Zones``; the index's names."""

from __future__ import annotations

import dns.name
import dns.rrset
from twisted.trial import unittest

from tests.plugins.zonefiles import TXT, A, zone_text
from twisted_dns.names import parent
from twisted_dns.plugins.file import Zone, ZoneError, Zones
from twisted_dns.plugins.file.names import key_of


class ZoneModelTests(unittest.TestCase):
    """The API *auto*, *secondary* and *transfer* build on."""

    def test_from_text(self) -> None:
        zone = Zone.from_text(zone_text(serial=42), "Example.ORG")
        self.assertEqual(zone.origin, dns.name.from_text("example.org."))
        self.assertEqual(zone.origin_text, "example.org.")
        self.assertEqual(zone.serial, 42)
        self.assertIn("www.example.org.", zone)
        self.assertNotIn("nope.example.org.", zone)
        self.assertEqual(zone.get("www.example.org.", A)[0].address, "192.0.2.80")
        self.assertIsNone(zone.get("www.example.org.", TXT))

    def test_from_rrsets_outside_origin(self) -> None:
        soa = Zone.from_text(zone_text(), "example.org.").soa
        stray = dns.rrset.from_text("www.example.net.", 60, "IN", "A", "192.0.2.1")
        exc = self.assertRaises(ZoneError, Zone.from_rrsets, "example.org.", [soa, stray])
        self.assertEqual(str(exc), "<rrsets>: www.example.net. is not in zone example.org.")

    def test_no_soa(self) -> None:
        exc = self.assertRaises(ZoneError, Zone.from_text, "www 60 IN A 192.0.2.1\n",
                                "example.org.", "db.example.org")
        self.assertEqual(str(exc), "db.example.org: no SOA record for origin example.org.")

    def test_zones(self) -> None:
        zones = Zones(["example.org.", "sub.example.org."])
        self.assertFalse(zones.loaded())
        self.assertEqual(zones.match("www.sub.example.org."), "sub.example.org.")
        self.assertEqual(zones.match("www.example.org."), "example.org.")
        self.assertIsNone(zones.match("example.net."))
        zone = Zone.from_text(zone_text(), "example.org.")
        zones.replace(zone)
        zones.replace(Zone.from_text(zone_text(), "sub.example.org."))
        self.assertTrue(zones.loaded())
        self.assertIs(zones["example.org."], zone)
        zones.remove("sub.example.org.")
        self.assertEqual(zones.match("www.sub.example.org."), "example.org.")

    def test_zones_origins_follow_what_is_served(self) -> None:
        zones = Zones(["example.org.", "example.org.", "b.test."])
        self.assertEqual(zones.origins, ["example.org.", "b.test."])
        zones.add("a.test.")
        zones.add("example.org.")  # served already: stays where it is
        self.assertEqual(zones.origins, ["example.org.", "b.test.", "a.test."])
        zones.remove("b.test.")
        zones.remove("never.test.")
        self.assertEqual(zones.origins, ["example.org.", "a.test."])
        self.assertNotIn("b.test.", zones)

    def test_on_swap_called_after_the_swap(self) -> None:
        zones = Zones(["example.org."])
        seen = []
        zones.on_swap.append(lambda origin: seen.append((origin, zones[origin].serial)))
        zones.add("example.org.", Zone.from_text(zone_text(serial=1), "example.org."))
        self.assertEqual(seen, [])  # add is not a swap
        zones.replace(Zone.from_text(zone_text(serial=2), "example.org."))
        self.assertEqual(seen, [("example.org.", 2)])


class NamesTests(unittest.TestCase):
    """The index's keys: lower-case absolute text, as ``Request.qname_lower``."""

    def test_parent(self) -> None:
        self.assertEqual(parent("www.example.org."), "example.org.")
        self.assertEqual(parent("org."), ".")
        self.assertEqual(parent("a\\.b.example.org."), "example.org.")
        self.assertEqual(parent("a\\046.example.org."), "example.org.")

    def test_key_of(self) -> None:
        self.assertEqual(key_of(dns.name.from_text("WWW.Example.ORG")), "www.example.org.")
        self.assertEqual(key_of(dns.name.root), ".")
