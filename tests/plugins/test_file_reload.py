"""``reload`` (``file/reload.py``): a timer on the reactor, a new serial swaps the zone."""

from __future__ import annotations

import os

from twisted.internet import defer, task
from twisted.logger import LogLevel, capturedLogs

from tests.plugins.zonefiles import A, Folder, zone_text
from twisted_dns.plugins import prometheus
from twisted_dns.plugins.file import ZoneFile, Zones


class ReloadTests(Folder):
    """``reload``: a timer on the reactor, a new serial swaps the zone, a bad file does not."""

    def setUp(self) -> None:
        super().setUp()
        self.metrics = prometheus.fresh()
        self.path = self.write("db", zone_text(serial=1))
        self.zones = Zones(["example.org."])
        self.clock = task.Clock()
        self.file = ZoneFile(self.path, "example.org.", self.zones, 60, self.clock,
                             run=defer.maybeDeferred)
        self.file.load()
        self.file.start()
        self.addCleanup(self.file.stop)

    def address(self) -> str:
        return self.zones["example.org."].lookup("www.example.org.", A).answer[0][0].address

    def rewrite(self, text: str) -> None:
        self.write("db", text)
        # a new mtime whatever the file system's clock resolution
        stat = os.stat(self.path)
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    def test_new_serial_swaps(self) -> None:
        self.rewrite(zone_text(serial=2, address="192.0.2.99"))
        self.clock.advance(59)
        self.assertEqual(self.address(), "192.0.2.80")
        with capturedLogs() as events:
            self.clock.advance(1)
        self.assertEqual(self.address(), "192.0.2.99")
        self.assertEqual(self.zones["example.org."].serial, 2)
        self.assertTrue(any("reloaded" in e["log_format"] for e in events))

    def test_entries_metric(self) -> None:
        """``coredns_file_entries`` counts the records of the zone served, after each swap."""
        def entries() -> float | None:
            return self.metrics.registry.get_sample_value("coredns_file_entries",
                                                          {"dns_name": "example.org."})

        self.assertEqual(entries(), 9)
        self.rewrite(zone_text(serial=2) + "extra IN TXT \"one\"\n    IN TXT \"two\"\n")
        self.clock.advance(60)
        self.assertEqual(entries(), 11)
        self.rewrite(zone_text(serial=1) + "ignored IN A 192.0.2.1\n")  # serial not greater
        self.clock.advance(60)
        self.assertEqual(entries(), 11)

    def test_same_serial_keeps_zone(self) -> None:
        self.rewrite(zone_text(serial=1, address="192.0.2.99"))
        self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.80")

    def test_lower_serial_keeps_zone(self) -> None:
        self.rewrite(zone_text(serial=0, address="192.0.2.99"))
        with capturedLogs() as events:
            self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.80")
        self.assertTrue(any(e["log_level"] == LogLevel.warn for e in events))

    def test_bad_file_keeps_zone_and_logs(self) -> None:
        self.rewrite(zone_text(serial=5) + "bad IN A x\n")
        with capturedLogs() as events:
            self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.80")
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn(f"{self.path}:11:", str(errors[0]["error"]))
        # fixed at the next tick
        self.rewrite(zone_text(serial=5, address="192.0.2.7"))
        self.clock.advance(60)
        self.assertEqual(self.address(), "192.0.2.7")

    def test_unchanged_file_not_parsed(self) -> None:
        calls = []
        self.file.run = lambda *args: calls.append(args) or defer.succeed(None)
        self.clock.advance(600)
        self.assertEqual(calls, [])

    def test_file_appearing_later(self) -> None:
        os.remove(self.path)
        zones = Zones(["example.org."])
        late = ZoneFile(self.path, "example.org.", zones, 60, self.clock,
                        run=defer.maybeDeferred)
        late.start()
        self.addCleanup(late.stop)
        with capturedLogs():
            self.clock.advance(60)
        self.assertFalse(zones.loaded())
        self.write("db", zone_text(serial=3))
        self.clock.advance(60)
        self.assertEqual(zones["example.org."].serial, 3)

    def test_zero_disables(self) -> None:
        self.file.stop()
        off = ZoneFile(self.path, "example.org.", self.zones, 0, self.clock)
        off.start()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop(self) -> None:
        self.file.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
