"""The *loadbalance* plugin: setup, round robin, weighted, prefer, wire vs Message, the server."""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
from twisted.internet import defer, task
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial import unittest
from zope.interface import implementer

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.plugins.loadbalance.loadbalance import Balancer, LoadBalance
from twisted_dns.plugins.loadbalance.setup import setup
from twisted_dns.plugins.loadbalance.weighted import Weights, parse_address, parse_weights
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import (
    check_examples,
    configure,
    corefile_examples,
    default_registry,
    make_request,
    plugin_readme,
    start_server,
)

CNAME = "example.org. 300 IN CNAME www.example.org."
ADDRESSES = ("www.example.org. 300 IN A 192.0.2.1", "www.example.org. 300 IN A 192.0.2.2",
             "www.example.org. 300 IN A 192.0.2.3")


def rrset(text: str) -> dns.rrset.RRset:
    name, ttl, rdclass, rdtype, rdata = text.split(" ", 4)
    return dns.rrset.from_text(name, int(ttl), rdclass, rdtype, rdata)


def reply_for(request: Request, answer: Sequence[str] = (), authority: Sequence[str] = (),
              additional: Sequence[str] = (), rcode: int = dns.rcode.NOERROR
              ) -> dns.message.Message:
    """A reply with one RRset per record, in the order given (as an upstream sends it)."""
    reply = dns.message.make_response(request.message())
    reply.set_rcode(rcode)
    reply.answer = [rrset(text) for text in answer]
    reply.authority = [rrset(text) for text in authority]
    reply.additional = [rrset(text) for text in additional]
    return reply


def records(section: list[dns.rrset.RRset]) -> list[str]:
    """Each record of a section as ``TYPE RDATA``, in wire order."""
    return [f"{dns.rdatatype.to_text(rrset.rdtype)} {rdata}" for rrset in section
            for rdata in rrset]


