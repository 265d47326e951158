"""The *cache* plugin: its directive, hits replayed from wire bytes, TTLs on the reactor clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet import defer, task
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.plugins.cache.cache import Cache, Config
from twisted_dns.plugins.cache.layout import read_layout
from twisted_dns.plugins.cache.setup import parse, setup
from twisted_dns.plugins.cache.storage import Store, effective_capacity
from twisted_dns.plugins.whoami.whoami import Whoami
from twisted_dns.request import Request
from twisted_dns.response import SUPPORTED_OPTIONS, CaptureWriter, register_option
from twisted_dns.testing import (
    check_examples,
    configure,
    controller,
    corefile_examples,
    default_registry,
    make_request,
    plugin_readme,
    reply_of,
    start_server,
)

NXDOMAIN = int(dns.rcode.NXDOMAIN)
SERVFAIL = int(dns.rcode.SERVFAIL)
START = 1_000_000.0

Reply = Callable[[Request], "dns.message.Message | bytes | None"]


def answer(request: Request, ttl: int = 300, *addresses: str) -> dns.message.Message:
    """A NOERROR reply with A records for the question name."""
    reply = dns.message.make_response(request.message())
    reply.answer.append(dns.rrset.from_text(request.qname, ttl, "IN", "A",
                                            *(addresses or ("192.0.2.1",))))
    return reply


def denial(request: Request, soa_ttl: int, minimum: int,
           rcode: int = NXDOMAIN) -> dns.message.Message:
    """An NXDOMAIN (or NODATA with rcode 0) reply with the zone's SOA in the authority."""
    reply = dns.message.make_response(request.message())
    reply.set_rcode(rcode)
    reply.authority.append(dns.rrset.from_text(
        "example.org.", soa_ttl, "IN", "SOA",
        f"ns.example.org. admin.example.org. 1 7200 3600 1209600 {minimum}"))
    return reply


def whoami_wire(request: Request) -> bytes:
    """whoami's reply: wire bytes, as a fast plugin writes them."""
    writer = CaptureWriter(request)
    Whoami().ServeDNS(request, writer)
    return writer.sent[0]


def servfail(request: Request) -> dns.message.Message:
    reply = dns.message.make_response(request.message())
    reply.set_rcode(SERVFAIL)
    return reply


@implementer(IPlugin)
class Upstream:
    """The rest of the chain: writes what ``reply`` makes of each query, and keeps the queries.

    ``reply`` returning None means "write nothing, return SERVFAIL"; ``deferred`` makes the
    plugin answer only when the test fires ``pending``.
    """

    def __init__(self, reply: Reply = answer) -> None:
        self.reply = reply
        self.requests: list[Request] = []
        self.writers: list[Any] = []
        self.deferred = False
        self.pending: list[defer.Deferred] = []

    def Name(self) -> str:
        return "upstream"

    def ServeDNS(self, request: Request, writer: Any) -> Any:
        self.requests.append(request)
        self.writers.append(writer)
        if not self.deferred:
            return self._write(request, writer)
        d = defer.Deferred()
        d.addCallback(lambda _: self._write(request, writer))
        self.pending.append(d)
        return d

    def _write(self, request: Request, writer: Any) -> int:
        reply = self.reply(request)
        if reply is None:
            return SERVFAIL
        writer.write(reply)
        return wire.rcode(reply) if isinstance(reply, bytes) else int(reply.rcode())


class CacheTestCase(unittest.TestCase):
    """A cache in front of an :class:`Upstream`, on a ``task.Clock``."""

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.clock.advance(START)
        self.upstream = Upstream()
        self.cache = self.make()

    def make(self, **config: Any) -> Cache:
        self.cache = Cache(self.upstream, Config(**config), self.clock)
        return self.cache

    def ask(self, name: str = "www.example.org", rdtype: str = "A", proto: str = "udp",
            **kwargs: Any) -> dns.message.Message:
        request = make_request(name, rdtype, proto=proto, **kwargs)
        writer = CaptureWriter(request)
        result = self.cache.ServeDNS(request, writer)
        self.last_request = request
        self.last_writer = writer
        self.last_result = result
        reply = reply_of(writer)
        self.assertEqual(reply.id, request.id)
        return reply

    @property
    def upstream_calls(self) -> int:
        return len(self.upstream.requests)

    def ttls(self, reply: dns.message.Message) -> list[int]:
        return [rrset.ttl for rrset in reply.answer + reply.authority]


