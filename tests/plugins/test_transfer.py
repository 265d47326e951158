"""The *transfer* plugin: setup, AXFR/IXFR answers, the ACL, message splitting, NOTIFY.

Transfers against real peers (BIND as secondary, a second pydns) are in
``tests/integration/test_axfr_named.py``.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet import defer, task
from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import ITransferSource
from twisted_dns.plugins.file import File, Zone, Zones
from twisted_dns.plugins.transfer.notify import Notifier
from twisted_dns.plugins.transfer.setup import setup
from twisted_dns.plugins.transfer.transfer import TRANSFER_DEADLINE, Transfer, Xfr
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import NextPlugin, check_examples, configure, make_request

ZONE = """\
$TTL 3600
@       IN SOA  ns hostmaster {serial} 7200 3600 1209600 300
        IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.80
"""

SOA, AXFR, IXFR = dns.rdatatype.SOA, dns.rdatatype.AXFR, dns.rdatatype.IXFR


def make_zone(serial: int = 5, extra: int = 0) -> Zone:
    text = ZONE.format(serial=serial) + "".join(
        f"host{i} IN A 10.{i // 65536}.{i // 256 % 256}.{i % 256}\n" for i in range(extra))
    return Zone.from_text(text, "example.org.")


def chain(zone: Zone, to=("*",), zones=("example.org.",)) -> tuple[Transfer, File]:
    served = Zones()
    served.replace(zone)
    file = File(served)
    # the messages are built at once, not in a thread
    transfer = Transfer([Xfr(list(zones), list(to))], file, run=defer.maybeDeferred)
    transfer.use_sources([transfer, file])
    return transfer, file


def ixfr_request(serial: int) -> Request:
    """An IXFR over TCP from a client holding ``serial``."""
    query = dns.message.make_query("example.org.", IXFR)
    query.authority.append(dns.rrset.from_text(
        "example.org.", 0, "IN", "SOA", f"ns. hostmaster. {serial} 1 1 1 1"))
    return Request.from_wire(query.to_wire(), ("127.0.0.1", 4000), ("127.0.0.1", 53), "tcp")


def answers(writer: CaptureWriter) -> list[dns.rrset.RRset]:
    out = []
    for data in writer.sent:
        out.extend(dns.message.from_wire(data, one_rr_per_rrset=True).answer)
    return out


class Setup(unittest.TestCase):
    def parse(self, corefile: str) -> Transfer:
        return configure(setup, "transfer", corefile).plugins[0]

    def test_to_hosts(self):
        transfer = self.parse(
            "example.org {\n transfer {\n  to * 10.0.0.1 [::1]:5300\n }\n}\n")
        self.assertEqual(transfer.xfrs[0].to, ["*", ("10.0.0.1", 53), ("::1", 5300)])
        self.assertEqual(transfer.xfrs[0].secondaries(), [("10.0.0.1", 53), ("::1", 5300)])

    def test_zones_from_args(self):
        transfer = self.parse(". {\n transfer Example.ORG a.test {\n  to *\n }\n}\n")
        self.assertEqual(transfer.xfrs[0].zones, ["example.org.", "a.test."])

    def test_errors(self):
        for body in ("transfer", "transfer {\n to\n }", "transfer {\n from 1.2.3.4\n }",
                     "transfer {\n to not-an-ip\n }", "transfer {\n to 1.2.3.4:99999\n }"):
            with self.assertRaises(ConfigError, msg=body):
                self.parse(f"example.org {{\n {body}\n}}\n")

    def test_readme_examples_parse(self):
        check_examples(self, "transfer")


class Serve(unittest.TestCase):
    def test_file_is_a_transfer_source(self):
        self.assertTrue(ITransferSource.providedBy(File(Zones())))

    def test_axfr(self):
        zone = make_zone()
        transfer, _ = chain(zone)
        writer = CaptureWriter(request := make_request("example.org.", AXFR, proto="tcp"))
        self.assertEqual(self.successResultOf(transfer.ServeDNS(request, writer)),
                         dns.rcode.NOERROR)
        self.assertEqual(request.deadline, TRANSFER_DEADLINE)
        self.assertEqual(len(writer.sent), 1)
        reply = dns.message.from_wire(writer.sent[0])
        self.assertEqual(reply.id, request.id)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.assertEqual(str(reply.question[0].name), "example.org.")
        got = answers(writer)
        self.assertEqual(got[0].rdtype, SOA)
        self.assertEqual(got[-1].rdtype, SOA)
        self.assertEqual(sorted(map(str, Zone.from_rrsets("example.org.", got).rrsets())),
                         sorted(map(str, zone.rrsets())))

    def test_udp_refused(self):
        transfer, _ = chain(make_zone())
        writer = CaptureWriter(request := make_request("example.org.", AXFR, proto="udp"))
        self.assertEqual(transfer.ServeDNS(request, writer), dns.rcode.REFUSED)
        self.assertEqual(writer.sent, [])

    def test_acl(self):
        transfer, _ = chain(make_zone(), to=[("10.0.0.1", 53)])
        refused = make_request("example.org.", AXFR, proto="tcp", client=("127.0.0.1", 4000))
        self.assertEqual(transfer.ServeDNS(refused, CaptureWriter(refused)), dns.rcode.REFUSED)
        allowed = make_request("example.org.", AXFR, proto="tcp", client=("10.0.0.1", 4000))
        writer = CaptureWriter(allowed)
        self.assertEqual(self.successResultOf(transfer.ServeDNS(allowed, writer)),
                         dns.rcode.NOERROR)
        self.assertTrue(writer.sent)

    def test_ixfr_current_serial_is_one_soa(self):
        transfer, _ = chain(make_zone(serial=5))
        for serial in (5, 6):
            request = ixfr_request(serial)
            writer = CaptureWriter(request)
            self.assertEqual(transfer.ServeDNS(request, writer), dns.rcode.NOERROR)
            got = answers(writer)
            self.assertEqual([r.rdtype for r in got], [SOA])
            self.assertEqual(got[0][0].serial, 5)

    def test_ixfr_old_serial_is_full_transfer(self):
        transfer, _ = chain(make_zone(serial=5))
        request = ixfr_request(4)
        writer = CaptureWriter(request)
        transfer.ServeDNS(request, writer)
        got = answers(writer)
        self.assertEqual((got[0].rdtype, got[-1].rdtype, len(got)), (SOA, SOA, 5))

    def test_ixfr_without_soa_is_servfail(self):
        transfer, _ = chain(make_zone())
        request = make_request("example.org.", IXFR, proto="tcp")
        self.assertEqual(transfer.ServeDNS(request, CaptureWriter(request)),
                         dns.rcode.SERVFAIL)

    def test_other_queries_and_zones_go_on(self):
        transfer, _ = chain(make_zone(), zones=["example.org."])
        nxt = NextPlugin()
        transfer.next = nxt
        for request in (make_request("www.example.org.", "A", proto="tcp"),
                        make_request("other.test.", AXFR, proto="tcp")):
            transfer.ServeDNS(request, CaptureWriter(request))
        self.assertEqual(len(nxt.requests), 2)

    def test_subdomain_not_served_goes_on(self):
        """An AXFR for a name below the zone: no source serves it, the next plugin answers."""
        transfer, _ = chain(make_zone())
        request = make_request("www.example.org.", AXFR, proto="tcp")
        self.assertEqual(transfer.ServeDNS(request, CaptureWriter(request)),
                         dns.rcode.REFUSED)  # file refuses transfers

    def test_not_loaded_is_servfail(self):
        file = File(Zones(["example.org."]))
        transfer = Transfer([Xfr(["example.org."], ["*"])], file)
        transfer.use_sources([file])
        request = make_request("example.org.", AXFR, proto="tcp")
        self.assertEqual(transfer.ServeDNS(request, CaptureWriter(request)),
                         dns.rcode.SERVFAIL)

    def test_large_zone_in_several_messages(self):
        zone = make_zone(extra=3000)
        transfer, _ = chain(zone)
        writer = CaptureWriter(request := make_request("example.org.", AXFR, proto="tcp"))
        transfer.ServeDNS(request, writer)
        self.assertGreaterEqual(len(writer.sent), 6)
        self.assertTrue(all(len(data) <= 65535 for data in writer.sent))
        got = answers(writer)
        self.assertEqual(sum(len(r) for r in got), len(zone) + 1)  # the closing SOA
        self.assertEqual((got[0].rdtype, got[-1].rdtype), (SOA, SOA))

    def test_names_not_read_yet_stay_text(self):
        """A transfer makes no RRsets of names no query has read (a big zone would take
        minutes), and sends the same records as the RRsets would hold."""
        zone = make_zone(extra=50)
        transfer, _ = chain(zone)
        writer = CaptureWriter(request := make_request("example.org.", AXFR, proto="tcp"))
        transfer.ServeDNS(request, writer)
        self.assertIsInstance(zone._nodes["host7.example.org."], list)
        got = Zone.from_rrsets("example.org.", answers(writer))
        self.assertEqual(sorted(map(str, got.rrsets())), sorted(map(str, zone.rrsets())))

    def test_in_a_thread(self):
        """By default the messages are built in a thread: the query waits on a Deferred."""
        served = Zones()
        served.replace(make_zone())
        file = File(served)
        transfer = Transfer([Xfr(["example.org."], ["*"])], file)
        transfer.use_sources([file])
        writer = CaptureWriter(request := make_request("example.org.", AXFR, proto="tcp"))
        d = transfer.ServeDNS(request, writer)
        self.assertIsInstance(d, defer.Deferred)

        def sent(rcode):
            self.assertEqual(rcode, dns.rcode.NOERROR)
            self.assertEqual(answers(writer)[-1].rdtype, SOA)
        return d.addCallback(sent)

    def test_huge_rrset_split_to_fit(self):
        """One RRset too big for a message is spread over several."""
        text = ZONE.format(serial=1) + "".join(
            f'big IN TXT "{i:04d}{"x" * 200}"\n' for i in range(400))
        zone = Zone.from_text(text, "example.org.")
        transfer, _ = chain(zone)
        writer = CaptureWriter(request := make_request("example.org.", AXFR, proto="tcp"))
        transfer.ServeDNS(request, writer)
        self.assertGreater(len(writer.sent), 1)
        self.assertTrue(all(len(data) <= 65535 for data in writer.sent))
        self.assertEqual(sum(len(r) for r in answers(writer)), len(zone) + 1)


class FakeUDP:
    """A UDP transport recording datagrams."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple]] = []
        self.listening = True

    def write(self, data: bytes, addr: tuple) -> None:
        self.sent.append((data, addr))

    def stopListening(self) -> None:
        self.listening = False


