"""Helpers for walking a block's plugin chain (CoreDNS's ``plugin.NextOrFailure``/``ClientWrite``).

A plugin that does not answer hands the query on with ``next_or_failure`` and returns whatever
the next plugin returned, so an ``int`` stays an ``int`` on the fast path; only a plugin that
must see the outcome (cache, log, metrics) pays for a Deferred through ``as_deferred``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from twisted_dns.interfaces import NO_CLIENT_WRITE
from twisted_dns.wire import SERVFAIL

log = Logger(namespace="chain")


def next_or_failure(name: str, next_plugin: Any, request: Any, writer: Any) -> Any:
    """Call ``next_plugin`` (recording it as ``request.plugin``); SERVFAIL when there is none.

    ``name`` is the calling plugin's name, used to report the missing link.
    """
    if next_plugin is None:
        log.error("plugin/{name}: no next plugin found", name=name)
        return SERVFAIL
    request.plugin = next_plugin.Name()
    return next_plugin.ServeDNS(request, writer)


def client_wrote(rcode: int) -> bool:
    """False for the rcodes that mean the plugin wrote nothing (SERVFAIL, REFUSED, ...)."""
    return rcode not in NO_CLIENT_WRITE


def as_deferred(result: int | defer.Deferred | Coroutine) -> defer.Deferred:
    """Whatever ``ServeDNS`` returned, as a Deferred firing with the rcode."""
    if isinstance(result, defer.Deferred):
        return result
    if isinstance(result, int):
        return defer.succeed(result)
    if isinstance(result, Coroutine):
        return defer.ensureDeferred(result)
    return defer.fail(TypeError(f"ServeDNS returned {result!r}, not an rcode"))
