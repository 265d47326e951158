"""The fast master-file reader: the same records as dnspython's zone reader, lines for errors."""

from __future__ import annotations

import os
import random

import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.zone
import dns.zonefile
from twisted.trial import unittest

from twisted_dns import wire
from twisted_dns.plugins.file import Zone, ZoneError, masterfile
from twisted_dns.request import Request

ZONES = os.path.join(os.path.dirname(__file__), os.pardir, "integration", "zones")

SOA = "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n  IN NS ns\n"

TTL_RULES = """\
@ IN SOA ns hostmaster 1 7200 3600 1209600 300
  IN NS ns
a IN A 192.0.2.1
b 60 IN A 192.0.2.2
c IN A 192.0.2.3
$TTL 1h
d IN A 192.0.2.4
e IN 2h A 192.0.2.5
f 1d1h IN A 192.0.2.6
g A 192.0.2.7
h CLASS1 3w A 192.0.2.8
"""

ORIGINS = SOA + """\
$TTL 300
$ORIGIN sub.example.org.
x IN CNAME y
y IN MX 10 @
$ORIGIN other.test.
outside IN A 192.0.2.9
$ORIGIN example.org.
back IN CNAME x.sub
$ORIGIN deeper.sub
z IN A 192.0.2.10
"""

SYNTAX = SOA + """\
$ttl 300
multi IN MX ( 10  ; a comment inside
              mail.example.org. )
txt IN TXT "a;b" "c\\"d" plain ""
    IN TXT ( "two"
             "lines" )
    IN SPF "v=spf1 -all"
long IN TXT "%s"
Upper.Case IN CNAME Target.EXAMPLE.org.
*.wild IN A 192.0.2.11
dup IN A 192.0.2.12
dup IN A 192.0.2.12
dup IN AAAA 2001:db8::1
dup IN AAAA 2001:DB8:0::1
_sip._tcp IN SRV 10 60 5060 sip
sip IN PTR host.elsewhere.test.
dn IN DNAME elsewhere.test.
caa IN CAA 0 issue "ca.example.net"
naptr IN NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.org!" .
sshfp IN SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac
gen IN TYPE65534 \\# 2 abcd
esc IN CNAME weird\\.label
ip6 IN AAAA ::ffff:192.0.2.1
""" % ("x" * 255)


def records(rrsets) -> dict:
    """(owner, type, covers) -> (ttl, rdatas), case folded, for comparing two readers."""
    out = {}
    for rrset in rrsets:
        key = (rrset.name.to_text().lower(), rrset.rdtype, rrset.covers)
        out[key] = (rrset.ttl, set(rrset))
    return out


def reference(text: str, origin: str) -> dict:
    """What dnspython's own zone reader makes of ``text``."""
    zone = dns.zone.from_text(text, origin, relativize=False, check_origin=False,
                              allow_include=True)
    rrsets = []
    for name, rdataset in zone.iterate_rdatasets():
        rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
        rrset.update(rdataset)
        rrsets.append(rrset)
    return records(rrsets)


