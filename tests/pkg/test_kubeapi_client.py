"""pkg.kubeapi.client: GET and watch requests to the FAKE apiserver of test_kubeapi_fake, over
plain HTTP and over HTTPS with a CA and a client certificate made by the test."""

from __future__ import annotations

import base64
import json
import os
import socket
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure
from twisted.trial import unittest
from twisted.web.client import ResponseDone, ResponseFailed, ResponseNeverReceived

from tests.pkg.test_kubeapi_fake import Certificates, FakeAPIServer, service
from twisted_dns.pkg.kubeapi import APIError, ClusterConfig, KubeClient
from twisted_dns.pkg.kubeapi.client import TokenBucket, _JSONLines

CERTS = Certificates()
SERVICES = "/api/v1/services"


class ClockedReactor:
    """The real reactor for the network, ``clock`` for time (the token bucket, the token
    file's re-reading), so that a test decides when time passes."""

    def __init__(self, clock: task.Clock) -> None:
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(reactor, name)

    def seconds(self) -> float:
        return self._clock.seconds()

    def callLater(self, *args: Any, **kwargs: Any) -> Any:
        return self._clock.callLater(*args, **kwargs)


def bucket_waits(clock: task.Clock) -> list[float]:
    """When the clock's delayed calls are due, but for the connection pool's expiries."""
    return [call.getTime() for call in clock.getDelayedCalls()
            if getattr(call.func, "__name__", "") != "_removeConnection"]


class FakeTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeAPIServer()
        self.clock = task.Clock()

    def client(self, config: ClusterConfig, clocked: bool = True, **limits: Any) -> KubeClient:
        """A client on the real reactor; its time from ``self.clock`` when ``clocked`` (a
        connection that fails waits on the real reactor's time: not clocked)."""
        client = KubeClient(ClockedReactor(self.clock) if clocked else reactor, config,
                            **limits)
        self.addCleanup(client.close)
        return client

    def serve(self, **listen: Any) -> str:
        url = self.fake.listen(**listen)
        self.addCleanup(self.fake.stop)
        return url


