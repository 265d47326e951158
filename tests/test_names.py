"""twisted_dns.names: escape-aware zone names, checked against dnspython's own name logic."""

from __future__ import annotations

import itertools

import dns.message
import dns.name
from twisted.trial import unittest

from twisted_dns.names import (
    ZoneIndex,
    is_subdomain,
    label_text,
    longest_match,
    name_text,
    normalize,
    parent,
)
from twisted_dns.request import Request

#: labels that make text comparison go wrong: dots, backslashes, escapes, case, a zone's text
TRICKY_LABELS = [b"a", b"A", b"a.b", b"b", b".", b"\\", b"x\\", b"\x00", b"046"]


def names_of(labels: list[bytes], most: int) -> list[tuple[bytes, ...]]:
    """Every name of up to ``most`` of ``labels`` (the root too), as label tuples."""
    return [combo for size in range(most + 1)
            for combo in itertools.product(labels, repeat=size)]


def as_text(labels: tuple[bytes, ...]) -> str:
    """The name as a query would give it (``qname_lower``)."""
    return dns.name.Name([*labels, b""]).to_text().lower()


class NormalizeTests(unittest.TestCase):
    def test_lower_case_and_absolute(self) -> None:
        self.assertEqual(normalize("Example.ORG"), "example.org.")
        self.assertEqual(normalize("example.org."), "example.org.")
        self.assertEqual(normalize("."), ".")
        self.assertEqual(normalize(""), ".")

    def test_escaped_dot_stays_in_its_label(self) -> None:
        self.assertEqual(normalize("A\\.Example.org"), "a\\.example.org.")
        self.assertEqual(normalize("a\\046example.org."), "a\\.example.org.")
        # a name ending in an escaped dot is relative: the root still has to be added
        self.assertEqual(normalize("a\\."), "a\\..")

    def test_decimal_escapes_are_octets(self) -> None:
        # RFC 1035 5.1: \065 is the octet "A", and RFC 4343 makes "A" and "a" the same
        self.assertEqual(normalize("\\065.example.org."), "a.example.org.")
        self.assertEqual(normalize("\\065.example.org."), normalize("A.example.org."))
        self.assertEqual(normalize("\\a\\-b.org"), "a-b.org.")
        self.assertEqual(normalize("\\000.org"), "\\000.org.")

    def test_backslashes(self) -> None:
        self.assertEqual(normalize("\\\\.example.org"), "\\\\.example.org.")
        self.assertEqual(normalize("a\\\\\\.b.org"), "a\\\\\\.b.org.")

    def test_a_backslash_starting_no_escape_stands_for_itself(self) -> None:
        self.assertEqual(normalize("a\\"), "a\\\\.")
        self.assertEqual(normalize("a\\25.org"), "a\\\\25.org.")
        self.assertEqual(normalize("a\\256.org"), "a\\\\256.org.")

    def test_characters_a_query_would_escape(self) -> None:
        self.assertEqual(normalize("a(b).org"), "a\\(b\\).org.")
        self.assertEqual(normalize("a b.org"), "a\\032b.org.")
        self.assertEqual(normalize("bü.de"), "b\\195\\188.de.")

    def test_normalized_text_is_what_a_query_gives(self) -> None:
        for labels in names_of([b"A", b"a.b", b"\\", b"(", b" ", b"\x7f", b"\xff"], 2):
            name = dns.name.Name([*labels, b""])
            wire = dns.message.make_query(name, "A").to_wire()
            request = Request.from_wire(wire, ("127.0.0.1", 5300), ("127.0.0.1", 53), "udp")
            with self.subTest(name=name):
                self.assertEqual(normalize(name.to_text()), request.qname_lower)
                self.assertEqual(normalize(name.to_text()), as_text(labels))


class TextTests(unittest.TestCase):
    def test_label_text_as_dnspython(self) -> None:
        for octet in range(256):
            label = bytes([0x61, octet])
            with self.subTest(octet=octet):
                self.assertEqual(label_text(label), dns.name.Name([label]).to_text())

    def test_name_text(self) -> None:
        self.assertEqual(name_text([b"a.b", b"org"]), "a\\.b.org.")
        self.assertEqual(name_text([]), ".")