class SameAsDnspython(unittest.TestCase):
    """Every record, TTL and RDATA as dnspython's reader has them."""

    def assert_same(self, text: str, origin: str = "example.org.", fast: bool = True) -> Zone:
        read = masterfile.read(text, dns.name.from_text(origin), "db")
        self.assertEqual(read is not None, fast, "which reader read the file")
        zone = Zone.from_text(text, origin, "db")
        self.assertEqual(records(zone.rrsets()), reference(text, origin))
        return zone

    def test_integration_zones(self) -> None:
        for name, origin in (("db.example.org", "example.org."), ("db.loop.test", "loop.test.")):
            with open(os.path.join(ZONES, name), encoding="utf-8") as handle:
                self.assert_same(handle.read(), origin)

    def test_ttl_rules(self) -> None:
        """No $TTL: the SOA's MINIMUM, then the last TTL stated; then $TTL; class-TTL order."""
        zone = self.assert_same(TTL_RULES)
        self.assertEqual([zone.get(f"{n}.example.org.", 1).ttl for n in "abcdefgh"],
                         [300, 60, 60, 3600, 7200, 90000, 3600, 1814400])

    def test_origins(self) -> None:
        """$ORIGIN moves relative names, records outside the zone are skipped."""
        zone = self.assert_same(ORIGINS)
        self.assertEqual(zone.get("x.sub.example.org.", 5)[0].target.to_text(),
                         "y.sub.example.org.")
        self.assertNotIn("outside.other.test.", zone)
        self.assertIn("z.deeper.sub.example.org.", zone)

    def test_syntax(self) -> None:
        """Parentheses, comments, quoting, case, duplicates, the types read by dnspython."""
        zone = self.assert_same(SYNTAX)
        self.assertEqual(zone.get("upper.case.example.org.", 5).name.to_text(),
                         "Upper.Case.example.org.")
        self.assertEqual(len(zone.get("dup.example.org.", 28)), 1)

    def test_last_name_after_blank_and_comment_lines(self) -> None:
        self.assert_same(SOA + "$TTL 60\nwww IN A 192.0.2.1\n\n; note\n   \n IN A 192.0.2.2\n")

    def test_escaped_owner_goes_to_dnspython(self) -> None:
        self.assert_same(SOA + "$TTL 60\nweird\\.owner IN A 192.0.2.1\n", fast=False)

    def test_include_goes_to_dnspython(self) -> None:
        folder = self.mktemp()
        os.makedirs(folder)
        path = os.path.join(folder, "extra")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("extra IN TXT \"included\"\n")
        self.assert_same(SOA + f"$TTL 60\n$INCLUDE {path}\n", fast=False)

    def test_root_zone(self) -> None:
        self.assert_same("$TTL 60\n. IN SOA a. b. 1 2 3 4 5\n. IN NS a.root.\ncom. IN NS x.com.\n"
                         "x.com. IN A 192.0.2.1\n", ".")


class RecordsKeptAsText(unittest.TestCase):
    """Names become RRsets when first read, not at load."""

    def test_made_on_first_read(self) -> None:
        zone = Zone.from_text(SOA + "$TTL 60\nwww IN A 192.0.2.1\n     IN A 192.0.2.1\n",
                              "example.org.")
        self.assertIsInstance(zone._nodes["www.example.org."], list)
        self.assertEqual(len(zone), 3)  # SOA, NS, the A once
        self.assertIsInstance(zone._nodes["www.example.org."], list)
        result = zone.lookup("WWW.example.org.", 1)
        self.assertEqual([r.address for r in result.answer[0]], ["192.0.2.1"])
        self.assertIsInstance(zone._nodes["www.example.org."], dict)
        self.assertEqual(len(zone), 3)


