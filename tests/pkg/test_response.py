"""twisted_dns.pkg.response: CoreDNS's Typify and Classify, on a Message and on its wire form.

Every case is typed twice, as the Message a plugin writes and as the bytes an upstream sends;
the two must agree with each other and with CoreDNS (``plugin/pkg/response/typify_test.go``
and the cases its plugins' tests add).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rrset
from twisted.trial import unittest

from twisted_dns.pkg.response import Class, Type, class_from_string, classify, typify

#: 2019-06; the signatures below are valid from 2019-01-01 to 2020-01-01
INSIDE = 1560000000
AFTER = 1600000000
BEFORE = 1500000000
SIG = "A 8 2 300 20200101000000 20190101000000 1234 example.org. AAAA"
SOA = "SOA ns. host. 1 2 3 4 5"


def reply(rcode: int = 0, answer: tuple[str, ...] = (), authority: tuple[str, ...] = (),
          qtype: str = "A", opcode: int = 0, do: bool = False) -> dns.message.Message:
    """A reply to ``example.org. qtype`` with records of ``example.org.`` ("TYPE RDATA")."""
    query = dns.message.make_query("example.org.", qtype)
    query.set_opcode(opcode)
    message = dns.message.make_response(query)
    if do or rcode > 15:
        message.use_edns(0, dns.flags.DO if do else 0)
    message.set_rcode(rcode)
    for section, texts in ((message.answer, answer), (message.authority, authority)):
        for text in texts:
            section.append(dns.rrset.from_text("example.org.", 300, "IN", *text.split(" ", 1)))
    return message


class Case(NamedTuple):
    name: str
    build: Callable[[], dns.message.Message]
    now: float
    type: Type
    cls: Class


CASES = [
    Case("an answer", lambda: reply(answer=("A 192.0.2.1",)), 0, Type.NOERROR, Class.SUCCESS),
    Case("an answer of another type", lambda: reply(answer=("CNAME other.example.",)), 0,
         Type.NOERROR, Class.SUCCESS),
    Case("MX", lambda: reply(answer=("MX 10 mx.example.",), qtype="MX"), 0, Type.NOERROR,
         Class.SUCCESS),
    Case("empty NOERROR", lambda: reply(), 0, Type.NOERROR, Class.SUCCESS),
    Case("NODATA", lambda: reply(authority=(SOA,)), 0, Type.NODATA, Class.DENIAL),
    Case("NXDOMAIN", lambda: reply(dns.rcode.NXDOMAIN, authority=(SOA,)), 0, Type.NAMEERROR,
         Class.DENIAL),
    Case("NXDOMAIN without SOA", lambda: reply(dns.rcode.NXDOMAIN), 0, Type.NAMEERROR,
         Class.DENIAL),
    Case("NXDOMAIN with an answer", lambda: reply(dns.rcode.NXDOMAIN,
                                                  answer=("CNAME other.example.",)),
         0, Type.OTHERERROR, Class.ERROR),
    Case("delegation", lambda: reply(authority=("NS ns.example.",)), 0, Type.DELEGATION,
         Class.SUCCESS),
    Case("SERVFAIL", lambda: reply(dns.rcode.SERVFAIL), 0, Type.SERVERERROR, Class.ERROR),
    Case("NOTIMP", lambda: reply(dns.rcode.NOTIMP), 0, Type.SERVERERROR, Class.ERROR),
    Case("REFUSED", lambda: reply(dns.rcode.REFUSED), 0, Type.OTHERERROR, Class.ERROR),
    Case("BADVERS (an extended rcode)", lambda: reply(dns.rcode.BADVERS), 0, Type.OTHERERROR,
         Class.ERROR),
    Case("AXFR", lambda: reply(answer=(SOA,), qtype="AXFR"), 0, Type.META, Class.ERROR),
    Case("IXFR", lambda: reply(qtype="IXFR"), 0, Type.META, Class.ERROR),
    Case("NOTIFY", lambda: reply(opcode=dns.opcode.NOTIFY), 0, Type.META, Class.ERROR),
    Case("UPDATE", lambda: reply(opcode=dns.opcode.UPDATE), 0, Type.UPDATE, Class.ERROR),
    Case("DO, a valid signature", lambda: reply(answer=("A 192.0.2.1", f"RRSIG {SIG}"), do=True),
         INSIDE, Type.NOERROR, Class.SUCCESS),
    Case("DO, an expired signature", lambda: reply(answer=("A 192.0.2.1", f"RRSIG {SIG}"),
                                                   do=True),
         AFTER, Type.OTHERERROR, Class.ERROR),
    Case("DO, a signature not valid yet", lambda: reply(authority=("NS ns.example.",
                                                                   f"RRSIG {SIG}"), do=True),
         BEFORE, Type.OTHERERROR, Class.ERROR),
    Case("no DO, signatures are not judged", lambda: reply(answer=("A 192.0.2.1",
                                                                   f"RRSIG {SIG}")),
         AFTER, Type.NOERROR, Class.SUCCESS),
]


class TypifyTests(unittest.TestCase):
    def test_message_and_wire(self) -> None:
        for case in CASES:
            message = case.build()
            for form in (message, message.to_wire()):
                with self.subTest(case.name, form=type(form).__name__):
                    self.assertIs(typify(form, case.now), case.type)

    def test_classes(self) -> None:
        for case in CASES:
            with self.subTest(case.name):
                self.assertIs(classify(case.type), case.cls)

    def test_nothing_written(self) -> None:
        self.assertIs(typify(None, 0), Type.OTHERERROR)

    def test_bytes_that_are_no_message(self) -> None:
        data = reply(answer=("A 192.0.2.1",)).to_wire()
        for bad in (b"garbage", data[:-1], data[:12] + b"\xc0"):
            with self.subTest(bad=bad):
                self.assertIs(typify(bad, 0), Type.OTHERERROR)


class NamesTests(unittest.TestCase):
    def test_types_print_as_coredns(self) -> None:
        self.assertEqual([str(t) for t in Type],
                         ["NOERROR", "NXDOMAIN", "SERVERERROR", "NODATA", "DELEGATION", "META",
                          "UPDATE", "OTHERERROR"])

    def test_class_from_string(self) -> None:
        self.assertEqual([class_from_string(text) for text in ("all", "success", "denial",
                                                                "error")],
                         [Class.ALL, Class.SUCCESS, Class.DENIAL, Class.ERROR])
        self.assertEqual(f"{Class.DENIAL}", "denial")
        exc = self.assertRaises(ValueError, class_from_string, "Denial")
        self.assertEqual(str(exc), "invalid Class: Denial")