class HitMissTests(CacheTestCase):
    def test_miss_then_hit(self) -> None:
        first = self.ask()
        second = self.ask()
        self.assertEqual(self.upstream_calls, 1)
        self.assertEqual(second.answer, first.answer)
        self.assertEqual(second.rcode(), 0)
        self.assertEqual(self.last_result, 0)
        metrics = self.cache.metrics()
        self.assertEqual(metrics["coredns_cache_requests_total"], 2)
        self.assertEqual(metrics["coredns_cache_misses_total"], 1)
        self.assertEqual(metrics["coredns_cache_hits_total"], {"success": 1, "denial": 0})
        self.assertEqual(metrics["coredns_cache_entries"], {"success": 1, "denial": 0})

    def test_hit_never_decodes_with_dnspython(self) -> None:
        self.ask()
        self.ask()
        self.assertIsNone(self.last_request._message)

    def test_id_patched(self) -> None:
        ids = set()
        for _ in range(5):
            reply = self.ask()  # ask() asserts the reply's ID is the query's
            ids.add(reply.id)
        self.assertGreater(len(ids), 1)

    def test_question_case_from_each_query(self) -> None:
        self.ask("www.example.org")
        reply = self.ask("WwW.ExAmPlE.oRg")
        self.assertEqual(self.upstream_calls, 1)
        self.assertEqual(reply.question[0].name.to_text(), "WwW.ExAmPlE.oRg.")
        # dnspython compressed the owner name into a pointer to the question: it follows too
        self.assertEqual(reply.answer[0].name.to_text(), "WwW.ExAmPlE.oRg.")

    def test_flags(self) -> None:
        reply = self.ask()
        self.assertTrue(reply.flags & dns.flags.QR)
        self.assertTrue(reply.flags & dns.flags.RD)
        request = make_request("www.example.org")
        request_flags = request.flags & ~0x0100  # RD off: the hit copies the query's RD
        request.flags = request_flags
        writer = CaptureWriter(request)
        self.cache.ServeDNS(request, writer)
        self.assertFalse(reply_of(writer).flags & dns.flags.RD)

    def test_ttl_counts_down_with_the_clock(self) -> None:
        self.assertEqual(self.ttls(self.ask()), [300])
        self.clock.advance(100)
        self.assertEqual(self.ttls(self.ask()), [200])
        self.clock.advance(99.5)
        self.assertEqual(self.ttls(self.ask()), [101])
        self.assertEqual(self.upstream_calls, 1)

    def test_expiry(self) -> None:
        self.ask()
        self.clock.advance(299)
        self.assertEqual(self.ttls(self.ask()), [1])
        self.clock.advance(1)
        self.assertEqual(self.ttls(self.ask()), [300])
        self.assertEqual(self.upstream_calls, 2)

    def test_every_record_gets_the_cached_ttl(self) -> None:
        """As CoreDNS: all records carry the entry's TTL (the lowest, capped), on miss and hit."""
        def two_ttls(request: Request) -> dns.message.Message:
            reply = answer(request, 600)
            reply.additional.append(dns.rrset.from_text("ns.example.org.", 60, "IN", "A",
                                                        "192.0.2.53"))
            return reply

        self.upstream.reply = two_ttls
        first = self.ask()
        self.assertEqual([r.ttl for r in first.answer + first.additional], [60, 60])
        self.clock.advance(10)
        second = self.ask()
        self.assertEqual([r.ttl for r in second.answer + second.additional], [50, 50])

    def test_max_ttl_caps_the_miss_reply_too(self) -> None:
        self.upstream.reply = lambda request: answer(request, 86400)
        self.assertEqual(self.ttls(self.ask()), [3600])
        self.assertEqual(self.ttls(self.ask()), [3600])

    def test_wire_replies_are_cached(self) -> None:
        self.upstream.reply = whoami_wire
        first = self.ask()
        self.clock.advance(2)
        second = self.ask()
        self.assertEqual(self.upstream_calls, 1)
        # whoami's TTL 0 is raised to the minimum TTL, 5
        self.assertEqual([r.ttl for r in first.additional], [5, 5])
        self.assertEqual([r.ttl for r in second.additional], [3, 3])
        self.assertEqual(second.additional, first.additional)

    def test_oversized_hit_is_truncated_by_the_writer(self) -> None:
        many = [f"192.0.2.{i}" for i in range(1, 61)]
        self.upstream.reply = lambda request: answer(request, 300, *many)
        full = self.ask(proto="tcp")
        self.assertEqual(len(full.answer[0]), 60)
        small = self.ask()  # UDP without EDNS: at most 512 bytes
        self.assertEqual(self.upstream_calls, 1)
        self.assertTrue(small.flags & dns.flags.TC)
        self.assertLessEqual(len(self.last_writer.sent[0]), 512)

    def test_other_zones_pass_through(self) -> None:
        self.make(zones=["example.org."])
        self.ask("www.example.net")
        self.ask("www.example.net")
        self.assertEqual(self.upstream_calls, 2)
        self.ask("www.example.org")
        self.ask("www.example.org")
        self.assertEqual(self.upstream_calls, 3)
        self.assertEqual(self.cache.metrics()["coredns_cache_requests_total"], 2)

    def test_no_next_plugin(self) -> None:
        cache = Cache(None, Config(), self.clock)
        request = make_request("example.org")
        self.assertEqual(cache.ServeDNS(request, CaptureWriter(request)), SERVFAIL)


