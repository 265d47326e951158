"""The *whoami* plugin: setup, the wire-built reply, and the server answering it."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.plugins.whoami.setup import setup
from twisted_dns.plugins.whoami.whoami import Whoami
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    check_examples,
    configure,
    corefile_examples,
    default_registry,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)


def additional(reply: dns.message.Message) -> dict[tuple[str, int], dns.rrset.RRset]:
    """The additional section by (owner name as sent, type)."""
    return {(rrset.name.to_text(), rrset.rdtype): rrset for rrset in reply.additional}


class SetupTests(unittest.TestCase):
    def test_plain(self) -> None:
        config = configure(setup, "whoami", ". {\n    whoami\n}\n")
        self.assertIsInstance(config.chain, Whoami)
        self.assertEqual(config.chain.Name(), "whoami")

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("whoami"), setup)

    def test_argument(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "whoami",
                                ". {\n    whoami example.org\n}\n")
        self.assertEqual(str(exc), "Corefile:2: wrong argument count or unexpected line "
                                   "ending after 'example.org'")

    def test_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "whoami",
                                ". {\n    whoami {\n        fast\n    }\n}\n")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'fast'")

    def test_second_line_checked_too(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "whoami",
                                ". {\n    whoami\n    whoami x\n}\n")
        self.assertEqual(str(exc), "Corefile:3: wrong argument count or unexpected line "
                                   "ending after 'x'")


class HandlerTests(unittest.TestCase):
    def serve(self, *args, **kwargs) -> tuple[dns.message.Message, object]:
        request = make_request(*args, **kwargs)
        writer = CaptureWriter(request)
        self.assertEqual(Whoami().ServeDNS(request, writer), 0)
        return reply_of(writer), request

    def test_udp_ipv4(self) -> None:
        reply, request = self.serve("Example.ORG", "A", client=("192.0.2.7", 40212))
        self.assertEqual(reply.id, request.id)
        self.assertTrue(reply.flags & dns.flags.QR)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertTrue(reply.flags & dns.flags.RD)  # copied from the query
        self.assertEqual(reply.rcode(), 0)
        self.assertEqual(reply.question[0].to_text(), "Example.ORG. IN A")
        self.assertEqual(reply.answer, [])
        self.assertEqual(reply.authority, [])
        self.assertEqual(len(reply.additional), 2)
        records = additional(reply)
        a = records[("Example.ORG.", dns.rdatatype.A)]
        self.assertEqual((a.ttl, a.rdclass, [r.address for r in a]),
                         (0, dns.rdataclass.IN, ["192.0.2.7"]))
        srv = records[("_udp.Example.ORG.", dns.rdatatype.SRV)]
        self.assertEqual(srv.ttl, 0)
        self.assertEqual([(r.priority, r.weight, r.port, r.target.to_text()) for r in srv],
                         [(0, 0, 40212, ".")])

    def test_tcp(self) -> None:
        reply, _ = self.serve("example.org", proto="tcp", client=("127.0.0.1", 5300))
        srv = additional(reply)[("_tcp.example.org.", dns.rdatatype.SRV)]
        self.assertEqual(srv[0].port, 5300)

    def test_ipv6(self) -> None:
        reply, _ = self.serve("example.org", client=("2001:db8::53", 1234, 0, 0))
        aaaa = additional(reply)[("example.org.", dns.rdatatype.AAAA)]
        self.assertEqual(aaaa[0].address, "2001:db8::53")

    def test_ipv6_link_local_zone(self) -> None:
        reply, _ = self.serve("example.org", client=("fe80::1%eth0", 1234, 0, 2))
        self.assertEqual(additional(reply)[("example.org.", dns.rdatatype.AAAA)][0].address,
                         "fe80::1")

    def test_ipv4_mapped(self) -> None:
        reply, _ = self.serve("example.org", client=("::ffff:192.0.2.9", 1234, 0, 0))
        self.assertEqual(additional(reply)[("example.org.", dns.rdatatype.A)][0].address,
                         "192.0.2.9")

    def test_root(self) -> None:
        reply, _ = self.serve(".", "NS")
        self.assertEqual(set(additional(reply)), {(".", dns.rdatatype.A),
                                                  ("_udp.", dns.rdatatype.SRV)})

    def test_any_type_and_class(self) -> None:
        # HS, not CH: a CH-class A record has Chaosnet rdata, which dnspython would not read
        reply, _ = self.serve("example.org", "MX", "HS", client=("127.0.0.1", 40212))
        self.assertEqual(reply.question[0].to_text(), "example.org. HS MX")
        self.assertEqual([rrset.to_text() for rrset in reply.additional],
                         ["example.org. 0 HS A \\# 4 7f000001",
                          "_udp.example.org. 0 HS SRV \\# 7 000000009d1400"])

    def test_ch_class_has_no_a_record(self) -> None:
        # a CH-class A record holds a Chaosnet address, which four IPv4 octets are not
        reply, _ = self.serve("example.org", "TXT", "CH", client=("127.0.0.1", 40212))
        self.assertEqual(set(additional(reply)), {("_udp.example.org.", dns.rdatatype.SRV)})

    def test_ch_class_keeps_aaaa(self) -> None:
        reply, _ = self.serve("example.org", "TXT", "CH", client=("2001:db8::53", 1234, 0, 0))
        self.assertEqual(set(additional(reply)), {("example.org.", dns.rdatatype.AAAA),
                                                  ("_udp.example.org.", dns.rdatatype.SRV)})

    def test_srv_left_out_when_its_name_would_be_too_long(self) -> None:
        # 3 labels of 63 octets and one of 56: 250 octets, so _udp.<qname> has 255
        longest = ".".join(["a" * 63] * 3 + ["b" * 56]) + "."
        reply, _ = self.serve(longest, proto="tcp")
        self.assertEqual(set(additional(reply)), {(longest, dns.rdatatype.A),
                                                  ("_tcp." + longest, dns.rdatatype.SRV)})
        too_long = longest.replace("b" * 56, "b" * 57)
        reply, request = self.serve(too_long)
        self.assertEqual(len(request.question_wire), 251 + 4)
        self.assertEqual(set(additional(reply)), {(too_long, dns.rdatatype.A)})

    def test_edns(self) -> None:
        reply, _ = self.serve("example.org", use_edns=0, want_dnssec=True)
        self.assertEqual(reply.edns, 0)
        self.assertTrue(reply.ednsflags & dns.flags.DO)
        self.assertEqual(len(reply.additional), 2)

    def test_without_edns(self) -> None:
        reply, _ = self.serve("example.org")
        self.assertEqual(reply.edns, -1)

    def test_no_dnspython(self) -> None:
        """The fast path never decodes the query: it writes wire bytes the writer sends as is."""
        request = make_request("example.org", use_edns=0)
        writer = CaptureWriter(request)
        Whoami().ServeDNS(request, writer)
        self.assertIsNone(request._message)
        self.assertEqual(len(writer.sent), 1)


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def check(self, proto: str):
        server = yield start_server(". {\n    whoami\n}\n")
        self.addCleanup(server.stop)
        reply = yield server.query("www.Example.org", "AAAA", proto=proto)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertEqual(reply.answer, [])
        records = additional(reply)
        self.assertEqual(records[("www.Example.org.", dns.rdatatype.A)][0].address,
                         "127.0.0.1")
        port = records[(f"_{proto}.www.Example.org.", dns.rdatatype.SRV)][0].port
        self.assertNotEqual(port, 0)
        self.assertNotEqual(port, server.port)

    def test_udp(self):
        return self.check("udp")

    def test_tcp(self):
        return self.check("tcp")


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        check_examples(self, "whoami", 1)

    @defer.inlineCallbacks
    def test_example_serves(self):
        server = yield start_server(corefile_examples(plugin_readme("whoami"))[0])
        self.addCleanup(server.stop)
        reply = yield server.query("example.org", "A")
        self.assertEqual(len(reply.additional), 2)