class Errors(unittest.TestCase):
    """A bad record is ``FILE:LINE: why``, with dnspython's words for its RDATA."""

    def assert_error(self, text: str, line: int, reason: str | None = None) -> ZoneError:
        exc = self.assertRaises(ZoneError, Zone.from_text, text, "example.org.", "db")
        self.assertEqual((exc.file, exc.line), ("db", line), str(exc))
        if reason is None:  # dnspython's reader says the same
            try:
                dns.zone.from_text(text, "example.org.", relativize=False, check_origin=False,
                                   filename="db", allow_include=True)
            except dns.exception.SyntaxError as e:
                reason = str(e).split(": ", 1)[1]
            else:
                self.fail("dnspython read it")
        self.assertEqual(exc.reason, reason)
        return exc

    def test_bad_rdata(self) -> None:
        self.assert_error(SOA + "$TTL 60\nbad IN A 192.0.2.300\n", 4)
        self.assert_error(SOA + "$TTL 60\nbad IN A 01.2.3.4\n", 4)
        self.assert_error(SOA + "$TTL 60\nbad IN MX 70000 mail\n", 4)
        self.assert_error(SOA + "$TTL 60\nbad IN TXT \"%s\"\n" % ("x" * 256), 4)
        too_long = ".".join(["a" * 63] * 4)
        self.assert_error(SOA + f"$TTL 60\nbad IN CNAME {too_long}\n", 4)

    def test_structure(self) -> None:
        self.assert_error(SOA + "$TTL 60\nx IN BOGUS 1\n", 4)
        self.assert_error(SOA + "$TTL 60\nx CH TXT \"chaos\"\n", 4)
        self.assert_error("x IN A 192.0.2.1\n", 1)
        self.assert_error(SOA + "$TTL 60\n$BOGUS 1\n", 4)
        self.assert_error(" IN A 192.0.2.1\n", 1)
        self.assert_error(SOA + "$TTL 60\nx IN TXT \"open\n", 4, "unbalanced quotes")
        self.assert_error(SOA + "$TTL 60\nx IN TXT ( \"a\"\n\n", 4, "unbalanced parentheses")
        self.assert_error(SOA + "$TTL 60\nx IN TXT \"a\" )\n", 4, "unbalanced parentheses")

    def test_cname_and_other_data(self) -> None:
        self.assert_error(SOA + "$TTL 60\nx IN A 192.0.2.1\n\nx IN CNAME y\n", 6,
                          "x.example.org. has a CNAME and other data")
        self.assert_error(SOA + "$TTL 60\nX IN CNAME y\nx IN TXT \"t\"\n", 5,
                          "X.example.org. has a CNAME and other data")

    def test_a_multi_line_record_is_reported_at_its_first_line(self) -> None:
        self.assert_error(SOA + "$TTL 60\nx IN SOA ( ns h\n  1 2 3 4 five )\n", 4,
                          "DNS TTL value is not well-formed.")  # dnspython: line 5



#: RDATA a random zone draws from, by type: plain and less plain forms of each
RANDOM_RDATA = {
    "A": ["192.0.2.1", "0.0.0.0"], "AAAA": ["2001:db8::1", "::ffff:192.0.2.1", "2001:DB8:0::1"],
    "NS": ["ns", "ns.example.org.", "@", "Target", "a\\046b"], "CNAME": ["t", "t.else.", "*.w.x"],
    "MX": ["10 mail", "65535 @", "0 ."], "SRV": ["1 2 3 target", "0 0 0 ."],
    "TXT": ['"hello"', '"a;b" c', "plain", '""', '"a\\"b"', '( "multi"\n "line" )', '"é"'],
    "PTR": ["p.example.org."], "DNAME": ["d.test."], "CAA": ['0 issue "ca"'],
    "HINFO": ['"cpu" "os"'], "SPF": ['"v=spf1"'],
}
RANDOM_OWNERS = ["@", "www", "WWW", "a.b", "*", "*.w", "x-y", "_sip._tcp", "", "Mixed.Example.ORG.",
                 "out.side.", "a/b"]
RANDOM_LINES = ["$ORIGIN sub.example.org.", "$ORIGIN example.org.", "$ORIGIN Other.", "$TTL 1h",
                "; a comment", ""]


def random_zone(rng: random.Random) -> str:
    """A valid zone of random lines: owners, TTLs, classes and types in any legal order."""
    lines = [rng.choice(["$TTL 300", ""]), "@ IN SOA ns hostmaster 1 2 3 4 5", " IN NS ns"]
    for _ in range(rng.randint(1, 15)):
        if rng.random() < 0.1:
            lines.append(rng.choice(RANDOM_LINES))
            continue
        rdtype = rng.choice(sorted(RANDOM_RDATA))
        ttl, rdclass = rng.choice(["", "", "60", "2h", "0"]), rng.choice(["", "IN", "in"])
        middle = [ttl, rdclass] if rng.random() < 0.7 else [rdclass, ttl]
        fields = [f for f in (*middle, rng.choice([rdtype, rdtype.lower()]),
                              rng.choice(RANDOM_RDATA[rdtype])) if f]
        owner = rng.choice(RANDOM_OWNERS)
        lines.append((f"{owner} " if owner else " ") + " ".join(fields))
    return "\n".join(lines) + "\n"