class StillRandom(random.Random):
    """A Random whose shuffle leaves the order alone and whose randrange is scripted."""

    def __init__(self, picks: Sequence[int] = ()) -> None:
        super().__init__(0)
        self.picks = list(picks)

    def shuffle(self, x: Any) -> None:  # type: ignore[override]
        pass

    def randrange(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        return self.picks.pop(0)


@implementer(IPlugin)
class Writing:
    """The rest of the chain: writes ``build(request)``, as bytes when ``wire``."""

    def __init__(self, build: Callable[[Request], dns.message.Message], wire: bool) -> None:
        self.build = build
        self.wire = wire
        self.written: list[Any] = []

    def Name(self) -> str:
        return "writing"

    def ServeDNS(self, request: Request, writer: Any) -> int:
        reply = self.build(request)
        self.written.append(reply.to_wire() if self.wire else reply)
        writer.write(self.written[-1])
        return int(reply.rcode())


class Spy(CaptureWriter):
    """Keeps what the plugin handed on, before rendering."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.replies: list[Any] = []

    def write(self, reply: Any) -> None:
        self.replies.append(reply)
        super().write(reply)


def serve(balancer: Balancer, build: Callable[[Request], dns.message.Message], wire: bool,
          rdtype: str = "A") -> tuple[dns.message.Message, Spy, Writing]:
    request = make_request("example.org", rdtype)
    writer = Spy(request)
    chain = Writing(build, wire)
    LoadBalance(chain, balancer).ServeDNS(request, writer)
    [sent] = writer.sent
    # one RRset per record: the order on the wire, as a stub resolver reads it
    return dns.message.from_wire(sent, one_rr_per_rrset=True, keyring=False), writer, chain


class SetupTests(unittest.TestCase):
    def setUp(self) -> None:
        self.weights = os.path.abspath(self.mktemp())
        with open(self.weights, "w") as handle:
            handle.write("www.example.com\n100.64.1.1 3\n")

    def configure(self, body: str) -> LoadBalance:
        return configure(setup, "loadbalance", f". {{\n    {body}\n}}\n").chain

    def error(self, body: str) -> str:
        return str(self.assertRaises(ConfigError, self.configure, body))

    def test_default_is_round_robin(self) -> None:
        for body in ("loadbalance", "loadbalance round_robin"):
            balancer = self.configure(body).balancer
            self.assertEqual((balancer.policy, balancer.prefer), ("round_robin", []))

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("loadbalance"), setup)

    def test_weighted(self) -> None:
        weights = self.configure(f"loadbalance weighted {self.weights}").balancer.weights
        self.assertEqual((weights.path, weights.reload), (self.weights, 30.0))
        self.assertEqual(weights.domains,
                         {"www.example.com.": {parse_address("100.64.1.1"): 3}})
        for reload, seconds in (("10s", 10.0), ("0s", 0.0), ("1m30s", 90.0)):
            weights = self.configure(f"loadbalance weighted {self.weights} {{\n"
                                     f"reload {reload}\n}}").balancer.weights
            self.assertEqual(weights.reload, seconds)

    def test_prefer(self) -> None:
        for options in ("prefer 192.0.2.0/24 2001:db8::/32\n    reload 10s",
                        "reload 10s\n    prefer 192.0.2.0/24\n    prefer 2001:db8::1/32"):
            balancer = self.configure(f"loadbalance weighted {self.weights} {{\n"
                                      f"    {options}\n}}").balancer
            self.assertEqual([str(net) for net in balancer.prefer],
                             ["192.0.2.0/24", "2001:db8::/32"])
            self.assertEqual(balancer.weights.reload, 10.0)
        balancer = self.configure("loadbalance {\n prefer 10.0.0.0/8\n}").balancer
        self.assertEqual((balancer.policy, [str(n) for n in balancer.prefer]),
                         ("round_robin", ["10.0.0.0/8"]))

    def test_errors(self) -> None:
        cases = {
            "loadbalance fleeb": "Corefile:2: unknown policy: fleeb",
            "loadbalance round_robin a": "Corefile:2: unknown property for round_robin",
            "loadbalance weighted": "Corefile:2: missing weight file argument",
            "loadbalance weighted a b": "Corefile:2: unexpected argument(s)",
            "loadbalance round_robin {\n reload 10s\n}": "Corefile:3: unknown property 'reload'",
            f"loadbalance weighted {self.weights} {{\n susu\n}}":
                "Corefile:3: unknown property 'susu'",
            f"loadbalance weighted {self.weights} {{\n reload\n}}":
                "Corefile:3: reload duration value is missing",
            f"loadbalance weighted {self.weights} {{\n reload a\n}}":
                "Corefile:3: invalid reload duration 'a'",
            f"loadbalance weighted {self.weights} {{\n reload -1s\n}}":
                "Corefile:3: invalid reload duration '-1s'",
            f"loadbalance weighted {self.weights} {{\n\n reload 30s a\n}}":
                "Corefile:4: unexpected argument",
            "loadbalance {\n prefer invalid\n}":
                'Corefile:3: invalid CIDR "invalid": invalid CIDR address: invalid',
            "loadbalance {\n prefer 10.0.0.1\n}":
                'Corefile:3: invalid CIDR "10.0.0.1": invalid CIDR address: 10.0.0.1',
        }
        for body, message in cases.items():
            self.assertEqual(self.error(body), message, body)

    def test_weight_file_errors(self) -> None:
        with open(self.weights, "w") as handle:
            handle.write("# weights\n\nwww.example.com\n100.64.1.1 0\n")
        self.assertEqual(self.error(f"loadbalance weighted {self.weights}"),
                         f'{self.weights}:4: wrong weight value "0"')

    def test_missing_weight_file(self) -> None:
        missing = self.weights + ".missing"
        self.assertEqual(self.error(f"loadbalance weighted {missing} {{\n reload 0s\n}}"),
                         f"Corefile:2: cannot open weight file {missing}: "
                         "No such file or directory")
        # with a reload it may appear later
        weights = self.configure(f"loadbalance weighted {missing}").balancer.weights
        self.assertEqual(weights.domains, {})


class WeightFileTests(unittest.TestCase):
    def test_parse(self) -> None:
        domains = parse_weights("# c\n\nWWW.Example.com\n100.64.1.1 3\n  2001:db8::1   255\n"
                                "other.example.\n10.0.0.1 1\n", "w")
        self.assertEqual(domains, {
            "www.example.com.": {parse_address("100.64.1.1"): 3,
                                 parse_address("2001:db8::1"): 255},
            "other.example.": {parse_address("10.0.0.1"): 1},
        })

    def test_errors(self) -> None:
        cases = {
            "10.0.0.1\n": 'w:1: wrong domain name "10.0.0.1" (maybe a missing weight value?)',
            "a.\nnot-an-ip 3\n": 'w:2: wrong IP address "not-an-ip"',
            "a.\n10.0.0.1 256\n": 'w:2: wrong weight value "256"',
            "a.\n10.0.0.1 x\n": 'w:2: wrong weight value "x"',
            "10.0.0.1 3\n": "w:1: missing domain name",
            "a.\n10.0.0.1 3 4\n": 'w:2: could not parse weight line "10.0.0.1 3 4"',
        }
        for text, message in cases.items():
            exc = self.assertRaises(ConfigError, parse_weights, text, "w")
            self.assertEqual(str(exc), message)

    def test_reload(self) -> None:
        logged: list[dict] = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("a.\n10.0.0.1 3\n")
        clock = task.Clock()
        weights = Weights(path, 10.0, clock)
        weights.load()
        weights.start()
        with open(path, "w") as handle:
            handle.write("a.\n10.0.0.1 7\n")
        clock.advance(9)
        self.assertEqual(weights.domains["a."][parse_address("10.0.0.1")], 3)
        clock.advance(1)
        self.assertEqual(weights.domains["a."][parse_address("10.0.0.1")], 7)
        # a bad file is logged; the weights in use stay
        with open(path, "w") as handle:
            handle.write("a.\n10.0.0.1 0\n")
        clock.advance(10)
        self.assertEqual(weights.domains["a."][parse_address("10.0.0.1")], 7)
        self.assertIn(f'plugin/loadbalance: {path}:2: wrong weight value "0"',
                      [formatEvent(e) for e in logged if e.get("log_namespace") == "loadbalance"
                       and e["log_level"].name == "error"])
        weights.stop()
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_top_follows_weights(self) -> None:
        """Heaviest first, then a pick in [0, sum) falls in each weight's share."""
        weights = Weights("unused", 0, task.Clock(), rng=StillRandom(range(7)))
        weights.domains = parse_weights("www.example.com\n100.64.1.1 3\n100.64.1.2 1\n"
                                        "100.64.1.3 2\n", "w")
        records = [("www.example.com.", parse_address(f"100.64.1.{n}")) for n in (1, 2, 3, 4)]
        # weights 3, 1, 2 and 1 (unlisted): sorted 3 (.1), 2 (.3), 1 (.2), 1 (.4)
        self.assertEqual([weights.top(records) for _ in range(7)], [0, 0, 0, 2, 2, 1, 3])


class RoundRobinTests(unittest.TestCase):
    def test_every_order_reachable_cname_first(self) -> None:
        for wire in (False, True):
            balancer = Balancer(rng=random.Random(5353))
            seen = set()
            for _ in range(60):
                reply, _, _ = serve(balancer, lambda r: reply_for(r, (*ADDRESSES, CNAME)), wire)
                found = records(reply.answer)
                self.assertEqual(found[0], "CNAME www.example.org.")
                seen.add(tuple(found[1:]))
            self.assertEqual(seen, {tuple(f"A {a.split()[-1]}" for a in order)
                                    for order in itertools.permutations(ADDRESSES)})

    def test_mx_and_other_sections(self) -> None:
        """MX records shuffle too; authority and additional as well; the rest stays put."""
        answer = ("example.org. 300 IN MX 10 mx1.example.org.",
                  "example.org. 300 IN MX 20 mx2.example.org.",
                  "example.org. 300 IN TXT \"t\"")
        authority = ("example.org. 300 IN NS ns1.example.org.",)
        additional = ("mx1.example.org. 300 IN A 192.0.2.1",
                      "mx1.example.org. 300 IN AAAA 2001:db8::1")
        balancer = Balancer(rng=random.Random(7))
        answers, extras = set(), set()
        for _ in range(40):
            reply, _, _ = serve(balancer, lambda r: reply_for(r, answer, authority, additional),
                                True, "MX")
            found = records(reply.answer)
            self.assertEqual(found[0], 'TXT "t"')  # the rest comes before MX
            answers.add(tuple(found))
            extras.add(tuple(records(reply.additional)))
            self.assertEqual(records(reply.authority), ["NS ns1.example.org."])
        self.assertEqual(len(answers), 2)
        self.assertEqual(len(extras), 2)  # A and AAAA shuffle together

    def test_untouched_replies(self) -> None:
        balancer = Balancer(rng=StillRandom())
        for wire in (False, True):
            # NXDOMAIN, AXFR: not reordered even though the CNAME is last
            for rcode, rdtype in ((dns.rcode.NXDOMAIN, "A"), (dns.rcode.NOERROR, "AXFR")):
                reply, _, _ = serve(balancer, lambda r, rc=rcode: reply_for(
                    r, (ADDRESSES[0], CNAME), rcode=rc), wire, rdtype)
                self.assertEqual(records(reply.answer)[0], "A 192.0.2.1")

    def test_wire_passed_through_when_nothing_changes(self) -> None:
        """One address after its CNAME: the bytes go on as they came, never decoded."""
        balancer = Balancer()
        for answer in ((CNAME, ADDRESSES[0]), (ADDRESSES[0],), ()):
            _, writer, chain = serve(balancer, lambda r, a=answer: reply_for(r, a), True)
            self.assertIs(writer.replies[0], chain.written[0])

    def test_wire_decoded_when_out_of_order(self) -> None:
        _, writer, _ = serve(Balancer(), lambda r: reply_for(r, (ADDRESSES[0], CNAME)), True)
        self.assertIsInstance(writer.replies[0], dns.message.Message)
        self.assertEqual(records(writer.replies[0].answer)[0], "CNAME www.example.org.")

    def test_signed_reply_untouched(self) -> None:
        keyring = dns.tsigkeyring.from_text({"key.": "c2VjcmV0c2VjcmV0"})

        def build(request: Request) -> dns.message.Message:
            reply = reply_for(request, (ADDRESSES[0], CNAME, ADDRESSES[1]))
            reply.use_tsig(keyring, keyname="key.")
            return reply

        _, writer, chain = serve(Balancer(), build, True)
        self.assertIs(writer.replies[0], chain.written[0])

    def test_message_rrsets_not_mutated(self) -> None:
        """A plugin's multi-record RRset is split into new objects, never changed."""
        shared = rrset(ADDRESSES[0])
        for text in ADDRESSES[1:]:
            shared.add(rrset(text)[0])

        def build(request: Request) -> dns.message.Message:
            reply = dns.message.make_response(request.message())
            reply.answer = [shared]
            return reply

        balancer = Balancer(rng=random.Random(1))
        orders = set()
        for _ in range(20):
            reply, _, _ = serve(balancer, build, False)
            orders.add(tuple(records(reply.answer)))
        self.assertGreater(len(orders), 1)
        self.assertEqual([str(rd) for rd in shared], ["192.0.2.1", "192.0.2.2", "192.0.2.3"])


class WeightedTests(unittest.TestCase):
    def balancer(self, picks: Sequence[int], prefer: Sequence[str] = ()) -> Balancer:
        weights = Weights("unused", 0, task.Clock(), rng=StillRandom(picks))
        weights.domains = parse_weights("www.example.org\n192.0.2.3 5\n", "w")
        return Balancer(weights, [ipaddress.ip_network(p) for p in prefer])

    def test_heaviest_first_cname_first(self) -> None:
        for wire in (False, True):
            # the pick 0 falls in the heaviest address's share (192.0.2.3, weight 5)
            reply, _, _ = serve(self.balancer([0]), lambda r: reply_for(r, (*ADDRESSES, CNAME)),
                                wire)
            self.assertEqual(records(reply.answer),
                             ["CNAME www.example.org.", "A 192.0.2.3", "A 192.0.2.2",
                              "A 192.0.2.1"])
            # the last pick (5 + 1 + 1 - 1) is the last light one: swapped with the first
            reply, _, _ = serve(self.balancer([6]), lambda r: reply_for(r, ADDRESSES), wire)
            self.assertEqual(records(reply.answer), ["A 192.0.2.2", "A 192.0.2.1",
                                                     "A 192.0.2.3"])

    def test_only_address_questions(self) -> None:
        reply, _, _ = serve(self.balancer([0]), lambda r: reply_for(
            r, ("example.org. 300 IN MX 10 www.example.org.",), additional=ADDRESSES), True,
            "MX")
        self.assertEqual(records(reply.additional)[0], "A 192.0.2.1")

    def test_prefer_after_weighted(self) -> None:
        """CoreDNS's TestSetupWeightedPrefer: the preferred subnet wins over the weights."""
        answer = ("example.org. 300 IN A 198.51.100.1", "example.org. 300 IN A 192.0.2.1")
        for pick in (0, 1):
            reply, _, _ = serve(self.balancer([pick], ["192.0.2.0/24"]),
                                lambda r: reply_for(r, answer), True)
            self.assertEqual(records(reply.answer), ["A 192.0.2.1", "A 198.51.100.1"])


class PreferTests(unittest.TestCase):
    def test_coredns_order(self) -> None:
        """CoreDNS's TestSortPreferred, through the handler (with a still shuffle)."""
        answer = [f"example.org. 300 IN {rr}" for rr in (
            "A 10.9.30.1", "A 10.9.20.5", "A 192.168.1.2", "A 10.10.0.1", "A 10.9.20.3",
            "A 172.16.0.1", "AAAA 2001:db8::1", "AAAA 2001:db8:abcd::1", "AAAA fd00::1",
            "CNAME alias.example.org.")]
        nets = [ipaddress.ip_network(n) for n in ("2001:db8::/32", "10.9.20.0/24",
                                                  "10.9.30.0/24")]
        for wire in (False, True):
            reply, _, _ = serve(Balancer(prefer=nets, rng=StillRandom()),
                                lambda r: reply_for(r, answer), wire)
            self.assertEqual([r.split()[1] for r in records(reply.answer)], [
                "alias.example.org.", "2001:db8::1", "2001:db8:abcd::1", "10.9.20.5",
                "10.9.20.3", "10.9.30.1", "192.168.1.2", "10.10.0.1", "172.16.0.1", "fd00::1"])

    def test_rest_goes_last(self) -> None:
        answer = ('example.org. 300 IN TXT "t"', "example.org. 300 IN A 10.0.0.1")
        reply, _, _ = serve(Balancer(prefer=[ipaddress.ip_network("10.0.0.0/8")],
                                     rng=StillRandom()), lambda r: reply_for(r, answer), True)
        self.assertEqual(records(reply.answer), ["A 10.0.0.1", 'TXT "t"'])


def addresses_setup(c: Any) -> None:
    """A test directive: a CNAME and three addresses, out of order, as wire bytes."""
    while c.next():
        pass
    c.add_plugin(lambda _next: Writing(lambda r: reply_for(r, (*ADDRESSES, CNAME)), True))


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def start(self, corefile: str):
        server = yield start_server(corefile, plugins={"addresses": addresses_setup})
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_round_robin_every_order(self):
        server = yield self.start(". {\n    loadbalance\n    addresses\n}\n")
        server.configuration.blocks[0].plugin("loadbalance").balancer.rng = random.Random(42)
        seen = set()
        for proto in ("udp", "tcp"):
            for _ in range(25):
                reply = yield server.query("example.org", "A", proto=proto)
                found = records(reply.answer)
                self.assertEqual(found[0], "CNAME www.example.org.")
                seen.add(tuple(found[1:]))
        self.assertEqual(len(seen), 6)

    @defer.inlineCallbacks
    def test_weighted_with_root(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "example.weights"), "w") as handle:
            handle.write("www.example.org\n192.0.2.2 9\n")
        server = yield self.start(f". {{\n    root {directory}\n"
                                  "    loadbalance weighted example.weights {\n"
                                  "        reload 0s\n    }\n    addresses\n}\n")
        weights = server.configuration.blocks[0].plugin("loadbalance").balancer.weights
        self.assertEqual(weights.path, os.path.join(directory, "example.weights"))
        weights.rng = StillRandom([0, 0])
        for proto in ("udp", "tcp"):
            reply = yield server.query("example.org", "A", proto=proto)
            self.assertEqual(records(reply.answer)[:2],
                             ["CNAME www.example.org.", "A 192.0.2.2"])


class ReadmeTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        check_examples(self, "loadbalance", 3)

    def test_examples_set_up(self) -> None:
        """Each example's loadbalance line through setup (the weight file written first)."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "db.example.com.weights"), "w") as handle:
            handle.write("www.example.com\n100.64.1.1 3\n100.64.1.2 1\n100.64.1.3 2\n")
        policies = []
        for example in corefile_examples(plugin_readme("loadbalance")):
            balancer = configure(setup, "loadbalance", example, root=directory,
                                 filename="README.md").chain.balancer
            policies.append((balancer.policy, [str(n) for n in balancer.prefer]))
        self.assertEqual(policies, [("round_robin", []), ("weighted", []),
                                    ("round_robin", ["10.0.0.0/8", "2001:db8::/32"])])
