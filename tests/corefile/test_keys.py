"""Tests for twisted_dns.corefile.keys: server block keys as CoreDNS reads them."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.corefile.keys import (
    SCHEME_PORTS,
    SERVED_SCHEMES,
    ZoneAddr,
    parse_key,
    parse_server_key,
)
from twisted_dns.corefile.lexer import Token
from twisted_dns.errors import ConfigError


def key(text: str) -> list[ZoneAddr]:
    return parse_key(Token(text, "Corefile", 7))


def zones(text: str) -> list[str]:
    return [addr.zone for addr in key(text)]


class ParseKeyTests(unittest.TestCase):
    def assertKeyError(self, text: str, message: str) -> None:
        error = self.assertRaises(ConfigError, key, text)
        self.assertEqual(str(error), f"Corefile:7: {message}")

    def test_zone_is_absolute_and_lower_case(self) -> None:
        self.assertEqual(key("Example.ORG"), [ZoneAddr("dns", "example.org.", None)])
        self.assertEqual(key("example.org."), [ZoneAddr("dns", "example.org.", None)])

    def test_root(self) -> None:
        self.assertEqual(key("."), [ZoneAddr("dns", ".", None)])
        self.assertEqual(key(".:1053"), [ZoneAddr("dns", ".", 1053)])

    def test_location_is_kept(self) -> None:
        (addr,) = key("example.org")
        self.assertEqual((addr.file, addr.line), ("Corefile", 7))

    def test_port(self) -> None:
        self.assertEqual(key("example.org:1053"), [ZoneAddr("dns", "example.org.", 1053)])
        self.assertEqual(key("example.org:0"), [ZoneAddr("dns", "example.org.", 0)])
        self.assertEqual(key("example.org:65535")[0].port, 65535)

    def test_schemes(self) -> None:
        for scheme in SCHEME_PORTS:
            self.assertEqual(key(f"{scheme}://example.org"),
                             [ZoneAddr(scheme, "example.org.", None)])
        self.assertEqual(key("TLS://Example.org:8853"), [ZoneAddr("tls", "example.org.", 8853)])

    def test_default_ports(self) -> None:
        self.assertEqual(SCHEME_PORTS, {"dns": 53, "tls": 853, "quic": 853, "grpc": 443,
                                        "https": 443, "https3": 443})
        for scheme, port in SCHEME_PORTS.items():
            (addr,) = key(f"{scheme}://example.org")
            self.assertEqual(addr.with_port().port, port)
            self.assertEqual(addr.with_port(1053).port, 1053)
        (explicit,) = key("tls://example.org:5353")
        self.assertEqual(explicit.with_port(853).port, 5353)

    def test_unknown_scheme(self) -> None:
        self.assertKeyError("udp://example.org",
                            "unknown scheme 'udp' in 'udp://example.org' "
                            "(expected one of dns, tls, quic, grpc, https, https3)")

    def test_bad_ports(self) -> None:
        self.assertKeyError("example.org:65536",
                            "port 65536 out of range (0-65535) in 'example.org:65536'")
        self.assertKeyError("example.org:dns", "invalid port 'dns' in 'example.org:dns'")
        self.assertKeyError("example.org:-1", "invalid port '-1' in 'example.org:-1'")
        self.assertKeyError("example.org:", "expecting data after last colon: 'example.org:'")

    def test_bad_zones(self) -> None:
        self.assertKeyError(":53", "missing zone in ':53'")
        self.assertKeyError("dns://", "missing zone in 'dns://'")
        self.assertKeyError("a..b", "zone is not a valid domain name: a..b "
                                    "(A DNS label is empty.)")
        self.assertKeyError("2001:db8::1", "zone is not a valid domain name: 2001:db8::1 (use "
                                           "CIDR notation, e.g. 2001:db8::/32, for a reverse "
                                           "zone)")

    def test_string_form(self) -> None:
        self.assertEqual(str(ZoneAddr("dns", "example.org.", 53)), "dns://example.org.:53")
        self.assertEqual(str(ZoneAddr("tls", ".", None)), "tls://.")

    def test_equality_ignores_location(self) -> None:
        first = ZoneAddr("dns", "example.org.", 53, "a", 1)
        second = ZoneAddr("dns", "example.org.", 53, "b", 9)
        self.assertEqual(first, second)
        self.assertEqual(len({first, second}), 1)
        self.assertNotEqual(first, ZoneAddr("tls", "example.org.", 53))
        self.assertNotEqual(first, ZoneAddr("dns", "example.org.", None))


class ReverseZoneTests(unittest.TestCase):
    """CIDR zones become the reverse zones CoreDNS makes of them (``plugin/pkg/cidr``)."""

    def test_octet_boundaries(self) -> None:
        self.assertEqual(zones("10.0.0.0/8"), ["10.in-addr.arpa."])
        self.assertEqual(zones("172.16.0.0/16"), ["16.172.in-addr.arpa."])
        self.assertEqual(zones("192.168.1.0/24"), ["1.168.192.in-addr.arpa."])
        self.assertEqual(zones("192.168.1.7/32"), ["7.1.168.192.in-addr.arpa."])

    def test_host_bits_are_masked(self) -> None:
        self.assertEqual(zones("10.1.2.3/8"), ["10.in-addr.arpa."])

    def test_off_boundary_v4_is_split(self) -> None:
        self.assertEqual(zones("10.0.0.0/15"), ["0.10.in-addr.arpa.", "1.10.in-addr.arpa."])
        self.assertEqual(zones("10.0.0.0/17"),
                         [f"{i}.0.10.in-addr.arpa." for i in range(128)])

    def test_slash_25_is_128_host_zones(self) -> None:
        found = zones("dns://10.0.0.0/25")
        self.assertEqual(len(found), 128)
        self.assertEqual(found[0], "0.0.0.10.in-addr.arpa.")
        self.assertEqual(found[-1], "127.0.0.10.in-addr.arpa.")
        self.assertEqual(found, [f"{i}.0.0.10.in-addr.arpa." for i in range(128)])

    def test_port_and_scheme_apply_to_every_zone(self) -> None:
        self.assertEqual(key("tls://10.0.0.0/15:1053"),
                         [ZoneAddr("tls", "0.10.in-addr.arpa.", 1053),
                          ZoneAddr("tls", "1.10.in-addr.arpa.", 1053)])

    def test_v6_nibble_boundary(self) -> None:
        self.assertEqual(zones("2001:db8::/32"), ["8.b.d.0.1.0.0.2.ip6.arpa."])
        self.assertEqual(key("2001:db8::/32:1053"),
                         [ZoneAddr("dns", "8.b.d.0.1.0.0.2.ip6.arpa.", 1053)])

    def test_v6_off_nibble_is_split(self) -> None:
        self.assertEqual(zones("2001:db8::/30"), ["8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "9.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "a.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "b.b.d.0.1.0.0.2.ip6.arpa."])
        self.assertEqual(zones("2001:db8::/33"), ["0.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "1.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "2.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "3.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "4.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "5.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "6.8.b.d.0.1.0.0.2.ip6.arpa.",
                                                  "7.8.b.d.0.1.0.0.2.ip6.arpa."])

    def test_whole_v4_space(self) -> None:
        self.assertEqual(zones("0.0.0.0/0"), ["in-addr.arpa."])

    def test_invalid_cidrs(self) -> None:
        error = self.assertRaises(ConfigError, key, "10.0.0.0/33")
        self.assertEqual(str(error), "Corefile:7: invalid CIDR 10.0.0.0/33: "
                                     "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 "
                                     "network")
        # CoreDNS refuses these forms too
        error = self.assertRaises(ConfigError, key, "::/0")
        self.assertEqual(str(error), "Corefile:7: invalid CIDR ::/0")


class ParseServerKeyTests(unittest.TestCase):
    def test_served_schemes(self) -> None:
        self.assertEqual(parse_server_key(Token("dns://Example.org:53", "Corefile", 7)),
                         [ZoneAddr("dns", "example.org.", 53)])
        self.assertEqual(len(parse_server_key(Token("10.0.0.0/15", "Corefile", 7))), 2)

    def test_schemes_without_a_transport(self) -> None:
        unserved = [scheme for scheme in SCHEME_PORTS if scheme not in SERVED_SCHEMES]
        self.assertEqual(unserved, ["tls", "quic", "grpc", "https", "https3"])
        for scheme in unserved:
            error = self.assertRaises(ConfigError, parse_server_key,
                                      Token(f"{scheme}://example.org", "Corefile", 7))
            self.assertEqual(str(error), f"Corefile:7: cannot serve '{scheme}://example.org': "
                                         f"no {scheme}:// transport yet (served: dns://)")