class RandomZones(unittest.TestCase):
    def test_same_records_as_dnspython(self) -> None:
        """Seeded random zones: the same records as dnspython's reader, or both refuse
        (a CNAME beside other data: dnspython's zone drops one, we name the line)."""
        rng = random.Random(20261128)
        compared = 0
        for _ in range(300):
            text = random_zone(rng)
            try:
                expected = reference(text, "example.org.")
            except dns.zonefile.CNAMEAndOtherData:
                self.assertRaises(ZoneError, Zone.from_text, text, "example.org.")
                continue
            self.assertEqual(records(Zone.from_text(text, "example.org.").rrsets()), expected,
                             text)
            compared += 1
        self.assertGreater(compared, 150)

    def test_wire_form_without_rdata(self) -> None:
        """What a transfer sends of a record kept as text is what its Rdata would send."""
        rng = random.Random(7)
        origin = dns.name.from_text("example.org.")
        checked = 0
        for text in (SYNTAX, ORIGINS, *(random_zone(rng) for _ in range(100))):
            try:
                read = masterfile.read(text, origin, "db")
            except ZoneError:
                continue
            for node in (read.nodes if read else {}).values():
                for rdtype, _, data in node[1:]:
                    self.assertEqual(masterfile.rdata_wire(rdtype, data),
                                     masterfile.rdata(rdtype, data).to_wire(), data)
                    checked += 1
        self.assertGreater(checked, 500)


class AnswersFromText(unittest.TestCase):
    """``Zone.wire_answer`` renders what a lookup of the same name would, byte for byte
    (PTR targets aside: they are not compressed)."""

    def rendered(self, zone: Zone, name: str, rdtype: int, fast: bool) -> bytes | None:
        query = dns.message.make_query(name, rdtype, id=4321)
        request = Request.from_wire(query.to_wire(), ("127.0.0.1", 1), ("127.0.0.1", 53), "udp")
        if fast:
            plain = zone.wire_answer(request.qname_lower, rdtype)
            if plain is None:
                return None
            return wire.from_rrsets(request, 0, [plain], zone.apex_ns, aa=True)
        result = zone.lookup(request.qname, rdtype)
        return wire.from_rrsets(request, result.rcode, result.answer, result.authority,
                                result.additional, aa=result.aa)

    def test_same_reply_as_a_lookup(self) -> None:
        texts = [SYNTAX, ORIGINS, *(random_zone(random.Random(seed)) for seed in range(120))]
        with open(os.path.join(ZONES, "db.example.org"), encoding="utf-8") as handle:
            texts.append(handle.read())
        answered = 0
        for text in texts:
            try:
                unread = Zone.from_text(text, "example.org.")  # wire_answer reads nothing
            except ZoneError:
                continue
            looked_up = Zone.from_text(text, "example.org.")
            for name in list(unread._nodes):
                for rdtype in (1, 28, 16, 12, 99, 15, 5, 2):
                    fast = self.rendered(unread, name, rdtype, True)
                    if fast is None:
                        continue
                    slow = self.rendered(looked_up, name, rdtype, False)
                    if rdtype == 12:  # a lookup's PTR target is compressed, this one is not
                        fast, slow = dns.message.from_wire(fast), dns.message.from_wire(slow)
                    self.assertEqual(fast, slow, (name, rdtype))
                    answered += 1
        self.assertGreater(answered, 100)

    def test_not_for_what_needs_more(self) -> None:
        zone = Zone.from_text(SOA + "$TTL 60\nmx IN MX 10 mail\nmail IN A 192.0.2.1\n"
                              "c IN CNAME mail\nsub IN NS ns.sub\nns.sub IN A 192.0.2.2\n",
                              "example.org.")
        self.assertIsNone(zone.wire_answer("mx.example.org.", 15))  # additional section
        self.assertIsNone(zone.wire_answer("c.example.org.", 1))  # a CNAME to follow
        self.assertIsNone(zone.wire_answer("ns.sub.example.org.", 1))  # below a cut
        self.assertIsNone(zone.wire_answer("mail.example.org.", 28))  # NODATA
        self.assertIsNotNone(zone.wire_answer("mail.example.org.", 1))
        zone.lookup("mail.example.org.", 1)
        self.assertIsNone(zone.wire_answer("mail.example.org.", 1))  # RRsets made: lookup
