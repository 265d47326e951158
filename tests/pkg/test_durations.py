"""Go durations: parse like ``time.ParseDuration``, print like ``Duration.String``."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.pkg.durations import (
    HOUR,
    MILLISECOND,
    MINUTE,
    SECOND,
    Duration,
    format_duration,
    parse_duration,
)


class ParseTests(unittest.TestCase):
    def test_units(self):
        cases = {
            "0": 0,
            "5s": 5 * SECOND,
            "1m30s": 90 * SECOND,
            "100ms": 100 * MILLISECOND,
            "1.5h": 90 * MINUTE,
            "2h45m0.5s": 2 * HOUR + 45 * MINUTE + SECOND // 2,
            "1ns": 1,
            "1us": 1000,
            "1\u00b5s": 1000,
            "1\u03bcs": 1000,
            ".5s": SECOND // 2,
            "1.s": SECOND,
            "+3s": 3 * SECOND,
            "-3s": -3 * SECOND,
            "1.000000001s": SECOND + 1,
        }
        for text, nanoseconds in cases.items():
            with self.subTest(text=text):
                self.assertEqual(int(parse_duration(text)), nanoseconds)

    def test_seconds(self):
        self.assertEqual(parse_duration("1m30s").seconds, 90.0)
        self.assertEqual(parse_duration("100ms").seconds, 0.1)
        self.assertIsInstance(parse_duration("1s"), Duration)

    def test_errors_are_go_messages(self):
        cases = {
            "": 'time: invalid duration ""',
            "abc": 'time: invalid duration "abc"',
            "-": 'time: invalid duration "-"',
            ".s": 'time: invalid duration ".s"',
            "1": 'time: missing unit in duration "1"',
            "123abc": 'time: unknown unit "abc" in duration "123abc"',
            "1x": 'time: unknown unit "x" in duration "1x"',
            "1.5.5s": 'time: missing unit in duration "1.5.5s"',
            "99999999999999999999h": 'time: invalid duration "99999999999999999999h"',
        }
        for text, message in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(ValueError) as caught:
                    parse_duration(text)
                self.assertEqual(str(caught.exception), message)


class FormatTests(unittest.TestCase):
    def test_go_string(self):
        cases = {
            0: "0s",
            1: "1ns",
            1500: "1.5\u00b5s",
            100 * MILLISECOND: "100ms",
            1500 * MILLISECOND: "1.5s",
            30 * SECOND: "30s",
            90 * SECOND: "1m30s",
            5 * MINUTE: "5m0s",
            HOUR: "1h0m0s",
            2 * HOUR + 45 * MINUTE + SECOND // 2: "2h45m0.5s",
            -3 * SECOND: "-3s",
        }
        for nanoseconds, text in cases.items():
            with self.subTest(nanoseconds=nanoseconds):
                self.assertEqual(format_duration(nanoseconds), text)

    def test_round_trip(self):
        for text in ("5m", "30s", "1h", "250ms", "1m30s"):
            duration = parse_duration(text)
            self.assertEqual(parse_duration(str(duration)), duration)

    def test_str_and_repr(self):
        self.assertEqual(str(parse_duration("5m")), "5m0s")
        self.assertEqual(repr(parse_duration("5m")), "Duration('5m0s')")
        self.assertEqual(Duration.from_seconds(0.25), 250 * MILLISECOND)
