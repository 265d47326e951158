"""The harness's own comparison rules, on replies built here (no servers)."""

from __future__ import annotations

import dns.message
import dns.rrset
from twisted.trial import unittest

from tests.differential.harness import Query, differences


def reply(*ttls: int) -> bytes:
    """A reply to ``example.org A`` with one A RRset per TTL (each at its own name)."""
    query = dns.message.make_query("example.org", "A")
    query.id = 4242
    message = dns.message.make_response(query)
    for index, ttl in enumerate(ttls):
        message.answer.append(dns.rrset.from_text(f"n{index}.example.org.", ttl, "IN", "A",
                                                  "192.0.2.1"))
    return message.to_wire()


class DifferencesTests(unittest.TestCase):
    query = Query.make("example.org", "A")

    def test_ttls_must_match_without_slack(self) -> None:
        report = differences(self.query, reply(300, 60), reply(299, 60))
        self.assertEqual(len(report), 1)
        self.assertIn("answer", report[0])

    def test_slack_forgives_a_second(self) -> None:
        self.assertEqual(differences(self.query, reply(300, 60), reply(299, 59), ttl_slack=1),
                         [])

    def test_slack_is_a_bound(self) -> None:
        self.assertEqual(len(differences(self.query, reply(300), reply(298), ttl_slack=1)), 1)

    def test_slack_does_not_forgive_other_records(self) -> None:
        self.assertEqual(len(differences(self.query, reply(300), reply(300, 300),
                                         ttl_slack=1)), 1)