class KeyTests(CacheTestCase):
    def test_do_keyed_separately(self) -> None:
        plain = self.ask(use_edns=0)
        self.assertFalse(plain.ednsflags & dns.flags.DO)
        signed = self.ask(use_edns=0, want_dnssec=True)
        self.assertEqual(self.upstream_calls, 2)
        self.assertTrue(signed.ednsflags & dns.flags.DO)
        self.assertTrue(self.upstream.requests[1].do)
        self.ask(use_edns=0, want_dnssec=True)
        self.ask(use_edns=0)
        self.assertEqual(self.upstream_calls, 2)

    def test_cd_keyed_separately(self) -> None:
        self.ask()
        reply = self.ask(flags=dns.flags.RD | dns.flags.CD)
        self.assertEqual(self.upstream_calls, 2)
        self.assertTrue(reply.flags & dns.flags.CD)
        self.ask(flags=dns.flags.RD | dns.flags.CD)
        self.assertEqual(self.upstream_calls, 2)

    def test_type_and_class_keyed(self) -> None:
        self.ask()
        self.upstream.reply = lambda request: dns.message.make_response(request.message())
        self.ask(rdtype="AAAA")
        self.ask(rdtype="AAAA")
        self.assertEqual(self.upstream_calls, 2)

    def test_opt_follows_each_client(self) -> None:
        """Stored from an EDNS query, replayed to a client without EDNS (and back)."""
        self.assertEqual(self.ask(use_edns=0, payload=4096).edns, 0)
        plain = self.ask()
        self.assertEqual(plain.edns, -1)
        again = self.ask(use_edns=0, payload=1400)
        self.assertEqual(again.edns, 0)
        self.assertEqual(again.payload, 1400)  # this client's size, as CoreDNS
        self.assertEqual(self.upstream_calls, 1)

    def test_supported_options_echoed(self) -> None:
        code = 65001
        register_option(code)
        self.addCleanup(SUPPORTED_OPTIONS.discard, code)
        option = dns.edns.GenericOption(code, b"hi")
        self.ask(use_edns=0)
        reply = self.ask(use_edns=0, options=[option])
        self.assertEqual(self.upstream_calls, 1)
        self.assertEqual([(o.otype, o.data) for o in reply.options], [(code, b"hi")])

    def test_ad_bit_only_for_clients_that_want_it(self) -> None:
        def authenticated(request: Request) -> dns.message.Message:
            reply = answer(request)
            reply.flags |= dns.flags.AD
            return reply

        self.upstream.reply = authenticated
        self.assertFalse(self.ask().flags & dns.flags.AD)
        self.assertFalse(self.ask().flags & dns.flags.AD)
        self.assertTrue(self.ask(flags=dns.flags.RD | dns.flags.AD).flags & dns.flags.AD)


