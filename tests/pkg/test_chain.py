"""pkg.chain: CoreDNS's NextOrFailure and ClientWrite, and the Deferred adapter."""

from __future__ import annotations

from typing import Any

import dns.rcode
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.pkg.chain import as_deferred, client_wrote, next_or_failure


class Plugin:
    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls: list[tuple] = []

    def Name(self) -> str:
        return "next"

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        self.calls.append((request, writer))
        return self.result


class Req:
    plugin = None


class NextOrFailureTests(unittest.TestCase):
    def test_no_next_plugin_is_servfail(self) -> None:
        self.assertEqual(next_or_failure("mine", None, Req(), object()), dns.rcode.SERVFAIL)
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_calls_next_and_records_it(self) -> None:
        plugin, request, writer = Plugin(3), Req(), object()
        self.assertEqual(next_or_failure("mine", plugin, request, writer), 3)
        self.assertEqual(plugin.calls, [(request, writer)])
        self.assertEqual(request.plugin, "next")

    def test_returns_deferred_as_is(self) -> None:
        d: defer.Deferred = defer.Deferred()
        self.assertIs(next_or_failure("mine", Plugin(d), Req(), object()), d)


class ClientWroteTests(unittest.TestCase):
    def test_rcodes(self) -> None:
        for rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR,
                      dns.rcode.NOTIMP, 2, 5):
            self.assertFalse(client_wrote(rcode), rcode)
        for rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN, 0, 3):
            self.assertTrue(client_wrote(rcode), rcode)


class AsDeferredTests(unittest.TestCase):
    def test_int(self) -> None:
        self.assertEqual(self.successResultOf(as_deferred(3)), 3)

    def test_deferred(self) -> None:
        d: defer.Deferred = defer.Deferred()
        self.assertIs(as_deferred(d), d)

    def test_coroutine(self) -> None:
        async def serve() -> int:
            return await defer.succeed(5)

        self.assertEqual(self.successResultOf(as_deferred(serve())), 5)

    def test_junk(self) -> None:
        self.failureResultOf(as_deferred(None), TypeError)
