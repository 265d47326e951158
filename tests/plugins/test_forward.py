"""The *forward* plugin: setup, upstream parsing, policies, the handler's walk over its upstreams
(with stand-in proxies and ``task.Clock``), health checking, the UDP channel's matching of
replies against a real loopback socket, and the metrics all of these count (read from a fresh
registry each test).

Forwarding to real servers (Unbound, a second twisted-dns) is in
``tests/integration/test_forward_unbound.py``.
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
from twisted.internet import defer, protocol, reactor, task
from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.pkg import metrics
from twisted_dns.pkg.upstreams import Upstream, UpstreamError, parse_upstream, parse_upstreams
from twisted_dns.plugins.forward import forward as forward_module
from twisted_dns.plugins.forward.forward import Forward, Options
from twisted_dns.plugins.forward.health import HealthCheck, check_query
from twisted_dns.plugins.forward.metrics import UpstreamMetrics
from twisted_dns.plugins.forward.policy import Random, RoundRobin, Sequential
from twisted_dns.plugins.forward.setup import setup
from twisted_dns.plugins.forward.transport import (
    StreamPool,
    Timeouts,
    UDPChannel,
    UpstreamTimeout,
)
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    ClockedReactor,
    NextPlugin,
    check_examples,
    configure,
    default_registry,
    eventually,
    make_request,
    reply_of,
)

SERVFAIL = dns.rcode.SERVFAIL
REFUSED = dns.rcode.REFUSED


def forward_of(corefile: str, **options: Any) -> Forward:
    return configure(setup, "forward", corefile, **options).chain


def sample(name: str, **labels: str) -> float | None:
    """A sample of the process's metrics now (None: no such series)."""
    return metrics.registry().get_sample_value(name, labels)


def duration_count(to: str, rcode: str) -> float | None:
    return sample("coredns_proxy_request_duration_seconds_count", proxy_name="forward", to=to,
                  rcode=rcode)


def connections(to: str, proto: str) -> tuple[float | None, float | None]:
    """(conn cache hits, misses) of one upstream and protocol."""
    return tuple(sample(f"coredns_proxy_conn_cache_{kind}_total", proxy_name="forward", to=to,
                        proto=proto) for kind in ("hits", "misses"))


def failed_checks(to: str) -> float | None:
    return sample("coredns_proxy_healthcheck_failures_total", proxy_name="forward", to=to)


class UpstreamParsingTests(unittest.TestCase):
    def test_addresses(self) -> None:
        self.assertEqual(parse_upstreams(["10.0.0.1", "dns://10.0.0.2:1053", "[2003::1]:53",
                                          "2003::2", "tls://9.9.9.9"]), [
            Upstream("dns", "10.0.0.1", 53), Upstream("dns", "10.0.0.2", 1053),
            Upstream("dns", "2003::1", 53), Upstream("dns", "2003::2", 53),
            Upstream("tls", "9.9.9.9", 853)])

    def test_tls_server_name_per_upstream(self) -> None:
        self.assertEqual(parse_upstream("tls://9.9.9.9%dns.quad9.net:10853"),
                         [Upstream("tls", "9.9.9.9", 10853, "dns.quad9.net")])

    def test_resolv_conf(self) -> None:
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("# comment\nsearch example.org\nnameserver 10.1.1.1\n"
                         "nameserver ::1\noptions ndots:2\n")
        self.assertEqual(parse_upstream(path), [Upstream("dns", "10.1.1.1", 53),
                                                Upstream("dns", "::1", 53)])

    def test_errors(self) -> None:
        for bad in ["dns.example.org", "10.0.0.1:99999", "dns://", "/no/such/file"]:
            with self.subTest(bad=bad):
                self.assertRaises(UpstreamError, parse_upstreams, [bad])

    def test_addr_text(self) -> None:
        self.assertEqual(str(Upstream("dns", "::1", 53)), "[::1]:53")
        self.assertEqual(str(Upstream("tls", "1.1.1.1", 853)), "tls://1.1.1.1:853")


