"""Tests for twisted_dns.errors: a user's error is one line."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.errors import ConfigError


class ConfigErrorTests(unittest.TestCase):
    def test_where(self) -> None:
        self.assertEqual(str(ConfigError("bad", "Corefile", 3)), "Corefile:3: bad")
        self.assertEqual(str(ConfigError("bad", "Corefile")), "Corefile: bad")
        self.assertEqual(str(ConfigError("bad")), "bad")

    def test_always_one_line(self) -> None:
        error = ConfigError("unknown directive 'a\n\tb\x00\u200b' (\u00e9)", "Corefile", 3)
        self.assertEqual(str(error), "Corefile:3: unknown directive 'a\\n\\tb\\x00\\u200b' "
                                     "(\u00e9)")
        self.assertEqual(error.message, "unknown directive 'a\n\tb\x00\u200b' (\u00e9)")
