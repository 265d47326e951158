from twisted.trial import unittest

from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.pkg.zones import is_subdomain, match, normalize


class ZonesTests(unittest.TestCase):
    def test_normalize(self) -> None:
        self.assertEqual(normalize("Example.ORG"), "example.org.")
        self.assertEqual(normalize("."), ".")

    def test_is_subdomain_by_label(self) -> None:
        self.assertTrue(is_subdomain("a.example.org.", "example.org."))
        self.assertTrue(is_subdomain("example.org.", "example.org."))
        self.assertFalse(is_subdomain("badexample.org.", "example.org."))
        self.assertTrue(is_subdomain("anything.", "."))

    def test_match_longest(self) -> None:
        zones = [".", "example.org.", "sub.example.org."]
        self.assertEqual(match(zones, "a.sub.example.org."), "sub.example.org.")
        self.assertEqual(match(zones, "a.example.org."), "example.org.")
        self.assertIsNone(match(["example.org."], "example.net."))


class FallthroughTests(unittest.TestCase):
    def test_off_by_default(self) -> None:
        self.assertFalse(Fallthrough().through("example.org."))

    def test_every_name_without_zones(self) -> None:
        self.assertTrue(Fallthrough.from_args([]).through("example.org."))

    def test_only_listed_zones(self) -> None:
        fall = Fallthrough.from_args(["Example.ORG", "in-addr.arpa"])
        self.assertTrue(fall.through("www.example.org."))
        self.assertTrue(fall.through("1.0.0.10.in-addr.arpa."))
        self.assertFalse(fall.through("example.net."))