class DenialTests(CacheTestCase):
    def test_nxdomain_ttl_is_the_soa_minimum(self) -> None:
        self.upstream.reply = lambda request: denial(request, 3600, 60)
        first = self.ask("nope.example.org")
        self.assertEqual(first.rcode(), NXDOMAIN)
        self.assertEqual(self.ttls(first), [60])
        self.clock.advance(59)
        reply = self.ask("nope.example.org")
        self.assertEqual(reply.rcode(), NXDOMAIN)
        self.assertEqual(self.ttls(reply), [1])
        self.assertEqual(self.last_result, 0)
        self.clock.advance(1)
        self.ask("nope.example.org")
        self.assertEqual(self.upstream_calls, 2)
        self.assertEqual(self.cache.metrics()["coredns_cache_hits_total"],
                         {"success": 0, "denial": 1})

    def test_nxdomain_ttl_is_the_soa_ttl_when_lower(self) -> None:
        self.upstream.reply = lambda request: denial(request, 30, 600)
        self.assertEqual(self.ttls(self.ask("nope.example.org")), [30])

    def test_nodata(self) -> None:
        self.upstream.reply = lambda request: denial(request, 300, 120, rcode=0)
        first = self.ask("www.example.org", "MX")
        self.assertEqual((first.rcode(), first.answer, self.ttls(first)), (0, [], [120]))
        self.ask("www.example.org", "MX")
        self.assertEqual(self.upstream_calls, 1)
        self.assertEqual(self.cache.metrics()["coredns_cache_entries"],
                         {"success": 0, "denial": 1})

    def test_cname_only_answer_is_a_success(self) -> None:
        """As CoreDNS: a NOERROR reply with answers is NOERROR, whatever their type."""
        def cname_only(request: Request) -> dns.message.Message:
            reply = dns.message.make_response(request.message())
            reply.answer.append(dns.rrset.from_text(request.qname, 300, "IN", "CNAME",
                                                    "elsewhere.example.net."))
            return reply

        self.upstream.reply = cname_only
        self.ask()
        self.assertEqual((len(self.cache.pcache), len(self.cache.ncache)), (1, 0))

    def test_denial_max_ttl(self) -> None:
        self.upstream.reply = lambda request: denial(request, 86400, 86400)
        self.assertEqual(self.ttls(self.ask("nope.example.org")), [1800])

    def test_min_ttls(self) -> None:
        self.upstream.reply = lambda request: denial(request, 1, 1)
        self.assertEqual(self.ttls(self.ask("nope.example.org")), [5])
        self.upstream.reply = lambda request: answer(request, 1)
        self.assertEqual(self.ttls(self.ask()), [5])

    def test_configured_ttls(self) -> None:
        self.make(success_ttl=100, success_min_ttl=20, denial_ttl=50, denial_min_ttl=30)
        self.upstream.reply = lambda request: answer(request, 1000)
        self.assertEqual(self.ttls(self.ask("a.example.org")), [100])
        self.upstream.reply = lambda request: answer(request, 2)
        self.assertEqual(self.ttls(self.ask("b.example.org")), [20])
        self.upstream.reply = lambda request: denial(request, 1000, 1000)
        self.assertEqual(self.ttls(self.ask("c.example.org")), [50])
        self.upstream.reply = lambda request: denial(request, 1, 1)
        self.assertEqual(self.ttls(self.ask("d.example.org")), [30])