class SubdomainTests(unittest.TestCase):
    def test_by_label(self) -> None:
        self.assertTrue(is_subdomain("a.example.org.", "example.org."))
        self.assertTrue(is_subdomain("example.org.", "example.org."))
        self.assertFalse(is_subdomain("badexample.org.", "example.org."))
        self.assertFalse(is_subdomain("org.", "example.org."))
        self.assertTrue(is_subdomain("anything.", "."))
        self.assertTrue(is_subdomain(".", "."))

    def test_escaped_dot_is_no_boundary(self) -> None:
        # the label "a.example" under org.
        self.assertFalse(is_subdomain("a\\.example.org.", "example.org."))
        self.assertTrue(is_subdomain("a\\.example.org.", "org."))
        # an escaped backslash, then a real dot
        self.assertTrue(is_subdomain("a\\\\.example.org.", "example.org."))
        self.assertFalse(is_subdomain("a\\\\\\.example.org.", "example.org."))
        self.assertTrue(is_subdomain("x.a\\.example.org.", "a\\.example.org."))
        self.assertFalse(is_subdomain("x\\.a\\.example.org.", "a\\.example.org."))

    def test_agrees_with_dnspython(self) -> None:
        zones = names_of(TRICKY_LABELS, 2)
        for labels in names_of(TRICKY_LABELS, 3):
            name = dns.name.Name([*labels, b""])
            text = as_text(labels)
            for zone in zones:
                expected = name.is_subdomain(dns.name.Name([*zone, b""]))
                self.assertEqual(is_subdomain(text, as_text(zone)), expected, (text, zone))


class ParentTests(unittest.TestCase):
    def test_one_label_up(self) -> None:
        self.assertEqual(parent("www.example.org."), "example.org.")
        self.assertEqual(parent("org."), ".")
        self.assertEqual(parent("."), ".")

    def test_escapes(self) -> None:
        self.assertEqual(parent("a\\.b.example.org."), "example.org.")
        self.assertEqual(parent("a\\\\.example.org."), "example.org.")
        self.assertEqual(parent("a\\046b\\\\\\..org."), "org.")

    def test_agrees_with_dnspython(self) -> None:
        for labels in names_of(TRICKY_LABELS, 3)[1:]:
            self.assertEqual(parent(as_text(labels)), as_text(labels[1:]), labels)


class LongestMatchTests(unittest.TestCase):
    def test_longest(self) -> None:
        zones = [".", "example.org.", "sub.example.org."]
        self.assertEqual(longest_match(zones, "a.sub.example.org."), "sub.example.org.")
        self.assertEqual(longest_match(zones, "a.example.org."), "example.org.")
        self.assertEqual(longest_match(zones, "example.net."), ".")
        self.assertIsNone(longest_match(["example.org."], "example.net."))

    def test_escaped_name(self) -> None:
        zones = ["org.", "example.org."]
        self.assertEqual(longest_match(zones, "a\\.example.org."), "org.")
        self.assertEqual(longest_match(zones, "a\\\\.example.org."), "example.org.")
        self.assertIsNone(longest_match(["example.org."], "a\\.example.org."))

    def test_zone_index_agrees(self) -> None:
        all_zones = sorted({as_text(zone) for zone in names_of(TRICKY_LABELS[:5], 2)})
        zone_sets = [all_zones, all_zones[1:], ["a\\.b.", "b.", "a.b."], ["b."]]
        for zones in zone_sets:
            index = ZoneIndex(zones)
            for labels in names_of(TRICKY_LABELS, 3):
                name = as_text(labels)
                expected = sorted((zone for zone in zones if is_subdomain(name, zone)),
                                  key=len, reverse=True)
                self.assertEqual(index.longest(name), longest_match(zones, name), name)
                self.assertEqual(index.holding(name), expected, name)
