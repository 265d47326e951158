from twisted.trial import unittest

from twisted_dns.pkg.fallthrough import Fallthrough


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

    def test_escaped_dot_is_no_label_boundary(self) -> None:
        fall = Fallthrough.from_args(["example.org"])
        self.assertFalse(fall.through("a\\.example.org."))
        self.assertTrue(fall.through("a\\\\.example.org."))