class GetTests(FakeTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.url = self.serve()
        self.fake.change(SERVICES, "ADDED", service("a"))

    async def test_the_json_object_and_the_headers_client_go_sends(self) -> None:
        client = self.client(ClusterConfig(server=self.url, token="tok"))
        answer = await client.get(SERVICES, {"limit": "500", "labelSelector": "app in (a,b)"})
        self.assertEqual([item["metadata"]["name"] for item in answer["items"]], ["a"])
        seen = self.fake.requests[-1]
        self.assertEqual((seen.path, seen.args), (SERVICES, {"limit": "500",
                                                             "labelSelector": "app in (a,b)"}))
        self.assertEqual(seen.headers["accept"], "application/json")
        self.assertEqual(seen.headers["authorization"], "Bearer tok")
        self.assertTrue(seen.headers["user-agent"].startswith("twisted-dns/"))

    async def test_basic_authentication_and_none(self) -> None:
        await self.client(ClusterConfig(server=self.url, username="me", password="pw")).get(
            SERVICES)
        self.assertEqual(self.fake.requests[-1].headers["authorization"],
                         "Basic " + base64.b64encode(b"me:pw").decode())
        await self.client(ClusterConfig(server=self.url)).get(SERVICES)
        self.assertNotIn("authorization", self.fake.requests[-1].headers)

    async def test_a_path_prefix_in_the_server_url(self) -> None:
        self.fake.canned["/prefix/api/v1/services"] = (200, b'{"items": []}')
        answer = await self.client(ClusterConfig(server=self.url + "/prefix/")).get(SERVICES)
        self.assertEqual(answer, {"items": []})

    async def test_a_status_answer_is_an_api_error_with_its_message(self) -> None:
        self.fake.canned["/api/v1/nope"] = (404, json.dumps({
            "kind": "Status", "code": 404, "reason": "NotFound",
            "message": 'the server could not find the requested resource'}).encode())
        with self.assertRaises(APIError) as caught:
            await self.client(ClusterConfig(server=self.url)).get("/api/v1/nope")
        error = caught.exception
        self.assertEqual((error.status, error.reason, error.message),
                         (404, "Not Found", "the server could not find the requested resource"))
        self.assertIn(b"NotFound", error.body)
        self.assertEqual(str(error),
                         "404 Not Found: the server could not find the requested resource")

    async def test_a_plain_text_error(self) -> None:
        self.fake.canned["/broken"] = (503, b"upstream connect error\n")
        with self.assertRaises(APIError) as caught:
            await self.client(ClusterConfig(server=self.url)).get("/broken")
        self.assertEqual((caught.exception.status, caught.exception.message),
                         (503, "upstream connect error"))

    async def test_an_answer_that_is_not_a_json_object(self) -> None:
        self.fake.canned["/list"] = (200, b"[1, 2]")
        self.fake.canned["/text"] = (200, b"hello")
        client = self.client(ClusterConfig(server=self.url))
        for path in ("/list", "/text"):
            with self.assertRaises(ValueError) as caught:
                await client.get(path)
            self.assertIn(f"GET {path}: the answer is not a JSON object", str(caught.exception))

    async def test_connections_are_kept_open_and_reused(self) -> None:
        client = self.client(ClusterConfig(server=self.url))
        for _ in range(3):
            await client.get(SERVICES)
        self.assertEqual(len(self.fake.channels), 1)

    async def test_nobody_listening(self) -> None:
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        address = port.getsockname()
        port.close()
        client = self.client(ClusterConfig(server=f"http://{address[0]}:{address[1]}"),
                             clocked=False)
        with self.assertRaises(ConnectionRefusedError):
            await client.get(SERVICES)

    async def test_close_cancels_what_is_in_flight(self) -> None:
        self.fake.hold = True
        client = KubeClient(reactor, ClusterConfig(server=self.url))
        pending = client.get(SERVICES)
        await self.fake.when(lambda: len(self.fake.held) == 1)
        await client.close()
        with self.assertRaises(defer.CancelledError):
            await pending
        await self.fake.when(lambda: not self.fake.channels)


class TokenFileTests(FakeTestCase):
    """client-go's cachingTokenSource: the token file re-read at most once a minute."""

    async def test_reread_once_a_minute_and_kept_when_unreadable(self) -> None:
        url = self.serve()
        token_file = os.path.abspath(self.mktemp())
        with open(token_file, "w") as handle:
            handle.write("first\n")
        client = self.client(ClusterConfig(server=url, token="initial", token_file=token_file))

        async def sent() -> str:
            await client.get(SERVICES)
            return self.fake.requests[-1].headers["authorization"]

        self.assertEqual(await sent(), "Bearer first")
        with open(token_file, "w") as handle:
            handle.write("second\n")
        self.clock.advance(59)
        self.assertEqual(await sent(), "Bearer first")
        self.clock.advance(1)
        self.assertEqual(await sent(), "Bearer second")
        os.remove(token_file)
        self.clock.advance(60)
        self.assertEqual(await sent(), "Bearer second")

    async def test_an_unreadable_file_at_first_keeps_the_configured_token(self) -> None:
        url = self.serve()
        client = self.client(ClusterConfig(server=url, token="initial",
                                           token_file=os.path.abspath(self.mktemp())))
        await client.get(SERVICES)
        self.assertEqual(self.fake.requests[-1].headers["authorization"], "Bearer initial")


class RateLimitTests(FakeTestCase):
    async def test_get_waits_for_the_bucket_on_the_reactor_clock(self) -> None:
        """client-go's 5 qps and burst 10 when unset: ten at once, the eleventh 0.2 s on."""
        client = self.client(ClusterConfig(server=self.serve()))
        await defer.gatherResults([client.get(SERVICES) for _ in range(10)])
        eleventh = client.get(SERVICES)
        self.assertEqual(len(self.fake.requests), 10)
        self.assertFalse(eleventh.called)
        self.assertEqual(bucket_waits(self.clock), [0.2])
        self.clock.advance(0.2)
        await eleventh
        self.assertEqual(len(self.fake.requests), 11)

    async def test_watches_are_not_rate_limited(self) -> None:
        url = self.serve()
        client = self.client(ClusterConfig(server=url), qps=1, burst=1)
        await client.get(SERVICES)
        watches = [client.watch(SERVICES, {"watch": "1"}, lambda event: None)
                   for _ in range(3)]
        await self.fake.when(lambda: len(self.fake.open_watches()) == 3)
        self.assertEqual(bucket_waits(self.clock), [])
        for watch in watches:
            watch.cancel()
            self.failureResultOf(watch, defer.CancelledError)

    async def test_cancelling_a_wait_gives_its_token_back(self) -> None:
        url = self.serve()
        client = self.client(ClusterConfig(server=url), qps=1, burst=1)
        await client.get(SERVICES)
        waiting = client.get(SERVICES)
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual(bucket_waits(self.clock), [])
        self.clock.advance(1)
        await client.get(SERVICES)  # the token refilled is there: no wait
        self.assertEqual(len(self.fake.requests), 2)

    async def test_a_negative_qps_is_no_limit(self) -> None:
        client = self.client(ClusterConfig(server=self.serve()), qps=-1)
        await defer.gatherResults([client.get(SERVICES) for _ in range(15)])
        self.assertEqual(len(self.fake.requests), 15)

    def test_qps_alone_is_refused_as_kubernetes_new_for_config_does(self) -> None:
        config = ClusterConfig(server="http://127.0.0.1:1")
        with self.assertRaises(ValueError) as caught:
            KubeClient(reactor, config, qps=20)
        self.assertIn("burst is required", str(caught.exception))
        with self.assertRaises(ValueError):
            KubeClient(reactor, config, burst=-1)

    async def test_max_inflight_caps_requests_until_their_headers(self) -> None:
        url = self.serve()
        self.fake.hold = True
        client = self.client(ClusterConfig(server=url), max_inflight=2)
        gets = [client.get(SERVICES) for _ in range(3)]
        await self.fake.when(lambda: len(self.fake.held) == 2)
        self.assertEqual(len(self.fake.requests), 2)
        self.fake.release()
        await self.fake.when(lambda: len(self.fake.held) == 1)
        self.fake.release()
        await defer.gatherResults(gets)
        self.assertEqual(len(self.fake.requests), 3)

    async def test_an_open_watch_holds_no_slot(self) -> None:
        url = self.serve()
        client = self.client(ClusterConfig(server=url), max_inflight=1)
        watch = client.watch(SERVICES, {"watch": "1"}, lambda event: None)
        await self.fake.when(lambda: len(self.fake.open_watches()) == 1)
        await client.get(SERVICES)
        watch.cancel()
        self.failureResultOf(watch, defer.CancelledError)


class TokenBucketTests(unittest.TestCase):
    def test_burst_then_qps(self) -> None:
        clock = task.Clock()
        bucket = TokenBucket(clock, qps=2, burst=3)
        takes = [defer.Deferred.fromCoroutine(bucket.take()) for _ in range(5)]
        self.assertEqual([t.called for t in takes], [True, True, True, False, False])
        clock.advance(0.5)
        self.assertEqual([t.called for t in takes], [True] * 4 + [False])
        clock.advance(0.5)
        self.assertTrue(takes[4].called)
        clock.advance(10)  # refills to burst, no more
        for _ in range(3):
            self.assertTrue(defer.Deferred.fromCoroutine(bucket.take()).called)
        self.assertFalse(defer.Deferred.fromCoroutine(bucket.take()).called)


class WatchTests(FakeTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.events: list[dict] = []
        self.arrived: defer.DeferredQueue[dict] = defer.DeferredQueue()
        self.client_ = self.client(ClusterConfig(server=self.serve()))

    def on_event(self, event: dict) -> None:
        self.events.append(event)
        self.arrived.put(event)

    def watch(self, on_event: Any = None) -> defer.Deferred[None]:
        return self.client_.watch(SERVICES, {"watch": "1", "resourceVersion": "100"},
                                  on_event or self.on_event)

    async def open_watch(self, on_event: Any = None) -> defer.Deferred[None]:
        watch = self.watch(on_event)
        await self.fake.when(lambda: len(self.fake.open_watches()) == 1)
        return watch

    async def until_events(self, count: int) -> None:
        for _ in range(count):
            await self.arrived.get()

    async def test_events_as_lines_arrive_and_the_end(self) -> None:
        watch = await self.open_watch()
        self.fake.change(SERVICES, "ADDED", service("a"))
        self.fake.change(SERVICES, "DELETED", service("a"))
        await self.until_events(2)
        self.assertEqual([(e["type"], e["object"]["metadata"]["resourceVersion"])
                          for e in self.events], [("ADDED", "101"), ("DELETED", "102")])
        self.fake.end_watches()
        self.assertIsNone(await watch)

    async def test_lines_across_chunks_and_many_in_one(self) -> None:
        watch = await self.open_watch()
        lines = [json.dumps({"type": "ADDED", "object": service(f"s{i}")}).encode() + b"\n"
                 for i in range(3)]
        stream = b"".join(lines)
        self.fake.send(stream[:5], stream[5:len(lines[0]) + 7], stream[len(lines[0]) + 7:])
        await self.until_events(3)
        self.assertEqual([e["object"]["metadata"]["name"] for e in self.events],
                         ["s0", "s1", "s2"])
        self.fake.end_watches()
        await watch

    async def test_a_non_2xx_answer(self) -> None:
        self.fake.fail("watch", 403)
        with self.assertRaises(APIError) as caught:
            await self.watch()
        self.assertEqual((caught.exception.status, caught.exception.message),
                         (403, "fake: scripted (403)"))

    async def test_a_line_that_is_not_json(self) -> None:
        watch = await self.open_watch()
        self.fake.send(b'{"type": "ADDED"\n')
        with self.assertRaises(ValueError) as caught:
            await watch
        self.assertIn("not a JSON object", str(caught.exception))
        await self.fake.when(lambda: not self.fake.open_watches())

    async def test_on_event_raising_ends_the_watch_with_its_error(self) -> None:
        def refuse(event: dict) -> None:
            raise KeyError("refused")

        watch = await self.open_watch(refuse)
        self.fake.change(SERVICES, "ADDED", service("a"))
        with self.assertRaises(KeyError):
            await watch
        await self.fake.when(lambda: not self.fake.open_watches())

    async def test_a_dropped_connection_is_a_failure(self) -> None:
        watch = await self.open_watch()
        self.fake.drop_watches()
        with self.assertRaises(ResponseFailed):
            await watch

    async def test_cancel_closes_the_stream(self) -> None:
        watch = await self.open_watch()
        watch.cancel()
        self.failureResultOf(watch, defer.CancelledError)
        await self.fake.when(lambda: not self.fake.open_watches())


class JSONLinesTests(unittest.TestCase):
    """Every way of cutting a stream into chunks gives the same events."""

    def test_every_split(self) -> None:
        stream = b'{"a": 1}\n\n{"b": [2, 3]}\n{"c": "\\n"}'
        for cut in range(len(stream) + 1):
            for second in range(cut, len(stream) + 1):
                events: list[dict] = []
                lines = _JSONLines(events.append)
                lines.makeConnection(FakeBodyTransport())
                for chunk in (stream[:cut], stream[cut:second], stream[second:]):
                    lines.dataReceived(chunk)
                lines.connectionLost(Failure(ResponseDone()))
                self.assertEqual(events, [{"a": 1}, {"b": [2, 3]}, {"c": "\n"}])
                self.assertIsNone(self.successResultOf(lines.done))


class FakeBodyTransport:
    def stopProducing(self) -> None:
        raise AssertionError("a good stream is never stopped")


class TLSTests(FakeTestCase):
    def tls(self, **fields: Any) -> ClusterConfig:
        return ClusterConfig(server=self.url, **fields)

    def serve_tls(self, require_client: bool = True, host: str = "127.0.0.1") -> None:
        self.url = self.serve(certificates=CERTS, require_client=require_client, host=host)

    async def test_ca_and_client_certificate(self) -> None:
        self.serve_tls()
        client = self.client(self.tls(ca_pem=CERTS.ca_pem, cert_pem=CERTS.client_cert_pem,
                                      key_pem=CERTS.client_key_pem))
        await client.get(SERVICES)
        self.assertEqual(self.fake.requests[-1].client_cn, "twisted-dns")

    async def test_a_ca_bundle(self) -> None:
        self.serve_tls(require_client=False)
        client = self.client(self.tls(ca_pem=CERTS.other_ca_pem + CERTS.ca_pem))
        await client.get(SERVICES)
        self.assertIsNone(self.fake.requests[-1].client_cn)

    async def test_an_untrusted_server(self) -> None:
        self.serve_tls(require_client=False)
        for config in (self.tls(ca_pem=CERTS.other_ca_pem), self.tls()):  # platform roots
            with self.assertRaises(ResponseNeverReceived):
                await self.client(config, clocked=False).get(SERVICES)
        self.assertEqual(self.fake.requests, [])

    async def test_insecure_skips_verification_and_still_presents_a_certificate(self) -> None:
        self.serve_tls()
        client = self.client(self.tls(insecure=True, cert_pem=CERTS.client_cert_pem,
                                      key_pem=CERTS.client_key_pem))
        await client.get(SERVICES)
        self.assertEqual(self.fake.requests[-1].client_cn, "twisted-dns")

    async def test_a_server_that_wants_a_client_certificate(self) -> None:
        self.serve_tls()
        with self.assertRaises(ResponseNeverReceived):
            await self.client(self.tls(ca_pem=CERTS.ca_pem), clocked=False).get(SERVICES)

    async def test_ipv6(self) -> None:
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            raise unittest.SkipTest("no IPv6 loopback") from None
        self.serve_tls(host="::1")
        self.assertTrue(self.url.startswith("https://[::1]:"))
        client = self.client(self.tls(ca_pem=CERTS.ca_pem, cert_pem=CERTS.client_cert_pem,
                                      key_pem=CERTS.client_key_pem))
        await client.get(SERVICES)
        self.assertEqual(self.fake.requests[-1].client_cn, "twisted-dns")