class SetupTests(unittest.TestCase):
    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("forward"), setup)

    def test_defaults(self) -> None:
        forward = forward_of(". {\n    forward . 127.0.0.1\n}\n")
        self.assertEqual(forward.Name(), "forward")
        self.assertEqual(forward.from_zone, ".")
        self.assertEqual([p.addr for p in forward.proxies], ["127.0.0.1:53"])
        self.assertIsInstance(forward.policy, Random)
        self.assertEqual(forward.options.max_fails, 2)
        self.assertEqual(forward.proxies[0].health.interval, 0.5)
        self.assertEqual(forward.proxies[0].health.proto, "udp")

    def test_block(self) -> None:
        forward = forward_of(
            ". {\n    forward Example.ORG 127.0.0.1:1053 127.0.0.2 {\n"
            "        except a.example.org 10.0.0.0/8\n        force_tcp\n        prefer_udp\n"
            "        expire 2s\n        max_fails 5\n        policy round_robin\n"
            "        health_check 2s no_rec domain Example.com\n        max_concurrent 10\n"
            "        next nxdomain SERVFAIL\n        failover REFUSED\n"
            "        failfast_all_unhealthy_upstreams\n        max_connect_attempts 3\n"
            "        max_idle_conns 4\n    }\n}\n")
        self.assertEqual(forward.from_zone, "example.org.")
        self.assertEqual(forward.ignored, ["a.example.org.", "10.in-addr.arpa."])
        options = forward.options
        self.assertTrue(options.force_tcp and options.prefer_udp)
        self.assertEqual((options.max_fails, options.max_concurrent, options.max_connect_attempts),
                         (5, 10, 3))
        self.assertEqual(options.next_rcodes, {dns.rcode.NXDOMAIN, SERVFAIL})
        self.assertEqual(options.failover_rcodes, {REFUSED})
        self.assertTrue(options.failfast_all_unhealthy)
        self.assertIsInstance(forward.policy, RoundRobin)
        health = forward.proxies[0].health
        self.assertEqual((health.interval, health.proto), (2.0, "tcp"))
        self.assertEqual(health.rest, check_query("example.com.", False)[0])
        self.assertEqual(forward.proxies[0].stream.expire_after, 2.0)

    def test_resolv_conf_target(self) -> None:
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("nameserver 192.0.2.53\nnameserver 2001:db8::53\n")
        forward = forward_of(f". {{\n    forward . {path} 127.0.0.1:5300\n}}\n")
        self.assertEqual([p.addr for p in forward.proxies],
                         ["192.0.2.53:53", "[2001:db8::53]:53", "127.0.0.1:5300"])

    def test_several_stanzas_chain(self) -> None:
        config = configure(setup, "forward", ". {\n    forward a.example 127.0.0.1\n"
                                             "    forward . 127.0.0.2\n}\n")
        first, second = config.plugins
        self.assertIs(first.next, second)
        self.assertIsNone(second.next)

    def test_errors(self) -> None:
        cases = {
            "forward": "Corefile:2: wrong argument count or unexpected line ending after "
                       "'forward'",
            "forward .": "Corefile:2: wrong argument count or unexpected line ending after '.'",
            "forward . foo.example": "Corefile:2: not an IP address or file: 'foo.example'",
            "forward . https://1.1.1.1": "Corefile:2: 'https' is not supported as a "
                                         "destination protocol in forward: https://1.1.1.1:443",
            "forward . 127.0.0.1 {\n bogus\n}": "Corefile:3: unknown property 'bogus'",
            "forward . 127.0.0.1 {\n policy fastest\n}": "Corefile:3: unknown policy 'fastest'",
            "forward . 127.0.0.1 {\n max_fails -1\n}": "Corefile:3: max_fails can't be "
                                                       "negative: -1",
            "forward . 127.0.0.1 {\n expire soon\n}": None,
            "forward . 127.0.0.1 {\n next NOPE\n}": "Corefile:3: NOPE is not a valid rcode",
            "forward . 127.0.0.1 {\n failover NOERROR\n}": "Corefile:3: NoError cannot be "
                                                           "used in failover",
            "forward . 127.0.0.1 {\n force_tcp yes\n}": None,
            "forward . 127.0.0.1 {\n health_check 1s often\n}": "Corefile:3: health_check: "
                                                                 "unknown option often",
            "forward . 127.0.0.1 {\n tls a b c d\n}": None,
            "forward . 127.0.0.1 {\n except\n}": None,
            "forward . tls://127.0.0.1%a.example {\n tls_servername b.example\n}": None,
            "forward . tls://127.0.0.1 {\n tls /no/such/ca.pem\n}": None,
            "forward . " + " ".join(f"10.0.0.{i}" for i in range(16)):
                "Corefile:2: more than 15 TOs configured: 16",
        }
        for line, message in cases.items():
            with self.subTest(line=line):
                exc = self.assertRaises(ConfigError, configure, setup, "forward",
                                        f". {{\n{line}\n}}\n")
                if message is not None:
                    self.assertEqual(str(exc), message)

    def test_readme_examples(self) -> None:
        examples = check_examples(self, "forward")
        self.assertGreaterEqual(len(examples), 8)
        for example in examples:
            with self.subTest(example=example):
                config = configure(setup, "forward", example, filename="README.md")
                self.assertIsInstance(config.chain, Forward)


