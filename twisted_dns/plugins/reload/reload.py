"""The watcher: hashes the configuration's files on a timer and reloads when they change.

The files are the Corefile and every file it imported (``Controller.files``), hashed together with
SHA-512 (their paths and bytes), so editing an imported snippet reloads too. The hash the
configuration was loaded with is taken at setup; a change found later is remembered before
the reload is asked for, so a broken Corefile is tried once, not at every tick (as CoreDNS).
A reload that succeeds replaces this watcher by the new configuration's own (if it still
uses *reload*); the old one is stopped by its shutdown hook.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from typing import Any

from twisted.logger import Logger

from twisted_dns.pkg.durations import SECOND, Duration
from twisted_dns.pkg.periodic import Periodic
from twisted_dns.plugins.reload import metrics

log = Logger(namespace="reload")

DEFAULT_INTERVAL = Duration(30 * SECOND)
DEFAULT_JITTER = Duration(15 * SECOND)
MIN_INTERVAL = Duration(2 * SECOND)
MIN_JITTER = Duration(1 * SECOND)
#: ``c.shared()`` key of the configuration's one :class:`Watcher`
SHARED_KEY = "reload"


def digest(files: Iterable[str]) -> str:
    """The SHA-512 (hex) of the files' paths and contents; raises OSError if one is unreadable."""
    sha = hashlib.sha512()
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        for part in (path.encode("utf-8", "surrogateescape"), data):
            sha.update(len(part).to_bytes(8, "big"))
            sha.update(part)
    return sha.hexdigest()


def jittered(interval: Duration, jitter: Duration,
             draw: Callable[[], float] = random.random) -> Duration:
    """CoreDNS's check period: ``interval`` moved by up to half ``jitter`` either way
    (drawn anew for every configuration); ``draw()`` is uniform in [0, 1)."""
    return Duration(interval + int(draw() * jitter) - jitter // 2)


class Watcher:
    """Checks ``files`` every ``period`` on ``clock``; calls ``reload()`` when they change."""

    def __init__(self, files: list[str], period: Duration, clock: Any,
                 reload: Callable[[], Any]) -> None:
        self.files = files
        self.period = period
        self.clock = clock
        self.reload = reload
        #: the hash of the files as the configuration was loaded (None: none readable)
        self.version: str | None = self._digest()
        self._poll = Periodic(self.check, "reload check loop")

    def _digest(self) -> str | None:
        try:
            return digest(self.files)
        except OSError as exc:
            log.warn("cannot read {file}: {error}", file=exc.filename, error=exc.strerror)
            return None

    def start(self) -> None:
        """The startup hook: check every period from now on."""
        log.info("Running configuration SHA512 = {version}", version=self.version)
        metrics.running.append(self)
        metrics.register()
        self._poll.start(self.period.seconds, self.clock)

    def check(self) -> None:
        """One tick: reload when the files' hash differs from the running configuration's."""
        current = self._digest()
        if current is None or current == self.version:
            return  # unreadable (an editor replacing the file): try again next tick
        self.version = current
        log.info("Corefile changed, reloading")
        try:
            self.reload()
        except Exception:
            log.failure("reload could not be started")

    def stop(self) -> None:
        """The shutdown hook: no more checks."""
        self._poll.stop()
        if self in metrics.running:
            metrics.running.remove(self)

