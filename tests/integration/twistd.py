"""Run ``twistd -n pydns`` as an operator would, and probe it from outside (DNS, HTTP) in
threads while the test's reactor waits: :meth:`Twistd.until` is the kit's ``eventually``."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.message
import dns.query
from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.test_tap import TWISTD
from twisted_dns.testing import eventually


def ask(port: int, name: str, timeout: float = 0.5) -> int | None:
    """The rcode of ``name A`` from 127.0.0.1:port over UDP, None without an answer."""
    try:
        reply = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port,
                              timeout=timeout)
    except (dns.exception.Timeout, OSError):
        return None
    return reply.rcode()


def http_status(port: int, path: str = "/health") -> int | None:
    """The status of GET 127.0.0.1:port/path, None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


class Twistd:
    """``twistd -n pydns -c CORE FILE ...`` in a temp dir, its output collected."""

    def __init__(self, test: unittest.TestCase, corefile: str, *args: str,
                 twistd_args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.directory = os.path.abspath(test.mktemp())
        os.makedirs(self.directory)
        self.path = os.path.join(self.directory, "Corefile")
        self.write(corefile)
        self.output = os.path.join(self.directory, "output")
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [TWISTD, "-n", "--pidfile=", *twistd_args, "pydns", "-c", self.path, *args],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.directory,
                env={**os.environ, **(env or {})})
        test.addCleanup(self.kill)

    def write(self, text: str) -> None:
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write(text)

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def until(self, condition: Callable[[], Any], timeout: float) -> defer.Deferred:
        """Fire once the blocking probe ``condition()`` (run in a thread) is true; fail with
        the process's log after ``timeout`` seconds."""
        return eventually(condition, timeout, in_thread=True, message=self.log)

    def exited(self, timeout: float = 20) -> defer.Deferred:
        """Fire with the exit status (waited for in a thread)."""
        return threads.deferToThread(self.process.wait, timeout)

    def log(self) -> str:
        with open(self.output, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