class PolicyTests(unittest.TestCase):
    def test_sequential(self) -> None:
        self.assertEqual(Sequential().list([1, 2, 3]), [1, 2, 3])

    def test_round_robin(self) -> None:
        policy = RoundRobin()
        self.assertEqual([list(policy.list([1, 2, 3])) for _ in range(3)],
                         [[2, 3, 1], [3, 1, 2], [1, 2, 3]])

    def test_random_is_a_permutation(self) -> None:
        policy = Random()
        seen = set()
        for _ in range(200):
            order = tuple(policy.list([1, 2, 3]))
            self.assertEqual(sorted(order), [1, 2, 3])
            seen.add(order)
        self.assertGreater(len(seen), 1)
        self.assertEqual({tuple(policy.list([1, 2])) for _ in range(100)}, {(1, 2), (2, 1)})


class FakeProxy:
    """A proxy that records what it is asked to send; the test answers for the upstream."""

    def __init__(self, addr: str) -> None:
        self.addr = addr
        self.fails = 0
        self.sent: list[tuple[str, bytes, object]] = []
        self.checks = 0
        self.metrics = UpstreamMetrics(addr)

    def send(self, proto, rest, question, waiter, deadline) -> None:
        self.sent.append((proto, rest, waiter))

    send_check = send

    def down(self, max_fails: int) -> bool:
        return max_fails != 0 and self.fails > max_fails

    def healthcheck(self) -> None:
        self.checks += 1

    def stop(self) -> None:
        pass

    def reply(self, index: int = -1, rcode: int = 0, question: str | None = None,
              tc: bool = False, msg_id: int = 999) -> None:
        """Answer the ``index``-th query sent here (the upstream's ID: ``msg_id``)."""
        _proto, rest, waiter = self.sent[index]
        query = dns.message.from_wire(b"\x00\x00" + rest)
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        if question is not None:
            response.question[0].name = dns.name.from_text(question)
        if rcode == 0:
            response.answer.append(dns.rrset.from_text(response.question[0].name, 60, "IN",
                                                       "A", "192.0.2.7"))
        if tc:
            response.flags |= dns.flags.TC
        response.id = msg_id
        waiter.answered(response.to_wire())


