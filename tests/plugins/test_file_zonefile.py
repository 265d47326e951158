"""Reading zone files (``file/zonefile.py``): errors as FILE:LINE, relative ``$INCLUDE``."""

from __future__ import annotations

import os

from tests.plugins.zonefiles import TXT, Folder, zone_text
from twisted_dns.plugins.file import Zone, ZoneError


class ZoneFileTests(Folder):
    def test_syntax_error_has_line(self) -> None:
        path = self.write("db.bad", zone_text() + "bad IN A not-an-address\n")
        exc = self.assertRaises(ZoneError, Zone.from_file, path, "example.org.")
        self.assertEqual((exc.file, exc.line), (path, 11))
        self.assertTrue(str(exc).startswith(f"{path}:11: "), str(exc))

    def test_cname_and_other_data(self) -> None:
        path = self.write("db.bad", zone_text() + "alias IN TXT \"x\"\n")
        exc = self.assertRaises(ZoneError, Zone.from_file, path, "example.org.")
        self.assertEqual(exc.line, 11)

    def test_missing_file(self) -> None:
        exc = self.assertRaises(ZoneError, Zone.from_file, os.path.join(self.dir, "nope"),
                                "example.org.")
        self.assertIn("No such file", str(exc))

    def test_include_relative_to_the_zone_file(self) -> None:
        """As CoreDNS: a relative $INCLUDE is read from the zone file's folder."""
        os.makedirs(os.path.join(self.dir, "zones"))
        self.write("zones/extra", "extra IN TXT \"included\"\n")
        path = self.write("zones/db", zone_text() + "$INCLUDE extra\n$INCLUDE \"extra\" sub\n")
        self.assertNotEqual(os.getcwd(), os.path.dirname(path))
        zone = Zone.from_file(path, "example.org.")
        self.assertEqual(zone.get("extra.example.org.", TXT)[0].strings, (b"included",))
        self.assertIsNotNone(zone.get("extra.sub.example.org.", TXT))