class ServfailTests(CacheTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.upstream.reply = servfail

    def test_cached_five_seconds_by_default(self) -> None:
        self.assertEqual(self.ask().rcode(), SERVFAIL)
        self.clock.advance(4)
        self.assertEqual(self.ask().rcode(), SERVFAIL)
        self.assertEqual(self.upstream_calls, 1)
        self.assertEqual(self.last_result, 0)  # written by the cache
        self.clock.advance(1)
        self.ask()
        self.assertEqual(self.upstream_calls, 2)

    def test_duration(self) -> None:
        self.make(servfail_ttl=30)
        self.ask()
        self.clock.advance(29)
        self.ask()
        self.assertEqual(self.upstream_calls, 1)
        self.clock.advance(1)
        self.ask()
        self.assertEqual(self.upstream_calls, 2)

    def test_zero_disables(self) -> None:
        self.make(servfail_ttl=0)
        self.ask()
        self.ask()
        self.assertEqual(self.upstream_calls, 2)

    def test_nothing_written_is_not_cached(self) -> None:
        """A plugin returning SERVFAIL without a reply: the server answers, nothing is kept."""
        self.upstream.reply = lambda request: None
        request = make_request("www.example.org")
        writer = CaptureWriter(request)
        self.assertEqual(self.cache.ServeDNS(request, writer), SERVFAIL)
        self.assertEqual(writer.sent, [])
        self.assertEqual(len(self.cache.ncache), 0)


class NotCachedTests(CacheTestCase):
    def assertNotCached(self, name: str = "www.example.org", rdtype: str = "A",
                        **kwargs: Any) -> None:
        self.ask(name, rdtype, **kwargs)
        self.ask(name, rdtype, **kwargs)
        self.assertEqual(self.upstream_calls, 2)
        self.assertEqual(len(self.cache.pcache) + len(self.cache.ncache), 0)

    def test_truncated(self) -> None:
        def truncated(request: Request) -> dns.message.Message:
            reply = answer(request)
            reply.flags |= dns.flags.TC
            return reply

        self.upstream.reply = truncated
        self.assertNotCached()

    def test_refused(self) -> None:
        def refused(request: Request) -> dns.message.Message:
            reply = dns.message.make_response(request.message())
            reply.set_rcode(dns.rcode.REFUSED)
            return reply

        self.upstream.reply = refused
        self.assertNotCached()

    def test_nxdomain_without_soa(self) -> None:
        """As CoreDNS: a denial without an SOA has no TTL to be kept for."""
        def bare(request: Request) -> dns.message.Message:
            reply = dns.message.make_response(request.message())
            reply.set_rcode(NXDOMAIN)
            return reply

        self.upstream.reply = bare
        self.assertNotCached("nope.example.org")

    def test_nxdomain_with_answers(self) -> None:
        """CoreDNS types a name that answers and does not exist as OTHERERROR."""
        def cname_to_nowhere(request: Request) -> dns.message.Message:
            reply = denial(request, 300, 300)
            reply.answer.append(dns.rrset.from_text(request.qname, 300, "IN", "CNAME",
                                                    "gone.example.org."))
            return reply

        self.upstream.reply = cname_to_nowhere
        self.assertNotCached()

    def test_expired_signature_with_do(self) -> None:
        def signed(request: Request) -> dns.message.Message:
            reply = answer(request)
            reply.use_edns(0, dns.flags.DO)
            reply.answer.append(dns.rrset.from_text(
                request.qname, 300, "IN", "RRSIG",
                f"A 13 3 300 {int(START) - 60} {int(START) - 3600} 12345 example.org. "
                "c2lnbmF0dXJl"))
            return reply

        self.upstream.reply = signed
        self.assertNotCached(use_edns=0, want_dnssec=True)

    def test_zone_transfer(self) -> None:
        self.upstream.reply = lambda request: denial(request, 300, 300, rcode=0)
        self.assertNotCached("example.org", "AXFR", proto="tcp")

    def test_notify_opcode_passes_through(self) -> None:
        request = make_request("example.org", "SOA")
        request.flags = (request.flags & ~0x7800) | (dns.opcode.NOTIFY << 11)
        writer = CaptureWriter(request)
        self.upstream.reply = lambda request: None
        self.assertEqual(self.cache.ServeDNS(request, writer), SERVFAIL)
        self.assertEqual(self.cache.metrics()["coredns_cache_requests_total"], 0)

    def test_question_mismatch_is_dropped(self) -> None:
        def other(request: Request) -> dns.message.Message:
            return answer(make_request("other.example.org"))

        self.upstream.reply = other
        request = make_request("www.example.org")
        writer = CaptureWriter(request)
        self.cache.ServeDNS(request, writer)
        self.assertEqual(len(writer.sent), 1)
        self.assertEqual(self.cache.metrics()["coredns_cache_drops_total"], 1)
        self.assertEqual(len(self.cache.pcache), 0)

    def test_disable_success(self) -> None:
        self.make(success_except=["."])
        self.assertNotCached()
        self.upstream.reply = lambda request: denial(request, 300, 300)
        self.ask("nope.example.org")
        self.ask("nope.example.org")
        self.assertEqual(self.upstream_calls, 3)

    def test_disable_denial_in_zones(self) -> None:
        self.make(denial_except=["example.org."])
        self.upstream.reply = lambda request: denial(request, 300, 300)
        self.assertNotCached("nope.example.org")
        self.ask("nope.example.net")
        self.ask("nope.example.net")
        self.assertEqual(self.upstream_calls, 3)

    def test_disabled_reply_still_gets_capped_ttls(self) -> None:
        self.make(success_except=["."])
        self.upstream.reply = lambda request: answer(request, 86400)
        self.assertEqual(self.ttls(self.ask()), [3600])


class KeepTTLTests(CacheTestCase):
    def test_keepttl(self) -> None:
        self.make(keepttl=True)
        self.ask()
        self.clock.advance(100)
        self.assertEqual(self.ttls(self.ask()), [300])
        self.clock.advance(200)
        self.ask()
        self.assertEqual(self.upstream_calls, 2)  # it still expires


class EvictionTests(unittest.TestCase):
    def test_capacity_like_coredns(self) -> None:
        self.assertEqual(effective_capacity(10000), 9984)
        self.assertEqual(effective_capacity(5000), 4864)
        self.assertEqual(effective_capacity(1), 1024)

    def test_least_recently_used_goes(self) -> None:
        store = Store("success", 3)
        entries = {name: object() for name in "abcd"}
        for name in "abc":
            self.assertFalse(store.add((name,), entries[name]))
        store.items.move_to_end(("a",))  # what a hit does
        self.assertTrue(store.add(("d",), entries["d"]))
        self.assertEqual(list(store.items), [("c",), ("a",), ("d",)])
        self.assertEqual(len(store), 3)

    def test_cache_evicts_at_capacity(self) -> None:
        clock = task.Clock()
        upstream = Upstream()
        cache = Cache(upstream, Config(success_capacity=1), clock)
        for i in range(1025):
            request = make_request(f"host{i}.example.org")
            cache.ServeDNS(request, CaptureWriter(request))
        metrics = cache.metrics()
        self.assertEqual(metrics["coredns_cache_entries"]["success"], 1024)
        self.assertEqual(metrics["coredns_cache_evictions_total"]["success"], 1)
        for name in ("host1.example.org", "host0.example.org"):
            request = make_request(name)
            cache.ServeDNS(request, CaptureWriter(request))
        # host0 was the one evicted; host1 is still there
        self.assertEqual([r.qname for r in upstream.requests[1025:]], ["host0.example.org."])


class PrefetchTests(CacheTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.make(prefetch=2, prefetch_window=60)
        self.address = "192.0.2.1"
        self.upstream.reply = lambda request: answer(request, 100, self.address)

    def test_fires_through_the_chain(self) -> None:
        self.ask()                      # stored: TTL 100, prefetch at <= 10s left
        self.clock.advance(85)
        self.ask()                      # one hit, 15s left
        self.clock.advance(6)
        self.address = "192.0.2.2"
        reply = self.ask()              # two hits, 9s left: prefetch, after answering
        self.assertEqual(self.ttls(reply), [9])
        self.assertEqual(reply.answer[0][0].address, "192.0.2.1")
        self.assertEqual(self.upstream_calls, 1)
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 2)
        # the refresh writes nothing to the client
        self.assertEqual(len(self.last_writer.sent), 1)
        self.assertEqual(self.upstream.requests[1].proto, "tcp")
        self.assertEqual(self.cache.metrics()["coredns_cache_prefetch_total"], 1)
        self.clock.advance(4)
        fresh = self.ask()
        self.assertEqual((self.ttls(fresh), fresh.answer[0][0].address), ([96], "192.0.2.2"))
        self.assertEqual(self.upstream_calls, 2)

    def test_not_popular_enough(self) -> None:
        self.ask()
        self.clock.advance(95)
        self.ask()                      # the first hit, 5s left: one is not enough
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 1)

    def test_gaps_reset_the_count(self) -> None:
        self.make(prefetch=2, prefetch_window=5)
        self.ask()
        self.clock.advance(80)
        self.ask()
        self.clock.advance(11)          # a gap of 11s > 5s: the count starts again
        self.ask()
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 1)

    def test_not_while_ttl_is_high(self) -> None:
        self.ask()
        for _ in range(5):
            self.clock.advance(1)
            self.ask()
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 1)

    def test_percentage(self) -> None:
        self.make(prefetch=1, prefetch_percentage=50)
        self.ask()
        self.clock.advance(49)
        self.ask()
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 1)
        self.clock.advance(1)
        self.ask()                      # 50s left of 100: 50%
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 2)

    def test_one_refresh_at_a_time(self) -> None:
        self.upstream.deferred = False
        self.make(prefetch=1)
        self.ask()
        self.upstream.deferred = True
        self.clock.advance(95)
        self.ask()
        self.clock.advance(0)
        self.ask()
        self.clock.advance(0)
        self.assertEqual(self.upstream_calls, 2)
        self.upstream.pending[0].callback(None)
        self.assertEqual(self.ttls(self.ask()), [100])


