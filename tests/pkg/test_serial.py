"""RFC 1982 serial arithmetic (``twisted_dns.pkg.serial``)."""

from __future__ import annotations

from twisted.trial import unittest

from twisted_dns.pkg.serial import serial_greater

TOP = 2**32 - 1


class SerialGreaterTests(unittest.TestCase):
    def test_plain_order(self) -> None:
        self.assertTrue(serial_greater(2, 1))
        self.assertFalse(serial_greater(1, 2))
        self.assertTrue(serial_greater(2024010101, 2023123199))

    def test_equal_is_not_greater(self) -> None:
        self.assertFalse(serial_greater(1, 1))
        self.assertFalse(serial_greater(0, 0))
        self.assertFalse(serial_greater(TOP, TOP))

    def test_wraps_around(self) -> None:
        """0 follows 2**32 - 1, and a small serial follows a large one less than 2**31 back."""
        self.assertTrue(serial_greater(0, TOP))
        self.assertFalse(serial_greater(TOP, 0))
        self.assertTrue(serial_greater(5, TOP - 5))
        self.assertFalse(serial_greater(TOP - 5, 5))

    def test_up_to_half_the_space_ahead(self) -> None:
        self.assertTrue(serial_greater(2**31 - 1, 0))  # the largest step forward
        self.assertFalse(serial_greater(0, 2**31 - 1))
        self.assertTrue(serial_greater(2**31 - 2, TOP))  # the same step across the wrap
        self.assertFalse(serial_greater(2**31 + 1, 0))  # more than half ahead: behind

    def test_exactly_half_apart_is_neither(self) -> None:
        """RFC 1982 3.2 leaves it undefined; neither is greater (as BIND)."""
        for low in (0, 1, 2**31 - 1, 2**31):
            high = (low + 2**31) % 2**32
            self.assertFalse(serial_greater(high, low))
            self.assertFalse(serial_greater(low, high))
