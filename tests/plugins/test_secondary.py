"""The *secondary* plugin: setup, the SOA-driven refresh timers (``task.Clock``), NOTIFY.

Transfers from real primaries (BIND, a pydns *transfer*) are in
``tests/integration/test_axfr_named.py``.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
from twisted.internet import defer, task
from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IReadiness, ITransferSource
from twisted_dns.plugins.file import Zone, Zones
from twisted_dns.plugins.secondary.secondary import Secondary, SecondaryZone
from twisted_dns.plugins.secondary.setup import setup
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import NextPlugin, check_examples, configure

ORIGIN = "example.org."
#: refresh 100 s, retry 10 s, expire 1000 s
ZONE = """\
@       IN SOA  ns hostmaster {serial} 100 10 1000 300
        IN NS   ns
ns      IN A    192.0.2.53
www     IN A    {address}
"""
PRIMARY = ("192.0.2.1", 53)


def make_zone(serial: int, address: str = "192.0.2.80") -> Zone:
    return Zone.from_text("$TTL 60\n" + ZONE.format(serial=serial, address=address), ORIGIN)


class FakeClient:
    """Stands in for the primary: each call returns a Deferred the test fires."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, defer.Deferred]] = []

    def serial(self, host: str, port: int, origin: str) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.calls.append(("serial", (host, port, origin), d))
        return d

    def zone(self, host: str, port: int, origin: str) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.calls.append(("zone", (host, port, origin), d))
        return d

    def last(self, kind: str) -> defer.Deferred:
        call = self.calls[-1]
        assert call[0] == kind, f"expected a {kind} call, got {call[0]}"
        return call[2]

    def pending(self) -> list[str]:
        return [kind for kind, _, d in self.calls if not d.called]

    def fail_pending(self) -> None:
        """Every primary down: fail the calls waiting (and those their failure starts)."""
        while self.pending():
            for _, _, d in self.calls:
                if not d.called:
                    d.errback(ConnectionRefusedError())


def request(name: str, rdtype="A", opcode=dns.opcode.QUERY, proto="udp",
            client=PRIMARY[0]) -> Request:
    query = dns.message.make_query(name, rdtype)
    query.set_opcode(opcode)
    return Request.from_wire(query.to_wire(), (client, 4000), ("127.0.0.1", 53), proto)


class Setup(unittest.TestCase):
    def primaries(self, corefile: str) -> dict:
        handler = configure(setup, "secondary", corefile).plugins[0]
        return {origin: r.primaries for origin, r in handler.refreshers.items()}

    def test_transfer_from(self):
        self.assertEqual(
            self.primaries(". {\n secondary example.org {\n"
                           "  transfer from 10.0.0.1 [::1]:5300\n }\n}\n"),
            {ORIGIN: [("10.0.0.1", 53), ("::1", 5300)]})

    def test_zones_from_args(self):
        self.assertEqual(
            self.primaries(". {\n secondary A.test b.test {\n  transfer from 10.0.0.1\n }\n}\n"),
            {"a.test.": [("10.0.0.1", 53)], "b.test.": [("10.0.0.1", 53)]})

    def test_errors(self):
        for body in ("secondary", "secondary {\n transfer to 1.2.3.4\n }",
                     "secondary {\n transfer from\n }", "secondary {\n transfer from *\n }",
                     "secondary {\n transfer from example.net\n }",
                     "secondary {\n upstream\n }", "secondary {\n transfer\n }"):
            with self.assertRaises(ConfigError, msg=body):
                configure(setup, "secondary", f"example.org {{\n {body}\n}}\n")

    def test_readme_examples_parse(self):
        check_examples(self, "secondary", 2)