class ServeStaleTests(CacheTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.address = "192.0.2.1"
        self.upstream.reply = lambda request: answer(request, 100, self.address)

    def test_immediate(self) -> None:
        self.make(stale_up_to=3600)
        self.ask()
        self.clock.advance(150)
        self.address = "192.0.2.2"
        stale = self.ask()
        self.assertEqual((self.ttls(stale), stale.answer[0][0].address), ([0], "192.0.2.1"))
        self.assertEqual(self.upstream_calls, 1)
        self.clock.advance(0)           # the refresh, after the stale answer
        self.assertEqual(self.upstream_calls, 2)
        fresh = self.ask()
        self.assertEqual((self.ttls(fresh), fresh.answer[0][0].address), ([100], "192.0.2.2"))
        metrics = self.cache.metrics()
        self.assertEqual(metrics["coredns_cache_served_stale_total"], 1)
        self.assertEqual(metrics["coredns_cache_prefetch_total"], 1)

    def test_stale_while_refresh_fails(self) -> None:
        self.make(stale_up_to=3600)
        self.ask()
        self.upstream.reply = servfail
        self.clock.advance(200)
        self.assertEqual(self.ttls(self.ask()), [0])
        self.clock.advance(0)
        self.clock.advance(10)
        # the SERVFAIL was stored (5s) and is found first: CoreDNS does the same
        reply = self.ask()
        self.assertEqual(reply.rcode(), SERVFAIL)

    def test_only_up_to_the_duration(self) -> None:
        self.make(stale_up_to=60)
        self.ask()
        self.clock.advance(100 + 59)
        self.assertEqual(self.ttls(self.ask()), [0])
        self.clock.advance(0)
        self.make(stale_up_to=60)
        self.ask()
        self.clock.advance(100 + 60)
        self.assertEqual(self.ttls(self.ask()), [100])  # a miss: asked again

    def test_off_by_default(self) -> None:
        self.ask()
        self.clock.advance(100)
        self.ask()
        self.assertEqual(self.upstream_calls, 2)
        self.assertEqual(self.cache.metrics()["coredns_cache_served_stale_total"], 0)

    def test_verify_refreshes_first(self) -> None:
        self.make(stale_up_to=3600, verify_stale=True)
        self.ask()
        self.clock.advance(150)
        self.address = "192.0.2.2"
        reply = self.ask()
        self.assertEqual((self.ttls(reply), reply.answer[0][0].address), ([100], "192.0.2.2"))
        self.assertEqual(self.upstream_calls, 2)
        self.assertEqual(self.cache.metrics()["coredns_cache_served_stale_total"], 0)

    def test_verify_serves_stale_when_upstream_fails(self) -> None:
        self.make(stale_up_to=3600, verify_stale=True)
        self.ask()
        self.clock.advance(150)
        for failing in (servfail, lambda request: None):
            self.upstream.reply = failing
            reply = self.ask()
            self.assertEqual((reply.rcode(), self.ttls(reply)), (0, [0]))
            self.assertEqual(self.last_result, 0)
        self.assertEqual(self.cache.metrics()["coredns_cache_served_stale_total"], 2)

    def test_verify_waits_for_a_deferred_upstream(self) -> None:
        self.make(stale_up_to=3600, verify_stale=True)
        self.ask()
        self.clock.advance(150)
        self.upstream.deferred = True
        self.upstream.reply = servfail
        request = make_request("www.example.org")
        writer = CaptureWriter(request)
        result = self.cache.ServeDNS(request, writer)
        self.assertIsInstance(result, defer.Deferred)
        self.assertEqual(writer.sent, [])
        self.upstream.pending[0].callback(None)
        self.assertEqual(self.successResultOf(result), 0)
        self.assertEqual(self.ttls(reply_of(writer)), [0])

    def test_keepttl_on_stale(self) -> None:
        self.make(stale_up_to=3600, keepttl=True)
        self.ask()
        self.clock.advance(150)
        self.assertEqual(self.ttls(self.ask()), [100])


class LayoutTests(unittest.TestCase):
    def test_offsets_skip_the_opt(self) -> None:
        request = make_request("www.example.org", use_edns=0)
        reply = answer(request, 300, "192.0.2.1", "192.0.2.2")
        data = reply.to_wire()
        layout = read_layout(data)
        self.assertEqual((layout.ancount, layout.arcount, layout.min_ttl), (2, 0, 300))
        self.assertEqual(len(layout.ttl_offsets), 2)
        for off in layout.ttl_offsets:
            self.assertEqual(int.from_bytes(data[off:off + 4], "big"), 300)
        self.assertEqual(data[layout.body_end:layout.body_end + 3], b"\x00\x00\x29")

    def test_soa_minimum(self) -> None:
        layout = read_layout(denial(make_request("nope.example.org"), 300, 60).to_wire())
        self.assertEqual((layout.nscount, layout.min_ttl, layout.soa_minimum), (1, 300, 60))

    def test_unreadable(self) -> None:
        data = answer(make_request("www.example.org")).to_wire()
        for bad in (data[:-1], data + b"\x00", data[:4] + b"\x00\x02" + data[6:]):
            self.assertRaises(wire.Malformed, read_layout, bad)


class SetupTests(unittest.TestCase):
    def parse(self, corefile: str) -> Config:
        return configure(setup, "cache", corefile).chain.config

    def error(self, corefile: str) -> str:
        return str(self.assertRaises(ConfigError, configure, setup, "cache", corefile))

    def test_defaults(self) -> None:
        config = configure(setup, "cache", ". {\n    cache\n}\n").chain.config
        self.assertEqual(config, Config(zones=["."]))
        self.assertEqual((config.success_ttl, config.denial_ttl, config.success_min_ttl,
                          config.servfail_ttl, config.prefetch), (3600, 1800, 5, 5, 0))

    def test_ttl_and_zones(self) -> None:
        config = self.parse(". {\n    cache 10 Example.ORG example.net.\n}\n")
        self.assertEqual((config.success_ttl, config.denial_ttl), (10, 10))
        self.assertEqual(config.zones, ["example.org.", "example.net."])
        self.assertEqual(self.parse(". {\n    cache example.org\n}\n").zones, ["example.org."])

    def test_block_zones(self) -> None:
        config = configure(setup, "cache", "Example.org:53 example.net {\n    cache\n}\n")
        self.assertEqual(config.chain.config.zones, ["example.org.", "example.net."])

    def test_block(self) -> None:
        config = self.parse(". {\n    cache 100 {\n"
                            "        success 5000 200 10\n"
                            "        denial 2500 60 2\n"
                            "        prefetch 3 2m 20%\n"
                            "        serve_stale 10m verify\n"
                            "        servfail 30s\n"
                            "        disable denial Example.org sub.example.net\n"
                            "        keepttl\n"
                            "    }\n}\n")
        self.assertEqual(config, Config(
            zones=["."], success_capacity=5000, success_ttl=200, success_min_ttl=10,
            denial_capacity=2500, denial_ttl=60, denial_min_ttl=2, servfail_ttl=30.0,
            prefetch=3, prefetch_window=120.0, prefetch_percentage=20, stale_up_to=600.0,
            verify_stale=True, denial_except=["example.org.", "sub.example.net."],
            keepttl=True))

    def test_option_defaults(self) -> None:
        config = self.parse(". {\n    cache {\n        prefetch 1\n        serve_stale\n"
                            "        disable success\n    }\n}\n")
        self.assertEqual((config.prefetch, config.prefetch_window, config.prefetch_percentage),
                         (1, 60.0, 10))
        self.assertEqual((config.stale_up_to, config.verify_stale), (3600.0, False))
        self.assertEqual(config.success_except, ["."])
        self.assertEqual(self.parse(". {\n    cache {\n        serve_stale 1h immediate\n"
                                    "    }\n}\n").verify_stale, False)

    def test_errors(self) -> None:
        cases = {
            "cache 0": "Corefile:2: cache TTL can not be zero or negative: 0",
            "cache -5": "Corefile:2: cache TTL can not be zero or negative: -5",
            "cache {\n success\n }": "Corefile:3: wrong argument count or unexpected line "
                                     "ending after 'success'",
            "cache {\n success x\n }": 'Corefile:3: strconv.Atoi: parsing "x": invalid syntax',
            "cache {\n denial 10 0\n }": "Corefile:3: cache TTL can not be zero or negative: 0",
            "cache {\n denial 10 5 -1\n }": "Corefile:3: cache min TTL can not be negative: -1",
            "cache {\n prefetch -1\n }": "Corefile:3: prefetch amount should be positive: -1",
            "cache {\n prefetch 1 1m 5%\n }":
                "Corefile:3: percentage should fall in range [10, 90]: 5",
            "cache {\n prefetch 1 1m 50\n }":
                "Corefile:3: last character of percentage should be `%`, but is: '0'",
            "cache {\n prefetch 1 soon\n }": 'Corefile:3: time: invalid duration "soon"',
            "cache {\n serve_stale 1h later\n }":
                "Corefile:3: invalid value for serve_stale refresh mode: later",
            "cache {\n serve_stale -1s\n }":
                "Corefile:3: invalid negative duration for serve_stale",
            "cache {\n servfail 6m\n }":
                "Corefile:3: caching SERVFAIL responses over 5 minutes is not permitted",
            "cache {\n servfail -1s\n }": "Corefile:3: invalid negative ttl for servfail",
            "cache {\n disable all\n }":
                'Corefile:3: cache type for disable must be "success" or "denial"',
            "cache {\n keepttl yes\n }": "Corefile:3: wrong argument count or unexpected line "
                                        "ending after 'yes'",
            "cache {\n fast\n }": "Corefile:3: wrong argument count or unexpected line "
                                  "ending after 'fast'",
            "cache\n    cache": "Corefile:3: this plugin can only be used once per Server Block",
        }
        for directive, message in cases.items():
            with self.subTest(directive=directive):
                self.assertEqual(self.error(f". {{\n    {directive}\n}}\n"), message)

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("cache"), setup)

    def test_setup_uses_the_reactor_clock(self) -> None:
        clock = task.Clock()
        config = configure(setup, "cache", ". {\n    cache\n}\n", reactor=clock)
        self.assertIs(config.chain._reactor, clock)

    def test_parse_returns_the_config(self) -> None:
        self.assertEqual(parse(controller("cache", ". {\n    cache 7\n}\n")).success_ttl, 7)


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        examples = check_examples(self, "cache")
        self.assertGreaterEqual(len(examples), 4)
        for example in examples:
            configure(setup, "cache", example)

    @defer.inlineCallbacks
    def test_first_example_serves(self):
        server = yield start_server(corefile_examples(plugin_readme("cache"))[0])
        self.addCleanup(server.stop)
        first = yield server.query("example.org", "A")
        second = yield server.query("example.org", "A", proto="tcp")
        # whoami's records are cached (TTL 0 raised to 5): the UDP port is replayed over TCP
        self.assertEqual(second.additional, first.additional)
        self.assertEqual(first.additional[0].ttl, 5)

