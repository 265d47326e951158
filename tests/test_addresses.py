"""twisted_dns.addresses: host:port text as Go's net package writes and reads it."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.addresses import (
    bracketed,
    join_host_port,
    parse_host,
    parse_port,
    split_host_port,
    split_optional_port,
)


class JoinTests(unittest.TestCase):
    def test_ipv4_and_names_as_they_are(self) -> None:
        self.assertEqual(join_host_port("192.0.2.1", 53), "192.0.2.1:53")
        self.assertEqual(join_host_port("localhost", "8080"), "localhost:8080")

    def test_every_address(self) -> None:
        self.assertEqual(join_host_port("", 53), ":53")

    def test_ipv6_in_brackets(self) -> None:
        self.assertEqual(join_host_port("::1", 53), "[::1]:53")
        self.assertEqual(join_host_port("fe80::1%eth0", 53), "[fe80::1%eth0]:53")

    def test_bracketed_host(self) -> None:
        self.assertEqual(bracketed("2001:db8::1"), "[2001:db8::1]")
        self.assertEqual(bracketed("192.0.2.1"), "192.0.2.1")
        self.assertEqual(bracketed(""), "")

    def test_split_undoes_join(self) -> None:
        for host in ("192.0.2.1", "::1", "fe80::1%eth0", "", "localhost"):
            with self.subTest(host=host):
                self.assertEqual(split_host_port(join_host_port(host, 53)), (host, "53"))


class SplitTests(unittest.TestCase):
    def test_good(self) -> None:
        good = {":8080": ("", "8080"), "localhost:8091": ("localhost", "8091"),
                "192.0.2.1:53": ("192.0.2.1", "53"), "[::1]:8181": ("::1", "8181"),
                "[fe80::1%eth0]:80": ("fe80::1%eth0", "80"), "bla:a": ("bla", "a"),
                "[::1]:": ("::1", "")}
        for address, parts in good.items():
            with self.subTest(address=address):
                self.assertEqual(split_host_port(address), parts)

    def test_bad_with_go_messages(self) -> None:
        bad = {"bla": "missing port in address", "::1": "too many colons in address",
               "::1:80": "too many colons in address", "[::1]": "missing port in address",
               "[::1]x:80": "missing port in address", "[::1:80": "missing ']' in address",
               "[::1]:80:1": "too many colons in address", "[a[b]:80": "unexpected '[' in address",
               "a]:80": "unexpected ']' in address",
               "fe80::1%eth0:53": "too many colons in address"}
        for address, why in bad.items():
            with self.subTest(address=address):
                exc = self.assertRaises(ValueError, split_host_port, address)
                self.assertEqual(str(exc), f"address {address}: {why}")


class OptionalPortTests(unittest.TestCase):
    def test_split(self) -> None:
        cases = {"192.0.2.1": ("192.0.2.1", None), "192.0.2.1:5300": ("192.0.2.1", "5300"),
                 "::1": ("::1", None), "[::1]": ("::1", None), "[::1]:5300": ("::1", "5300"),
                 "fe80::1%eth0": ("fe80::1%eth0", None),
                 "[fe80::1%eth0]:53": ("fe80::1%eth0", "53")}
        for text, parts in cases.items():
            with self.subTest(text=text):
                self.assertEqual(split_optional_port(text), parts)

    def test_unbalanced_brackets(self) -> None:
        for text in ("[::1", "[::1]x", "[::1]5300"):
            with self.subTest(text=text):
                exc = self.assertRaises(ValueError, split_optional_port, text)
                self.assertEqual(str(exc), f"not an IP address: {text!r}")

    def test_port(self) -> None:
        self.assertEqual(parse_port("53"), 53)
        self.assertEqual(parse_port("65535"), 65535)
        for text in ("0", "65536", "", "-1", "dns", "\uff15\uff13"):  # full-width digits
            with self.subTest(text=text):
                self.assertIsNone(parse_port(text))


class ParseHostTests(unittest.TestCase):
    def test_ipv4(self) -> None:
        self.assertEqual(parse_host("192.0.2.1"), ("192.0.2.1", 53))
        self.assertEqual(parse_host("192.0.2.1:5353"), ("192.0.2.1", 5353))

    def test_ipv6(self) -> None:
        self.assertEqual(parse_host("2001:db8::1"), ("2001:db8::1", 53))
        self.assertEqual(parse_host("[2001:DB8:0::1]:5300"), ("2001:db8::1", 5300))
        self.assertEqual(parse_host("[::1]"), ("::1", 53))

    def test_zone_ids(self) -> None:
        self.assertEqual(parse_host("fe80::1%eth0"), ("fe80::1%eth0", 53))
        self.assertEqual(parse_host("[fe80::1%eth0]:5300"), ("fe80::1%eth0", 5300))

    def test_default_port(self) -> None:
        self.assertEqual(parse_host("192.0.2.1", 853), ("192.0.2.1", 853))
        self.assertEqual(parse_host("192.0.2.1:53", 853), ("192.0.2.1", 53))

    def test_errors_name_the_text(self) -> None:
        cases = {"[::1": "not an IP address: '[::1'",
                 "192.0.2.1:99999": "invalid port in '192.0.2.1:99999'",
                 "192.0.2.1:": "invalid port in '192.0.2.1:'",
                 "[::1]:0": "invalid port in '[::1]:0'",
                 "not-an-ip": "not an IP address: 'not-an-ip'",
                 "example.org:53": "not an IP address: 'example.org:53'",
                 "192.0.2.1%eth0": "not an IP address: '192.0.2.1%eth0'"}
        for text, message in cases.items():
            with self.subTest(text=text):
                exc = self.assertRaises(ValueError, parse_host, text)
                self.assertEqual(str(exc), message)