class HandlerTests(unittest.TestCase):
    def setUp(self) -> None:
        metrics.fresh()

    def make(self, n: int = 1, next_plugin=None, **options) -> tuple[Forward, list[FakeProxy]]:
        self.clock = task.Clock()
        proxies = [FakeProxy(f"10.0.0.{i}:53") for i in range(n)]
        forward = Forward(next_plugin, options.pop("from_zone", "."), proxies, Sequential(),
                          self.clock, options.pop("ignored", ()), Options(**options))
        return forward, proxies

    def serve(self, forward: Forward, name: str = "www.example.org", proto: str = "udp",
              **kwargs) -> tuple[object, CaptureWriter]:
        request = make_request(name, "A", proto=proto, **kwargs)
        writer = CaptureWriter(request)
        return forward.ServeDNS(request, writer), writer

    def test_relays_reply_with_client_id_and_question(self) -> None:
        forward, (proxy,) = self.make()
        result, writer = self.serve(forward, "WwW.Example.ORG")
        proto, rest, _ = proxy.sent[0]
        self.assertEqual(proto, "udp")
        self.assertEqual(rest, writer.request.wire[2:])  # relayed byte for byte
        proxy.reply(question="www.example.org.")  # the upstream lower-cased the name
        self.assertEqual(self.successResultOf(result), 0)
        reply = reply_of(writer)
        self.assertEqual(reply.id, writer.request.id)
        self.assertEqual(reply.question[0].name.to_text(), "WwW.Example.ORG.")
        self.assertEqual(reply.answer[0][0].address, "192.0.2.7")
        self.assertEqual(forward.concurrent, 0)

    def test_client_protocol_unless_forced(self) -> None:
        forward, (proxy,) = self.make()
        self.serve(forward, proto="tcp")
        self.assertEqual(proxy.sent[-1][0], "tcp")
        forward, (proxy,) = self.make(force_tcp=True)
        self.serve(forward, proto="udp")
        self.assertEqual(proxy.sent[-1][0], "tcp")
        forward, (proxy,) = self.make(prefer_udp=True)
        self.serve(forward, proto="tcp")
        self.assertEqual(proxy.sent[-1][0], "udp")

    def test_truncated_relayed_without_prefer_udp(self) -> None:
        forward, (proxy,) = self.make()
        result, writer = self.serve(forward)
        proxy.reply(tc=True)
        self.assertEqual(self.successResultOf(result), 0)
        self.assertTrue(reply_of(writer).flags & dns.flags.TC)

    def test_truncated_retried_over_tcp_with_prefer_udp(self) -> None:
        forward, (proxy,) = self.make(prefer_udp=True)
        result, writer = self.serve(forward, proto="tcp")
        proxy.reply(tc=True)
        self.assertEqual([sent[0] for sent in proxy.sent], ["udp", "tcp"])
        self.assertEqual(writer.sent, [])
        proxy.reply()
        self.assertEqual(self.successResultOf(result), 0)
        self.assertFalse(reply_of(writer).flags & dns.flags.TC)
        self.assertEqual(duration_count("10.0.0.0:53", "NOERROR"), 2)  # each reply counts

    def test_failure_tries_next_upstream_and_starts_health_check(self) -> None:
        forward, proxies = self.make(2)
        result, _writer = self.serve(forward)
        proxies[0].sent[0][2].failed(UpstreamTimeout())
        self.assertEqual(proxies[0].checks, 1)
        self.assertEqual(len(proxies[1].sent), 1)
        proxies[1].reply()
        self.assertEqual(self.successResultOf(result), 0)

    def test_every_upstream_failing_is_servfail(self) -> None:
        forward, proxies = self.make(2)
        result, writer = self.serve(forward)
        proxies[0].sent[0][2].failed(ConnectionRefusedError())
        proxies[1].sent[0][2].failed(ConnectionRefusedError())
        self.assertEqual(self.successResultOf(result), SERVFAIL)
        self.assertEqual(writer.sent, [])  # the server writes the SERVFAIL
        self.assertEqual((len(proxies[0].sent), len(proxies[1].sent)), (1, 1))
        self.assertEqual(forward.concurrent, 0)
        name = "coredns_proxy_request_duration_seconds"
        self.assertEqual([metric.samples for metric in metrics.registry().collect()
                          if metric.name == name], [[]])  # no reply: nothing measured

    def test_no_health_check_with_max_fails_zero(self) -> None:
        forward, (proxy,) = self.make(max_fails=0)
        result, _ = self.serve(forward)
        proxy.sent[0][2].failed(UpstreamTimeout())
        self.assertEqual(proxy.checks, 0)
        self.assertEqual(self.successResultOf(result), SERVFAIL)

    def test_down_upstream_skipped(self) -> None:
        forward, proxies = self.make(2)
        proxies[0].fails = 3
        self.serve(forward)
        self.assertEqual((len(proxies[0].sent), len(proxies[1].sent)), (0, 1))

    def test_all_down_picks_one_anyway(self) -> None:
        forward, proxies = self.make(2)
        for proxy in proxies:
            proxy.fails = 3
        self.serve(forward)
        self.assertEqual(sum(len(proxy.sent) for proxy in proxies), 1)
        self.assertEqual(forward.healthcheck_broken, 1)
        self.assertEqual(sample("coredns_forward_healthcheck_broken_total"), 1)

    def test_all_down_failfast(self) -> None:
        forward, proxies = self.make(2, failfast_all_unhealthy=True)
        for proxy in proxies:
            proxy.fails = 3
        result, _ = self.serve(forward)
        self.assertEqual(result, SERVFAIL)
        self.assertEqual(sum(len(proxy.sent) for proxy in proxies), 0)

    def test_failover_rcode(self) -> None:
        forward, proxies = self.make(2, failover_rcodes=frozenset({SERVFAIL}))
        result, writer = self.serve(forward)
        proxies[0].reply(rcode=SERVFAIL)
        proxies[1].reply(rcode=SERVFAIL)  # the last one tried: relayed as it is
        self.assertEqual(self.successResultOf(result), 0)
        self.assertEqual(reply_of(writer).rcode(), SERVFAIL)
        self.assertEqual([duration_count(proxy.addr, "SERVFAIL") for proxy in proxies], [1, 1])

    def test_next_rcode_hands_on_to_next_forward(self) -> None:
        second, (upstream2,) = self.make()
        forward, (upstream1,) = self.make(next_plugin=second,
                                          next_rcodes=frozenset({dns.rcode.NXDOMAIN}))
        result, writer = self.serve(forward)
        upstream1.reply(rcode=dns.rcode.NXDOMAIN)
        self.assertEqual(writer.sent, [])
        upstream2.reply()
        self.assertEqual(self.successResultOf(result), 0)
        self.assertEqual(reply_of(writer).rcode(), 0)

    def test_next_rcode_ignored_when_next_is_not_forward(self) -> None:
        forward, (proxy,) = self.make(next_plugin=NextPlugin(),
                                      next_rcodes=frozenset({dns.rcode.NXDOMAIN}))
        _result, writer = self.serve(forward)
        proxy.reply(rcode=dns.rcode.NXDOMAIN)
        self.assertEqual(reply_of(writer).rcode(), dns.rcode.NXDOMAIN)

    def test_reply_without_question_is_formerr(self) -> None:
        forward, (proxy,) = self.make()
        result, writer = self.serve(forward)
        proxy.sent[0][2].answered(b"\x00\x01\x81\x80" + bytes(8))
        self.assertEqual(self.successResultOf(result), 0)
        self.assertEqual(reply_of(writer).rcode(), dns.rcode.FORMERR)

    def test_except_and_from(self) -> None:
        following = NextPlugin(rcode=0)
        forward, (proxy,) = self.make(next_plugin=following, from_zone="example.org.",
                                      ignored=["private.example.org."])
        for name, forwarded in [("example.org", True), ("www.example.org", True),
                                ("a.private.example.org", False), ("example.net", False),
                                ("notexample.org", False),
                                # an escaped dot is part of a label: "a.example" is under
                                # org. only, "a.private" under example.org. only
                                ("a\\.example.org", False), ("a\\.private.example.org", True)]:
            with self.subTest(name=name):
                before = len(proxy.sent)
                self.serve(forward, name)
                self.assertEqual(len(proxy.sent) - before, int(forwarded))

    def test_max_concurrent_refused(self) -> None:
        forward, (proxy,) = self.make(max_concurrent=1)
        first, _ = self.serve(forward)
        second, _writer = self.serve(forward)
        self.assertEqual(second, REFUSED)
        self.assertEqual(forward.max_concurrent_rejects, 1)
        self.assertEqual(sample("coredns_forward_max_concurrent_rejects_total"), 1)
        proxy.reply(0)
        self.assertEqual(self.successResultOf(first), 0)
        third, _ = self.serve(forward)
        self.assertIsInstance(third, defer.Deferred)

    def test_reply_measured_per_upstream_and_rcode(self) -> None:
        forward, (proxy,) = self.make()
        result, _writer = self.serve(forward)
        self.clock.advance(0.003)
        proxy.reply(rcode=dns.rcode.NXDOMAIN)
        self.assertEqual(self.successResultOf(result), 0)
        name = "coredns_proxy_request_duration_seconds"
        labels = {"proxy_name": "forward", "to": "10.0.0.0:53", "rcode": "NXDOMAIN"}
        self.assertEqual(sample(name + "_count", **labels), 1)
        self.assertAlmostEqual(sample(name + "_sum", **labels), 0.003)
        self.assertEqual([sample(name + "_bucket", le=le, **labels)
                          for le in ("0.002", "0.004", "+Inf")], [0, 1, 1])
        self.assertIsNone(duration_count("10.0.0.0:53", "NOERROR"))

    def test_counters_start_at_zero(self) -> None:
        self.make()
        self.assertEqual([sample("coredns_forward_healthcheck_broken_total"),
                          sample("coredns_forward_max_concurrent_rejects_total")], [0, 0])

    def test_server_cancel_forgets_the_query(self) -> None:
        forward, (proxy,) = self.make()
        result, writer = self.serve(forward)
        result.cancel()
        self.failureResultOf(result, defer.CancelledError)
        self.assertEqual(forward.concurrent, 0)
        proxy.reply()
        self.assertEqual(writer.sent, [])

    def test_deadline_stops_the_walk(self) -> None:
        forward, proxies = self.make(3)
        result, _ = self.serve(forward)
        self.clock.advance(forward_module.DEADLINE)
        proxies[0].sent[0][2].failed(UpstreamTimeout())
        self.assertEqual(self.successResultOf(result), SERVFAIL)
        self.assertEqual(len(proxies[1].sent), 0)


