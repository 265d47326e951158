"""``file`` in a Corefile (``file/setup.py``): zones, options and the errors a user sees."""

from __future__ import annotations

import os

import dns.rcode
from twisted.logger import LogLevel, capturedLogs

from tests.plugins.zonefiles import Folder, zone_text
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.file import File
from twisted_dns.plugins.file.setup import setup
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import configure, default_registry, make_request


class SetupTests(Folder):
    def configure(self, body: str) -> File:
        return configure(setup, "file", f"example.org {{\n{body}\n}}\n").chain

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("file"), setup)

    def test_zones_from_arguments(self) -> None:
        path = self.write("db", zone_text())
        plugin = self.configure(f"    file {path} Example.org example.NET")
        self.assertEqual(plugin.zones.origins, ["example.org.", "example.net."])
        self.assertEqual(plugin.zones["example.net."].origin_text, "example.net.")
        self.assertTrue(plugin.Ready())
        self.assertEqual(plugin.Name(), "file")

    def test_relative_to_root(self) -> None:
        self.write("db", zone_text())
        config = configure(setup, "file", "example.org {\n    file db example.org\n}\n",
                           root=self.dir)
        self.assertEqual(config.chain.zones["example.org."].source,
                         os.path.join(self.dir, "db"))

    def test_options(self) -> None:
        path = self.write("db", zone_text())
        plugin = self.configure(f"    file {path} example.org {{\n        reload 30s\n"
                                "        fallthrough in-addr.arpa\n"
                                "        upstream 8.8.8.8\n    }")
        self.assertEqual(plugin.fall.zones, ("in-addr.arpa.",))

    def test_missing_argument(self) -> None:
        exc = self.assertRaises(ConfigError, self.configure, "    file")
        self.assertIn("Corefile:2: wrong argument count", str(exc))

    def test_unknown_property(self) -> None:
        path = self.write("db", zone_text())
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        bogus\n    }}")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'bogus'")

    def test_reload_needs_a_value(self) -> None:
        path = self.write("db", zone_text())
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        reload\n    }}")
        self.assertEqual(str(exc), "Corefile:3: reload duration value is expected")

    def test_reload_bad_duration(self) -> None:
        path = self.write("db", zone_text())
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        reload soon\n    }}")
        self.assertEqual(str(exc), 'Corefile:3: time: invalid duration "soon"')

    def test_bad_zone_file_is_file_and_line(self) -> None:
        path = self.write("db", zone_text() + "\n\nbroken IN MX nonsense\n")
        exc = self.assertRaises(ConfigError, self.configure, f"    file {path} example.org")
        self.assertEqual((exc.file, exc.line), (path, 13))
        self.assertTrue(str(exc).startswith(f"{path}:13: "))

    def test_missing_file_without_reload_fails(self) -> None:
        path = os.path.join(self.dir, "nope")
        exc = self.assertRaises(ConfigError, self.configure,
                                f"    file {path} example.org {{\n        reload 0\n    }}")
        self.assertEqual(str(exc), f"Corefile:2: plugin/file: open {path}: "
                                   "No such file or directory")

    def test_missing_file_with_reload_waits(self) -> None:
        path = os.path.join(self.dir, "nope")
        with capturedLogs() as events:
            plugin = self.configure(f"    file {path} example.org")
        self.assertFalse(plugin.Ready())
        self.assertTrue(any(e["log_level"] == LogLevel.warn for e in events))
        request = make_request("www.example.org", "A")
        self.assertEqual(plugin.ServeDNS(request, CaptureWriter(request)), dns.rcode.SERVFAIL)
