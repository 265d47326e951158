"""Socket creation: port 0 for UDP and TCP alike, options, clean errors."""

from __future__ import annotations

import errno
import socket

from twisted.trial import unittest

from twisted_dns.server import sockets


class BindPairTests(unittest.TestCase):
    def bind(self, host: str, port: int = 0, **kwargs) -> sockets.SocketPair:
        pair = sockets.bind_pair(host, port, **kwargs)
        self.addCleanup(pair.close)
        return pair

    def test_port_zero_same_number_for_both(self) -> None:
        pair = self.bind("127.0.0.1")
        self.assertNotEqual(pair.port, 0)
        self.assertEqual(pair.tcp.getsockname(), ("127.0.0.1", pair.port))
        self.assertEqual(pair.udp.getsockname(), ("127.0.0.1", pair.port))
        self.assertEqual(pair.family, socket.AF_INET)

    def test_port_zero_retries_when_udp_number_taken(self) -> None:
        real, calls = sockets._bind, []

        def taken_once(*args, **kwargs):
            calls.append(args)
            if len(calls) == 1:
                raise OSError(errno.EADDRINUSE, "Address already in use")
            return real(*args, **kwargs)

        self.patch(sockets, "_bind", taken_once)
        pair = self.bind("127.0.0.1")
        self.assertEqual(len(calls), 2)
        self.assertEqual(pair.udp.getsockname()[1], pair.port)

    def test_fixed_port_in_use_is_not_retried(self) -> None:
        calls = []

        def taken(*args, **kwargs):
            calls.append(args)
            raise OSError(errno.EADDRINUSE, "Address already in use")

        self.patch(sockets, "_bind", taken)
        self.assertRaises(sockets.ListenError, sockets.bind_pair, "127.0.0.1", 5300)
        self.assertEqual(len(calls), 1)

    def test_wildcard_is_dual_stack(self) -> None:
        pair = self.bind("")
        if pair.family == socket.AF_INET6:
            self.assertEqual(pair.udp.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY), 0)
            self.assertEqual(pair.host, "::")
        else:
            self.assertEqual(pair.host, "0.0.0.0")

    def test_receive_buffer_enlarged(self) -> None:
        default = self.bind("127.0.0.1", rcvbuf=0).udp.getsockopt(socket.SOL_SOCKET,
                                                                  socket.SO_RCVBUF)
        big = self.bind("127.0.0.1").udp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self.assertGreaterEqual(big, default)

    def test_reuseport_on_fixed_port(self) -> None:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise unittest.SkipTest("no SO_REUSEPORT")
        probe = sockets.bind_pair("127.0.0.1", 0)
        fixed = probe.port
        probe.close()
        # several processes (or sockets) may serve one fixed port
        one = self.bind("127.0.0.1", fixed)
        two = self.bind("127.0.0.1", fixed)
        self.assertEqual(one.udp.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT), 1)
        self.assertEqual((one.port, two.port), (fixed, fixed))

    def test_no_reuseport_on_port_zero(self) -> None:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise unittest.SkipTest("no SO_REUSEPORT")
        pair = self.bind("127.0.0.1")
        self.assertEqual(pair.udp.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT), 0)

    def test_in_use(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
            blocker.bind(("127.0.0.1", 0))
            port = blocker.getsockname()[1]
            with self.assertRaises(sockets.ListenError) as caught:
                sockets.bind_pair("127.0.0.1", port)
        self.assertEqual(str(caught.exception), f"listen 127.0.0.1:{port}: Address already in use")
