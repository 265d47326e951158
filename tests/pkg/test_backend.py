"""Records from a service backend (twisted_dns.pkg.backend): CoreDNS's
``plugin/backend_lookup_test.go`` and ``plugin/etcd/msg/*_test.go``, ported."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import dns.message
import dns.rrset
from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.trial import unittest

from twisted_dns.pkg import backend
from twisted_dns.pkg.backend import (
    TYPE_A,
    TYPE_AAAA,
    TYPE_CNAME,
    TYPE_TXT,
    BackendError,
    BadName,
    Service,
    State,
    domain,
    path,
    records,
    split_name,
    text,
)
from twisted_dns.pkg.backend.lookup import MAX_CNAME_CHAIN, split255
from twisted_dns.testing import make_request

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV = 1, 2, 5, 6, 12, 15, 16, 28, 33


class Mock:
    """A ServiceBackend answering through functions (CoreDNS's mockBackend)."""

    def __init__(self, services: Callable[[State], list[Service]] | None = None,
                 reverse: Callable[[State], list[Service]] | None = None, min_ttl: int = 30,
                 serial: int = 1234) -> None:
        self._services = services
        self._reverse = reverse
        self._min_ttl = min_ttl
        self._serial = serial
        self.asked: list[tuple[str, int]] = []

    def services(self, state, exact):
        self.asked.append((state.qname, state.qtype))
        return self._services(state)

    def reverse(self, state, exact):
        return self._reverse(state)

    def records(self, state, exact):
        return self._services(state)

    def is_name_error(self, error):
        return False

    def serial(self, state):
        return self._serial

    def min_ttl(self, state):
        return self._min_ttl


def state(name: str, qtype: int) -> State:
    return State(name, qtype, "example.org.", make_request(name, qtype))


def no_lookup(name: str, qtype: int) -> defer.Deferred:
    raise AssertionError(f"unexpected lookup of {name} {qtype}")


def reply(name: str, *rrsets: tuple[str, int, str, str], tc: bool = False):
    """What a lookup returns: a reply with these (name, ttl, type, rdata) answers."""
    message = dns.message.make_response(dns.message.make_query(name, "A"))
    message.answer = [dns.rrset.from_text(n, ttl, "IN", t, r) for n, ttl, t, r in rrsets]
    if tc:
        message.flags |= dns.flags.TC
    return message


def lookups(answers: dict[tuple[str, int], dns.message.Message | None]):
    """A lookup function answering from ``answers``, and the list of what it was asked."""
    asked: list[tuple[str, int]] = []

    def lookup(name: str, qtype: int) -> defer.Deferred:
        asked.append((name, qtype))
        return defer.succeed(answers.get((name, qtype)))
    return lookup, asked


def run(steps, lookup=no_lookup):
    """The result of ``steps``, whose lookups (if any) are answered already."""
    result = backend.run(steps, lookup)
    if isinstance(result, defer.Deferred):
        found = []
        result.addBoth(found.append)
        if isinstance(found[0], Failure):
            found[0].raiseException()
        return found[0]
    return result


def texts(records) -> list[str]:
    return [text(record) for record in records]


class ServiceTests(unittest.TestCase):
    def test_host_type(self):
        """msg/type_test.go."""
        for host, text_, expected in [("example.org", "", TYPE_CNAME), ("127.0.0.1", "", TYPE_A),
                                      ("2000::3", "", TYPE_AAAA), ("2000..3", "", TYPE_CNAME),
                                      ("127.0.0.257", "", TYPE_CNAME),
                                      ("127.0.0.252", "a", TYPE_A), ("", "a", TYPE_TXT),
                                      ("::ffff:1.2.3.4", "", TYPE_A), ("01.2.3.4", "", TYPE_CNAME),
                                      ("fe80::1%eth0", "", TYPE_CNAME)]:
            self.assertEqual(Service(host=host, text=text_).host_type()[0], expected, host)
        self.assertEqual(Service(host="::ffff:1.2.3.4").host_type()[1], bytes([1, 2, 3, 4]))

    def test_path_and_domain(self):
        """msg/path_test.go."""
        for prefix in ("mydns", "skydns"):
            self.assertEqual(path("service.staging.skydns.local.", prefix),
                             f"/{prefix}/local/skydns/staging/service")
        self.assertEqual(domain("/skydns/local/cluster/staging/service/"),
                         "service.staging.cluster.local.")
        self.assertEqual(domain("/skydns/local/cluster/staging/service"),
                         "service.staging.cluster.local.")
        self.assertEqual(path(".", "c"), "/c")
        self.assertEqual(domain("/c"), ".")

    def test_split_name(self):
        self.assertEqual(split_name("a\\.b.example."), ["a\\.b", "example"])
        self.assertEqual(split_name("a.b"), ["a", "b"])
        self.assertEqual(split_name("."), [])

    def test_split255(self):
        """msg/service_test.go's TestSplit255 (255 octets make a second, empty, string)."""
        self.assertEqual(split255(b"abc"), [b"abc"])
        self.assertEqual(split255(b"a" * 255), [b"a" * 255, b""])
        self.assertEqual(split255(b"a" * 255 + b"b"), [b"a" * 255, b"b"])
        self.assertEqual(split255(b"a" * 255 + b"b" + b"a" * 255),
                         [b"a" * 255, b"b" + b"a" * 254, b"a"])


class LookupTests(unittest.TestCase):
    """backend_lookup_test.go."""

    def test_ns_on_error(self):
        def fail(state):
            raise BackendError("mock error")
        self.assertRaises(BackendError, backend.ns, Mock(fail), "example.org.",
                          state("example.org.", NS))

    def test_a_dedup(self):
        b = Mock(lambda s: [Service(host="1.2.3.4", ttl=60), Service(host="1.2.3.4", ttl=60),
                            Service(host="::1", ttl=60)])
        records, tc = run(backend.a(b, "example.org.", state("a.example.org.", A)))
        self.assertEqual((texts(records), tc), (["a.example.org. 60 IN A 1.2.3.4"], False))

    def test_aaaa_dedup(self):
        b = Mock(lambda s: [Service(host="::1", ttl=60), Service(host="::1", ttl=60),
                            Service(host="1.2.3.4", ttl=60)])
        records, tc = run(backend.aaaa(b, "example.org.", state("aaaa.example.org.", AAAA)))
        self.assertEqual((texts(records), tc), (["aaaa.example.org. 60 IN AAAA ::1"], False))

    def test_txt_with_internal_cname(self):
        def services(s):
            return {"txt.example.org.": [Service(host="target.example.org.", ttl=50)],
                    "target.example.org.": [Service(text="v=txt1", ttl=40)]}.get(s.qname, [])
        records, _ = run(backend.txt(Mock(services), "example.org.",
                                      state("txt.example.org.", TXT)))
        self.assertEqual(texts(records), ["txt.example.org. 50 IN CNAME target.example.org.",
                                          'target.example.org. 40 IN TXT "v=txt1"'])

    def test_cname_host_is_name_and_ip_ignored(self):
        b = Mock(lambda s: [Service(host="target.example.org.", ttl=50),
                            Service(host="1.2.3.4", ttl=50)])
        self.assertEqual(texts(backend.cname(b, "example.org.", state("name.example.org.",
                                                                          CNAME))),
                         ["name.example.org. 50 IN CNAME target.example.org."])
        b = Mock(lambda s: [Service(host="1.2.3.4", ttl=50)])
        self.assertEqual(backend.cname(b, "example.org.", state("name.example.org.", CNAME)), [])

    def test_cname_chain_limit_and_loop(self):
        names = [f"c{i}.example.org." for i in range(MAX_CNAME_CHAIN + 2)]
        chain = dict(itertools.pairwise(names))
        b = Mock(lambda s: [Service(host=chain[s.qname], ttl=10)] if s.qname in chain else [])
        records, _ = run(backend.a(b, "example.org.", state(names[0], A)))
        self.assertLessEqual(len(records), MAX_CNAME_CHAIN)
        b = Mock(lambda s: [Service(host=s.qname, ttl=10)])
        self.assertEqual(run(backend.a(b, "example.org.", state("loop.example.org.", A))),
                         ([], False))
        # a target below the name is a loop too
        b = Mock(lambda s: [Service(host="x." + s.qname, ttl=10)])
        self.assertEqual(run(backend.a(b, "example.org.", state("loop.example.org.", A))),
                         ([], False))

    def test_a_with_external_cname_lookup_truncated(self):
        b = Mock(lambda s: [Service(host="alias.external.")])
        lookup, asked = lookups({("alias.external.", A): reply(
            "alias.external.", ("alias.external.", 10, "A", "1.2.3.4"), tc=True)})
        records, tc = run(backend.a(b, "example.org.", state("cname.example.org.", A)), lookup)
        self.assertEqual((texts(records), tc), (["cname.example.org. 0 IN CNAME alias.external.",
                                                 "alias.external. 10 IN A 1.2.3.4"], True))
        self.assertEqual(asked, [("alias.external.", A)])

    def test_aaaa_with_internal_cname_chain(self):
        names = ["c0.example.org.", "c1.example.org.", "final.example.org."]

        def services(s):
            if s.qname in names[:2]:
                return [Service(host=names[names.index(s.qname) + 1], ttl=10)]
            return [Service(host="::1", ttl=20)] if s.qname == names[2] else []
        records, tc = run(backend.aaaa(Mock(services), "example.org.", state(names[0], AAAA)))
        self.assertEqual(texts(records), ["c0.example.org. 10 IN CNAME c1.example.org.",
                                          "c1.example.org. 10 IN CNAME final.example.org.",
                                          "final.example.org. 20 IN AAAA ::1"])
        self.assertFalse(tc)

    def test_aaaa_with_external_cname_lookup_truncated(self):
        b = Mock(lambda s: [Service(host="alias.external.")])
        lookup, _ = lookups({("alias.external.", AAAA): reply(
            "alias.external.", ("alias.external.", 10, "AAAA", "::1"), tc=True)})
        records, tc = run(backend.aaaa(b, "example.org.", state("cname6.example.org.", AAAA)),
                          lookup)
        self.assertEqual(len(records), 2)
        self.assertTrue(tc)

    def test_lookup_that_found_nothing_drops_the_cname(self):
        b = Mock(lambda s: [Service(host="alias.external.")])
        lookup, _ = lookups({})
        self.assertEqual(run(backend.a(b, "example.org.", state("c.example.org.", A)), lookup),
                         ([], False))

    def test_internal_target_without_records_drops_the_cname(self):
        def services(s):
            if s.qname == "c.example.org.":
                return [Service(host="gone.example.org.")]
            raise BackendError("no such name")
        self.assertEqual(run(backend.a(Mock(services), "example.org.", state("c.example.org.",
                                                                             A))), ([], False))

    def test_ptr_domain_only(self):
        b = Mock(reverse=lambda s: [Service(host="name.example.org.", ttl=20),
                                    Service(host="1.2.3.4", ttl=20),
                                    Service(host="name.example.org.", ttl=20)])
        self.assertEqual(texts(backend.ptr(b, "in-addr.arpa.", state("4.3.2.1.in-addr.arpa.",
                                                                       PTR))),
                         ["4.3.2.1.in-addr.arpa. 20 IN PTR name.example.org."])

    def test_ns(self):
        b = Mock(lambda s: [Service(host="1.2.3.4", ttl=30, key="/skydns/org/example/ns1"),
                            Service(host="::1", ttl=30, key="/skydns/org/example/ns2"),
                            Service(host="::2", ttl=30, key="/skydns/org/example/ns2")])
        records, extra = backend.ns(b, "example.org.", state("example.org.", NS))
        self.assertEqual(texts(records), ["example.org. 30 IN NS ns1.example.org.",
                                          "example.org. 30 IN NS ns2.example.org."])
        self.assertEqual(texts(extra), ["ns1.example.org. 30 IN A 1.2.3.4",
                                        "ns2.example.org. 30 IN AAAA ::1",
                                        "ns2.example.org. 30 IN AAAA ::2"])
        self.assertEqual(b.asked, [("ns.dns.example.org.", NS)])
        b = Mock(lambda s: [Service(host="ns.example.net.")])
        self.assertRaises(BackendError, backend.ns, b, "example.org.",
                          state("example.org.", NS))

    def test_srv_addresses_and_external_lookup(self):
        b = Mock(lambda s: [
            Service(host="1.2.3.4", port=80, priority=10, weight=5, ttl=30,
                    key="/skydns/org/example/s1"),
            Service(host="alias.external.", port=80, priority=10, weight=5, ttl=30,
                    key="/skydns/org/example/s2")])
        lookup, asked = lookups({
            ("alias.external.", A): reply("x.", ("alias.external.", 10, "A", "5.6.7.8")),
            ("alias.external.", AAAA): reply("x.", ("alias.external.", 10, "CNAME", "y."),
                                             ("alias.external.", 10, "AAAA", "::1"))})
        records, extra = run(backend.srv(b, "example.org.", state("_sip._tcp.example.org.",
                                                                  SRV)), lookup)
        self.assertEqual(texts(records), [
            "_sip._tcp.example.org. 30 IN SRV 10 50 80 s1.example.org.",
            "_sip._tcp.example.org. 30 IN SRV 10 50 80 alias.external."])
        self.assertEqual(texts(extra), ["s1.example.org. 30 IN A 1.2.3.4",
                                        "alias.external. 10 IN A 5.6.7.8",
                                        "alias.external. 10 IN AAAA ::1"])
        self.assertEqual(asked, [("alias.external.", A), ("alias.external.", AAAA)])

    def test_srv_weights_and_ports(self):
        b = Mock(lambda s: [Service(host="10.0.0.1", port=80, key="/c/org/example/a"),
                            Service(host="10.0.0.2", port=80, key="/c/org/example/b"),
                            Service(host="10.0.0.3", port=80, key="/c/org/example/c"),
                            Service(host="10.0.0.4", port=-1, key="/c/org/example/d"),
                            Service(host="10.0.0.5", port=81, priority=1, weight=1000,
                                    key="/c/org/example/e")])
        records, extra = run(backend.srv(b, "example.org.", state("x.example.org.", SRV)))
        # four share priority 0: 100 / 400 * 100 each; port -1 makes no record
        self.assertEqual([r.split()[5:8] for r in texts(records)],
                         [["25", "80", "a.example.org."], ["25", "80", "b.example.org."],
                          ["25", "80", "c.example.org."], ["100", "81", "e.example.org."]])
        self.assertEqual(len(extra), 4)

    def test_srv_internal_target_is_asked_without_the_zone(self):
        b = Mock(lambda s: [Service(host="www.example.org.", port=80)])
        records, _ = run(backend.srv(b, "example.org.", state("x.example.org.", SRV)))
        self.assertEqual(texts(records), ["x.example.org. 0 IN SRV 0 100 80 www.example.org."])
        self.assertEqual(b.asked, [("x.example.org.", SRV), ("www.example.org.", A)])

    def test_mx_internal_and_external_targets(self):
        b = Mock(lambda s: [
            Service(host="1.2.3.4", mail=True, priority=10, ttl=60, key="/skydns/org/example/mx1"),
            Service(host="alias.external.", mail=True, priority=20, ttl=60,
                    key="/skydns/org/example/mx2"),
            Service(host="5.6.7.8", ttl=60, key="/skydns/org/example/notmail")])
        lookup, asked = lookups({
            ("alias.external.", A): reply("x.", ("alias.external.", 10, "A", "9.9.9.9"))})
        records, extra = run(backend.mx(b, "example.org.", state("example.org.", MX)), lookup)
        self.assertEqual(texts(records), ["example.org. 60 IN MX 10 mx1.example.org.",
                                          "example.org. 60 IN MX 20 alias.external."])
        self.assertEqual(texts(extra), ["mx1.example.org. 60 IN A 1.2.3.4",
                                        "alias.external. 10 IN A 9.9.9.9"])
        self.assertEqual(asked, [("alias.external.", A), ("alias.external.", AAAA)])

    def test_soa(self):
        record = backend.soa(Mock(min_ttl=30, serial=1234), "example.org.",
                             state("example.org.", SOA))
        self.assertEqual(text(record), "example.org. 30 IN SOA ns.dns.example.org. "
                                       "hostmaster.example.org. 1234 7200 1800 86400 30")
        record = backend.soa(Mock(min_ttl=3600), ".", state(".", SOA))
        self.assertEqual(text(record), ". 300 IN SOA ns.dns. hostmaster. 1234 7200 1800 86400 "
                                       "3600")

    def test_error_reply(self):
        request = make_request("x.example.org", "A")
        data = backend.error_reply(Mock(), "example.org.", 2,
                                   State("x.example.org.", A, "example.org.", request))
        message = dns.message.from_wire(data)
        self.assertEqual((message.rcode(), bool(message.flags & dns.flags.AA)), (2, True))
        self.assertEqual([r.to_text() for r in message.authority], [
            "example.org. 30 IN SOA ns.dns.example.org. hostmaster.example.org. 1234 7200 "
            "1800 86400 30"])

    def test_check_for_apex(self):
        def services(s):
            if s.qname == "apex.dns.example.org.":
                return [Service(host="1.2.3.4", ttl=10)]
            return [Service(host="::1", ttl=20)]
        records, _ = run(backend.a(Mock(services), "example.org.", state("example.org.", A)))
        self.assertEqual(texts(records), ["example.org. 10 IN A 1.2.3.4"])

    def test_check_for_apex_fallback(self):
        def services(s):
            if s.qname == "apex.dns.example.org.":
                raise BackendError("none")
            return [Service(host="::1", ttl=20)]
        records, _ = run(backend.aaaa(Mock(services), "example.org.", state("example.org.",
                                                                            AAAA)))
        self.assertEqual(texts(records), ["example.org. 20 IN AAAA ::1"])


class RunTests(unittest.TestCase):
    def test_without_lookups_no_deferred(self):
        b = Mock(lambda s: [Service(host="1.2.3.4")])
        self.assertIsInstance(backend.run(backend.a(b, "example.org.",
                                                    state("a.example.org.", A)), no_lookup),
                              tuple)

    def test_errors_are_raised_at_once(self):
        def fail(s):
            raise BackendError("gone")
        self.assertRaises(BackendError, backend.run,
                          backend.a(Mock(fail), "example.org.", state("a.example.org.", A)),
                          no_lookup)

    def test_a_pending_lookup_is_a_deferred(self):
        b = Mock(lambda s: [Service(host="one.external."), Service(host="two.external.")])
        pending: list[defer.Deferred] = []

        def lookup(name, qtype):
            pending.append(defer.Deferred())
            return pending[-1]
        result = backend.run(backend.a(b, "example.org.", state("a.example.org.", A)), lookup)
        self.assertIsInstance(result, defer.Deferred)
        pending[0].callback(reply("x.", ("one.external.", 5, "A", "192.0.2.1")))
        self.assertNoResult(result)
        pending[1].callback(None)
        records, _ = self.successResultOf(result)
        self.assertEqual(texts(records), ["a.example.org. 0 IN CNAME one.external.",
                                          "one.external. 5 IN A 192.0.2.1"])


class ReplyTests(unittest.TestCase):
    def test_reply_flags_and_truncation(self):
        request = make_request("big.example.org", "A")
        records = [backend.address_record("big.example.org.", 5, bytes([10, 0, i // 256, i % 256]))
                   for i in range(100)]
        message = dns.message.from_wire(backend.reply(request, 0, records))
        self.assertTrue(message.flags & dns.flags.AA)
        self.assertTrue(message.flags & dns.flags.TC)  # 100 A records do not fit 512 octets
        message = dns.message.from_wire(backend.reply(request, 0, records[:2], tc=True))
        self.assertTrue(message.flags & dns.flags.TC)
        self.assertEqual(len(message.answer[0]), 2)

    def test_unwritable_names(self):
        self.assertRaises(BadName, backend.records.cname, "x.", 5, "a" * 64 + ".example.")
        self.assertRaises(BadName, backend.records.cname, "x.", 5, "a..example.")
        self.assertRaises(BadName, backend.records.cname, "x.", 5, ("a" * 60 + ".") * 5)


class TruncationTests(unittest.TestCase):
    """A reply too big for the client keeps the longest run of records that fits; TC only
    when records the client needs are left out (RFC 2181 9), not for additional ones (where
    CoreDNS sets TC too: docs/differences.md)."""

    def srv_reply(self, hosts: int) -> dns.message.Message:
        name = "_c._udp.headless.ns.svc.cluster.local."
        targets = [f"host-{i}.headless.ns.svc.cluster.local."
                   for i in range(hosts)]
        answer = [records.srv(name, 5, 0, 10, 1234, target) for target in targets]
        additional = [records.a(t, 5, bytes([10, 0, 0, i])) for i, t in enumerate(targets)]
        request = make_request(name, "SRV")
        return dns.message.from_wire(records.reply(request, 0, answer, (), additional))

    def test_additional_records_left_out_without_tc(self) -> None:
        reply = self.srv_reply(7)
        self.assertEqual(len(reply.answer[0]), 7)
        self.assertLess(sum(len(rrset) for rrset in reply.additional), 7)
        self.assertFalse(reply.flags & dns.flags.TC)

    def test_answers_left_out_with_tc(self) -> None:
        reply = self.srv_reply(12)
        self.assertLess(len(reply.answer[0]), 12)
        self.assertEqual(reply.additional, [])
        self.assertTrue(reply.flags & dns.flags.TC)