class HealthCheckTests(unittest.TestCase):
    def setUp(self) -> None:
        metrics.fresh()

    def test_down_after_max_fails_up_after_a_reply(self) -> None:
        clock = task.Clock()
        proxy = FakeProxy("10.0.0.1:53")
        check = HealthCheck(proxy, clock, 0.5, "udp")
        max_fails = 2
        check.kick()
        check.kick()  # already probing: no second probe
        self.assertIsNone(failed_checks("10.0.0.1:53"))  # a series from its first count
        self.assertEqual(len(proxy.sent), 1)
        _proto, rest, _waiter = proxy.sent[0]
        query = dns.message.from_wire(b"\x00\x00" + rest)
        self.assertEqual((query.question[0].to_text(), bool(query.flags & dns.flags.RD)),
                         (". IN NS", True))
        for expected_fails in (1, 2, 3):
            proxy.sent[-1][2].failed(UpstreamTimeout())
            self.assertEqual(proxy.fails, expected_fails)
            clock.advance(0.5)
        self.assertTrue(proxy.down(max_fails))
        self.assertEqual(len(proxy.sent), 4)
        self.assertEqual(failed_checks("10.0.0.1:53"), 3)
        proxy.reply(rcode=REFUSED)  # any reply means healthy
        self.assertEqual(proxy.fails, 0)
        self.assertFalse(proxy.down(max_fails))
        clock.advance(5)
        self.assertEqual(len(proxy.sent), 4)  # healthy: probing stopped
        self.assertEqual(check.failures, 3)

    def test_forward_uses_recovered_upstream(self) -> None:
        clock = task.Clock()
        first, second = FakeProxy("10.0.0.1:53"), FakeProxy("10.0.0.2:53")
        forward = Forward(None, ".", [first, second], Sequential(), clock)
        first.fails = 3
        forward.ServeDNS(make_request("a.example"), CaptureWriter(make_request("a.example")))
        self.assertEqual((len(first.sent), len(second.sent)), (0, 1))
        first.fails = 0  # a probe got its reply
        forward.ServeDNS(make_request("a.example"), CaptureWriter(make_request("a.example")))
        self.assertEqual((len(first.sent), len(second.sent)), (1, 1))

    def test_no_rec_and_domain(self) -> None:
        rest, question = check_query("example.org.", recursion_desired=False)
        query = dns.message.from_wire(b"\x00\x00" + rest)
        self.assertEqual(question, rest[10:])
        self.assertEqual(query.question[0].to_text(), "example.org. IN NS")
        self.assertFalse(query.flags & dns.flags.RD)