class Timers(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.client = FakeClient()
        self.zones = Zones([ORIGIN])
        self.zone = SecondaryZone(ORIGIN, [PRIMARY, ("192.0.2.2", 53)], self.zones,
                                  client=self.client, reactor=self.clock)
        self.handler = Secondary(self.zones, {ORIGIN: self.zone}, NextPlugin())
        self.addCleanup(self.zone.stop)

    def answer(self, name: str = "www.example.org.", **kwargs) -> dns.message.Message | int:
        req = request(name, **kwargs)
        writer = CaptureWriter(req)
        rcode = self.handler.ServeDNS(req, writer)
        if not writer.sent:
            return rcode
        return dns.message.from_wire(writer.sent[0])

    def transferred(self, serial: int = 1) -> None:
        """Start, and let the first transfer bring the zone at ``serial``."""
        self.zone.start()
        self.client.last("zone").callback(make_zone(serial))

    def test_provides(self):
        self.assertTrue(ITransferSource.providedBy(self.handler))
        self.assertTrue(IReadiness.providedBy(self.handler))

    def test_servfail_and_not_ready_before_first_transfer(self):
        self.zone.start()
        self.assertEqual(self.answer(), dns.rcode.SERVFAIL)
        self.assertFalse(self.handler.Ready())
        self.client.last("zone").callback(make_zone(1))
        self.assertTrue(self.handler.Ready())
        self.assertEqual(self.answer().answer[0][0].address, "192.0.2.80")

    def test_first_transfer_tries_each_primary_then_backs_off(self):
        self.zone.start()
        self.client.last("zone").errback(ConnectionRefusedError())
        self.assertEqual(self.client.calls[-1][1][0], "192.0.2.2")  # the second primary
        self.client.last("zone").errback(ConnectionRefusedError())
        self.assertEqual(len(self.client.calls), 2)
        self.clock.advance(0.25)
        self.assertEqual(len(self.client.calls), 3)
        self.client.last("zone").errback(ConnectionRefusedError())
        self.client.last("zone").errback(ConnectionRefusedError())
        self.clock.advance(0.49)
        self.assertEqual(len(self.client.calls), 4)
        self.clock.advance(0.01)  # 0.5 s: doubled
        self.assertEqual(len(self.client.calls), 5)
        self.client.last("zone").callback(make_zone(1))
        self.assertTrue(self.handler.Ready())

    def test_refresh_transfers_when_serial_grew(self):
        self.transferred(1)
        self.clock.advance(99)
        self.assertEqual(self.client.pending(), [])
        self.clock.advance(1)  # refresh: 100 s
        self.client.last("serial").callback(1)  # unchanged: no transfer
        self.assertEqual(self.client.pending(), [])
        self.clock.advance(100)
        self.client.last("serial").callback(2)
        pending = self.client.last("zone")
        # the old zone is served while the transfer runs
        self.assertEqual(self.answer().answer[0][0].address, "192.0.2.80")
        pending.callback(make_zone(2, "192.0.2.99"))
        self.assertEqual(self.answer().answer[0][0].address, "192.0.2.99")
        self.assertEqual(self.zones[ORIGIN].serial, 2)

    def test_failed_refresh_retries_then_expires(self):
        self.transferred(1)
        self.clock.advance(100)
        self.assertEqual(self.client.pending(), ["serial"])
        self.client.fail_pending()  # both primaries down
        self.clock.advance(9.9)
        self.assertEqual(self.client.pending(), [])
        self.clock.advance(0.1)  # retry: 10 s
        self.assertEqual(self.client.pending(), ["serial"])
        while self.clock.seconds() < 999:
            self.client.fail_pending()
            self.assertEqual(self.answer().answer[0][0].address, "192.0.2.80")
            self.clock.advance(1)
        self.clock.advance(1)
        # expire: 1000 s after the last good check
        self.assertEqual(self.answer(), dns.rcode.SERVFAIL)
        self.assertFalse(self.handler.Ready())
        self.client.fail_pending()
        self.clock.advance(10)
        self.client.last("zone").callback(make_zone(3))  # back: a full transfer
        self.assertTrue(self.handler.Ready())

    def test_good_check_postpones_expiry(self):
        self.transferred(1)
        for _ in range(20):  # 2000 s of good checks
            self.clock.advance(100)
            self.client.last("serial").callback(1)
        self.assertTrue(self.handler.Ready())

    def test_notify_from_primary_checks_now(self):
        self.transferred(1)
        reply = self.answer(ORIGIN, rdtype="SOA", opcode=dns.opcode.NOTIFY)
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertEqual(reply.opcode(), dns.opcode.NOTIFY)
        self.assertTrue(reply.flags & dns.flags.AA)
        self.client.last("serial").callback(2)
        self.client.last("zone").callback(make_zone(2, "192.0.2.99"))
        self.assertEqual(self.answer().answer[0][0].address, "192.0.2.99")
        # the refresh timer restarted from the NOTIFY's check: nothing else pending
        self.assertEqual(len(self.clock.getDelayedCalls()), 2)  # refresh and expire

    def test_notify_during_check_checks_again(self):
        self.transferred(1)
        self.clock.advance(100)
        self.answer(ORIGIN, rdtype="SOA", opcode=dns.opcode.NOTIFY)
        self.assertEqual(self.client.pending(), ["serial"])  # one check at a time
        self.client.last("serial").callback(1)
        self.clock.advance(0)
        self.assertEqual(self.client.pending(), ["serial"])  # and one more after it

    def test_notify_from_stranger_dropped(self):
        self.transferred(1)
        calls = len(self.client.calls)
        rcode = self.answer(ORIGIN, rdtype="SOA", opcode=dns.opcode.NOTIFY, client="192.0.2.66")
        self.assertEqual(rcode, dns.rcode.NOERROR)  # nothing written: no reply
        self.assertEqual(len(self.client.calls), calls)

    def test_transfers_refused_and_names_outside_go_on(self):
        self.transferred(1)
        self.assertEqual(self.answer(ORIGIN, rdtype="AXFR", proto="tcp"), dns.rcode.REFUSED)
        self.answer("www.other.test.")
        self.assertEqual(len(self.handler.next.requests), 1)

    def test_stop_cancels_timers(self):
        self.transferred(1)
        self.zone.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_cancels_a_running_transfer(self):
        self.zone.start()
        pending = self.client.last("zone")
        self.zone.stop()
        self.assertTrue(pending.called)  # cancelled: no other primary is tried
        self.assertEqual(len(self.client.calls), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class Reloads(unittest.TestCase):
    """A new configuration's secondary zone takes over the running one's data."""

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.client = FakeClient()
        self.old = self.refresher()
        self.old.start()
        self.client.last("zone").callback(make_zone(1))

    def refresher(self) -> SecondaryZone:
        refresher = SecondaryZone(ORIGIN, [PRIMARY], Zones([ORIGIN]), client=self.client,
                                  reactor=self.clock)
        self.addCleanup(refresher.stop)
        return refresher

    def test_new_configuration_serves_at_once_and_checks_the_serial(self):
        self.clock.advance(50)
        new = self.refresher()
        new.start()  # startup hooks of the new configuration run before the old one stops
        self.assertIs(new.zones[ORIGIN], self.old.zones[ORIGIN])
        self.assertEqual(self.client.pending(), ["serial"])  # no transfer of the whole zone
        self.old.stop()
        self.client.last("serial").callback(1)
        self.assertEqual(new.zones[ORIGIN].serial, 1)
        # refresh and expiry count from that good check; the old one's timers are gone
        self.assertEqual(sorted(round(c.getTime()) for c in self.clock.getDelayedCalls()),
                         [50 + 100, 50 + 1000])

    def test_expiry_carried_over(self):
        self.clock.advance(100)
        self.client.fail_pending()  # refresh failed: the zone expires at 1000 s
        self.clock.advance(400)
        new = self.refresher()
        new.start()
        self.old.stop()
        self.client.fail_pending()
        self.clock.advance(499)
        self.assertIsNotNone(new.zones[ORIGIN])
        self.clock.advance(1)
        self.assertIsNone(new.zones[ORIGIN])

    def test_failed_reload_leaves_the_old_one_to_the_next(self):
        failed = self.refresher()
        failed.start()
        failed.stop()  # that configuration did not start: its shutdown hooks run
        self.client.fail_pending()
        later = self.refresher()
        later.start()
        self.assertIs(later.zones[ORIGIN], self.old.zones[ORIGIN])

    def test_first_configuration_transfers(self):
        self.old.stop()
        new = self.refresher()
        new.start()
        self.assertIsNone(new.zones[ORIGIN])
        self.assertEqual(self.client.pending(), ["zone"])
