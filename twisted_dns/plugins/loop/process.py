"""Leaving the process with a status, the way CoreDNS's ``log.Fatal`` does, but cleanly.

twistd has no way to say "exit with status 1": ``reactor.run()`` returns and twistd exits 0.
So the reactor is stopped (services stop, listeners close, twistd removes its pid file and logs
its last lines), and an ``atexit`` handler, which runs after all of that, ends the process with
the status: ``os._exit`` is the only way to set it that late (a ``SystemExit`` raised there is
ignored).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import Any

from twisted.internet.error import ReactorNotRunning


def exit_process(reactor: Any, status: int = 1) -> None:
    """Stop ``reactor`` and make the process exit with ``status`` once Python shuts down."""
    atexit.register(_exit, status)
    with contextlib.suppress(ReactorNotRunning):  # already stopping: the status still holds
        reactor.stop()


def _exit(status: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
