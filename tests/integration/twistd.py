"""Run ``twistd -n pydns`` as an operator would, and poll it from outside without sleeping
blindly: DNS and HTTP probes and a bounded ``wait_for``."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.message
import dns.query
from twisted.trial import unittest

from tests.test_tap import TWISTD


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


def wait_for(condition: Callable[[], Any], deadline: float) -> Any:
    """Poll ``condition`` until it is truthy (returned) or ``deadline`` seconds passed."""
    end = time.monotonic() + deadline
    while True:
        result = condition()
        if result or time.monotonic() > end:
            return result
        time.sleep(0.05)


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

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)

    def log(self) -> str:
        with open(self.output, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
