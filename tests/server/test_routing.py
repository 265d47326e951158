"""ZoneRouter: longest zone match label by label, root fallback, DS to the parent."""

from __future__ import annotations

from twisted.trial import unittest

from tests.server import block
from twisted_dns.server.routing import ZoneRouter

A, DS = 1, 43


class RouteTests(unittest.TestCase):
    def setUp(self) -> None:
        self.root, self.org, self.example, self.sub = block(), block(), block(), block()
        self.router = ZoneRouter([(".", self.root), ("org.", self.org),
                                  ("Example.Org", self.example),
                                  ("sub.example.org.", self.sub)])

    def test_longest_match(self) -> None:
        self.assertEqual(self.router.route("a.b.sub.example.org.", A),
                         ("sub.example.org.", self.sub))
        self.assertEqual(self.router.route("www.example.org.", A),
                         ("example.org.", self.example))
        self.assertEqual(self.router.route("example.org.", A), ("example.org.", self.example))
        self.assertEqual(self.router.route("other.org.", A), ("org.", self.org))

    def test_zones_of_equal_length(self) -> None:
        net = block()
        router = ZoneRouter([("example.org.", self.example), ("example.net.", net)])
        self.assertEqual(router.route("a.b.c.example.net.", A), ("example.net.", net))
        self.assertEqual(router.route("example.org.", A), ("example.org.", self.example))
        self.assertIsNone(router.route("org.", A))

    def test_label_boundaries(self) -> None:
        self.assertEqual(self.router.route("notexample.org.", A), ("org.", self.org))

    def test_root_fallback(self) -> None:
        self.assertEqual(self.router.route("example.com.", A), (".", self.root))
        self.assertEqual(self.router.route(".", A), (".", self.root))

    def test_no_match(self) -> None:
        router = ZoneRouter([("example.org.", self.example)])
        self.assertIsNone(router.route("example.com.", A))
        self.assertIsNone(router.route(".", A))
        self.assertIsNone(router.route("org.", A))

    def test_ds_goes_to_parent_most_zone(self) -> None:
        # CoreDNS: the last match of the walk wins, the root only as a fallback
        self.assertEqual(self.router.route("sub.example.org.", DS), ("org.", self.org))
        router = ZoneRouter([(".", self.root), ("example.org.", self.example),
                             ("sub.example.org.", self.sub)])
        self.assertEqual(router.route("sub.example.org.", DS), ("example.org.", self.example))
        self.assertEqual(router.route("example.org.", DS), ("example.org.", self.example))
        self.assertEqual(router.route("example.com.", DS), (".", self.root))
        self.assertIsNone(ZoneRouter([("a.", self.sub)]).route("b.", DS))

    def test_escaped_dots_are_not_label_boundaries(self) -> None:
        # the single label "www.example" under org.: not in example.org.
        self.assertEqual(self.router.route("www\\.example.org.", A), ("org.", self.org))
        self.assertEqual(self.router.route("a\\.b.sub.example.org.", A),
                         ("sub.example.org.", self.sub))
        self.assertEqual(self.router.route("x\\046y.example.org.", A),
                         ("example.org.", self.example))
        self.assertEqual(self.router.route("x\\\\.example.org.", DS), ("org.", self.org))

    def test_first_block_for_a_zone_wins(self) -> None:
        router = ZoneRouter([("example.org.", self.example), ("example.org.", self.sub)])
        self.assertEqual(router.route("example.org.", A), ("example.org.", self.example))


class ChaosTests(unittest.TestCase):
    def test_default_off(self) -> None:
        self.assertFalse(ZoneRouter([(".", block(directives=["whoami", "log"]))]).allow_chaos)

    def test_any_block_with_chaos_or_forward(self) -> None:
        for name in ("chaos", "forward"):
            router = ZoneRouter([("example.org.", block(directives=["log"])),
                                 (".", block(directives=[name]))])
            self.assertTrue(router.allow_chaos, name)