class Collector:
    def __init__(self) -> None:
        self.done: defer.Deferred = defer.Deferred()

    def answered(self, data: bytes) -> None:
        self.done.callback(data)

    def failed(self, reason: Exception) -> None:
        self.done.errback(reason)


def answer(query: bytes) -> list[bytes]:
    """An upstream's NOERROR reply to ``query``."""
    return [dns.message.make_response(dns.message.from_wire(query)).to_wire()]


class FakeUpstream(protocol.DatagramProtocol):
    """A loopback UDP server that answers each query with ``replies(query)`` datagrams."""

    def __init__(self, replies) -> None:
        self.replies = replies

    def datagramReceived(self, data: bytes, addr) -> None:
        for reply in self.replies(data):
            self.transport.write(reply, addr)


class UDPChannelTests(unittest.TestCase):
    def start(self, replies) -> UDPChannel:
        port = reactor.listenUDP(0, FakeUpstream(replies), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.timeouts = Timeouts(reactor)
        self.addCleanup(self.timeouts.stop)
        channel = UDPChannel(reactor, "127.0.0.1", port.getHost().port, self.timeouts)
        self.addCleanup(channel.close)
        return channel

    def exchange(self, channel: UDPChannel, name: str = "www.example.org",
                 timeout: float = 0.5) -> defer.Deferred:
        wire = dns.message.make_query(name, "A").to_wire()
        collector = Collector()
        channel.send(wire[2:], wire[12:], collector, reactor.seconds() + timeout)
        return collector.done

    @defer.inlineCallbacks
    def test_spoofed_replies_dropped(self) -> None:
        def replies(query: bytes) -> list[bytes]:
            response = dns.message.make_response(dns.message.from_wire(query))
            good = response.to_wire()
            wrong_id = bytes([good[0] ^ 0xFF]) + good[1:]
            other = dns.message.make_response(dns.message.make_query("evil.example", "A"))
            other.id = response.id
            not_a_response = query
            return [wrong_id, other.to_wire(), not_a_response, good[:5], good]
        channel = self.start(replies)
        data = yield self.exchange(channel, "WWW.example.org")
        self.assertEqual(dns.message.from_wire(data).question[0].name.to_text(),
                         "WWW.example.org.")
        self.assertEqual(channel.inflight, {})

    @defer.inlineCallbacks
    def test_case_insensitive_question_match(self) -> None:
        def replies(query: bytes) -> list[bytes]:
            return [query[:2] + b"\x81\x80" + query[4:12] + query[12:].lower()]
        data = yield self.exchange(self.start(replies), "WWW.Example.ORG")
        self.assertEqual(data[2], 0x81)

    @defer.inlineCallbacks
    def test_timeout(self) -> None:
        channel = self.start(lambda query: [])
        yield self.assertFailure(self.exchange(channel, timeout=0.2), UpstreamTimeout)
        self.assertEqual(channel.inflight, {})

    @defer.inlineCallbacks
    def test_refused_port_fails_fast_and_socket_survives(self) -> None:
        port = reactor.listenUDP(0, protocol.DatagramProtocol(), interface="127.0.0.1")
        number = port.getHost().port
        yield port.stopListening()
        timeouts = Timeouts(reactor)
        self.addCleanup(timeouts.stop)
        channel = UDPChannel(reactor, "127.0.0.1", number, timeouts)
        self.addCleanup(channel.close)
        for _ in range(2):
            yield self.assertFailure(self.exchange(channel, timeout=3), ConnectionRefusedError)


class TimeoutsTests(unittest.TestCase):
    def test_expires_due_slots_only(self) -> None:
        clock = task.Clock()
        timeouts = Timeouts(clock)
        expired: list[str] = []

        class Owner:
            def expire(self, key: str) -> None:
                expired.append(key)

        owner = Owner()
        timeouts.add(0.25, owner, "early")
        timeouts.add(2.0, owner, "late")
        clock.advance(0.2)
        self.assertEqual(expired, [])
        clock.advance(0.2)
        self.assertEqual(expired, ["early"])
        clock.pump([0.1] * 20)
        self.assertEqual(expired, ["early", "late"])
        self.assertEqual(clock.getDelayedCalls(), [])  # nothing left: the timer stopped


class TCPResponder(protocol.Protocol):
    """A loopback TCP upstream answering every query (NOERROR unless ``reply_to`` says
    otherwise); counts its connections."""

    #: the connection closes instead of answering its query number ``drop_at``
    drop_at = 0

    def connectionMade(self) -> None:
        self.factory.connections += 1
        self.seen = 0
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2 and len(self.buffer) >= 2 + int.from_bytes(
                self.buffer[:2], "big"):
            length = int.from_bytes(self.buffer[:2], "big")
            query, self.buffer = self.buffer[2:2 + length], self.buffer[2 + length:]
            self.seen += 1
            if self.seen == self.drop_at:
                self.transport.loseConnection()
                return
            reply = self.reply_to(query)
            self.transport.write(len(reply).to_bytes(2, "big") + reply)

    def reply_to(self, query: bytes) -> bytes:
        return answer(query)[0]


def listen_tcp(test: unittest.TestCase, responder: type[protocol.Protocol]) -> protocol.Factory:
    """A loopback TCP upstream for the test; the factory (``.port``, ``.connections``)."""
    factory = protocol.ServerFactory.forProtocol(responder)
    factory.connections = 0
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    test.addCleanup(port.stopListening)
    factory.port = port.getHost().port
    return factory


class TCPUpstream(TCPResponder):
    """Answers the first query of each connection; on the second it closes the connection
    without answering (an upstream dropping a kept-open connection)."""

    drop_at = 2


class StreamPoolTests(unittest.TestCase):
    """Real connections to a loopback upstream; the pool's timers on a clock the test moves."""

    def setUp(self) -> None:
        self.factory = listen_tcp(self, TCPUpstream)
        self.reactor = ClockedReactor()
        self.timeouts = Timeouts(self.reactor)
        self.addCleanup(self.timeouts.stop)
        self.pool = StreamPool(self.reactor, "127.0.0.1", self.factory.port, self.timeouts,
                               expire=10)
        self.addCleanup(self.pool.close)

    def exchange(self) -> defer.Deferred:
        wire = dns.message.make_query("www.example.org", "A").to_wire()
        collector = Collector()
        self.pool.send(wire[2:], wire[12:], collector, self.reactor.seconds() + 3)
        return collector.done

    @defer.inlineCallbacks
    def test_query_resent_when_kept_connection_is_dropped(self) -> None:
        yield self.exchange()
        self.assertEqual(len(self.pool.connections), 1)
        data = yield self.exchange()  # the upstream drops the connection: asked again
        self.assertTrue(data[2] & 0x80)
        self.assertEqual(self.factory.connections, 2)

    @defer.inlineCallbacks
    def test_idle_connection_expires(self) -> None:
        yield self.exchange()
        [connection] = self.pool.connections
        self.reactor.advance(9.9)
        self.assertEqual(self.pool.connections, [connection])
        self.reactor.advance(0.1)
        self.assertEqual(self.pool.connections, [])


class ProxyMetricsTests(unittest.TestCase):
    """Real proxies to loopback upstreams: connection reuse, and counting across a reload."""

    def setUp(self) -> None:
        metrics.fresh()
        port = reactor.listenUDP(0, FakeUpstream(answer), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.to = f"127.0.0.1:{port.getHost().port}"

    def forward(self, to: str, block: str = "") -> Forward:
        """A configuration of ``forward . TO`` (set up again for each call, as on reload)."""
        forward = forward_of(f". {{\n    forward . {to}{block}\n}}\n", reactor=reactor)
        self.addCleanup(forward.stop)
        return forward

    def ask(self, forward: Forward, proto: str = "udp") -> defer.Deferred:
        request = make_request("www.example.org", proto=proto)
        return forward.ServeDNS(request, CaptureWriter(request))

    @defer.inlineCallbacks
    def test_reload_keeps_counting_on_the_same_series(self) -> None:
        first = self.forward(self.to)
        for _ in range(2):
            self.assertEqual((yield self.ask(first)), 0)
        second = self.forward(self.to)
        self.assertIs(second.metrics, first.metrics)
        self.assertEqual((yield self.ask(second)), 0)
        self.assertEqual(duration_count(self.to, "NOERROR"), 3)
        # each configuration opened its own socket once: 2 misses, then 1 hit
        self.assertEqual(connections(self.to, "udp"), (1, 2))

    @defer.inlineCallbacks
    def test_tcp_connection_reused(self) -> None:
        upstream = listen_tcp(self, TCPResponder)
        to = f"127.0.0.1:{upstream.port}"
        forward = self.forward(to, " {\n        force_tcp\n    }")
        for _ in range(2):
            self.assertEqual((yield self.ask(forward)), 0)
        self.assertEqual(upstream.connections, 1)
        self.assertEqual(connections(to, "tcp"), (1, 1))
        self.assertEqual(connections(to, "udp"), (None, None))
        self.assertEqual(duration_count(to, "NOERROR"), 2)

    @defer.inlineCallbacks
    def test_health_checks_not_counted_as_queries(self) -> None:
        proxy = self.forward(self.to).proxies[0]
        proxy.healthcheck()
        yield eventually(lambda: not proxy.health.running)  # the probe got its reply
        self.assertEqual(connections(self.to, "udp"), (None, None))
        self.assertIsNone(duration_count(self.to, "NOERROR"))
        self.assertIsNone(failed_checks(self.to))