class FakeReactor(task.Clock):
    """A clock that hands out recording UDP transports."""

    def __init__(self) -> None:
        super().__init__()
        self.protocols: list = []

    def listenUDP(self, port, protocol, interface=""):
        protocol.transport = FakeUDP()
        self.protocols.append(protocol)
        protocol.startProtocol()
        return protocol.transport


class Notify(unittest.TestCase):
    def setUp(self) -> None:
        self.reactor = FakeReactor()
        zone = make_zone()
        self.zones = Zones()
        self.zones.replace(zone)
        file = File(self.zones)
        self.transfer = Transfer([Xfr(["example.org."], ["*", ("192.0.2.9", 5300)])], file,
                                 notifier=Notifier(self.reactor))
        self.transfer.use_sources([file])

    def sent(self) -> list[tuple[dns.message.Message, tuple]]:
        return [(dns.message.from_wire(data), addr)
                for proto in self.reactor.protocols for data, addr in proto.transport.sent]

    def test_change_sends_notify_with_retries(self):
        self.zones.replace(make_zone(serial=6))
        sent = self.sent()
        self.assertEqual(len(sent), 1)
        message, addr = sent[0]
        self.assertEqual(addr, ("192.0.2.9", 5300))
        self.assertEqual(message.opcode(), dns.opcode.NOTIFY)
        self.assertTrue(message.flags & dns.flags.AA)
        self.assertEqual((str(message.question[0].name), message.question[0].rdtype),
                         ("example.org.", SOA))
        self.reactor.advance(2)
        self.reactor.advance(2)
        self.assertEqual(len(self.sent()), 3)
        self.reactor.advance(10)
        self.assertEqual(len(self.sent()), 3)  # three tries, then given up
        self.assertFalse(self.reactor.protocols[0].transport.listening)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_accepted_notify_stops(self):
        self.zones.replace(make_zone(serial=6))
        proto = self.reactor.protocols[0]
        query = dns.message.from_wire(proto.transport.sent[0][0])
        reply = dns.message.make_response(query)
        results = []
        proto.done.addCallback(results.append)
        proto.datagramReceived(reply.to_wire(), ("192.0.2.10", 5300))  # a stranger: ignored
        self.assertEqual(results, [])
        proto.datagramReceived(reply.to_wire(), ("192.0.2.9", 5300))
        self.assertEqual(results, [True])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_refused_notify_retried(self):
        self.zones.replace(make_zone(serial=6))
        proto = self.reactor.protocols[0]
        query = dns.message.from_wire(proto.transport.sent[0][0])
        reply = dns.message.make_response(query)
        reply.set_rcode(dns.rcode.REFUSED)
        proto.datagramReceived(reply.to_wire(), ("192.0.2.9", 5300))
        self.assertEqual(len(proto.transport.sent), 2)

    def test_other_zone_no_notify(self):
        self.transfer.zone_changed("other.test.")
        self.assertEqual(self.sent(), [])

    def test_stop_abandons(self):
        self.zones.replace(make_zone(serial=6))
        self.transfer.notifier.stop()
        self.assertEqual(self.reactor.getDelayedCalls(), [])
