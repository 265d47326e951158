"""The *prometheus* chain link: counts every query of its block once the answer is known.

As CoreDNS's ``metrics.ServeDNS``: the writer is wrapped in a
:class:`~twisted_dns.response.Recorder`, the rest of the chain answers, and the query is
reported with the rcode the client got (the returned rcode when the server writes it),
the plugin that wrote (empty when the server did) and the reply's size. A plugin below
that raises or whose Deferred fails counts as a panic and a SERVFAIL.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.pkg.metrics import block_server_label
from twisted_dns.plugins.prometheus.exporter import Exporter
from twisted_dns.response import Recorder
from twisted_dns.wire import SERVFAIL

NAME = "prometheus"


@implementer(IPlugin)
class Metrics:
    """Reports the queries of one block (``block``: its BlockConfig) to the metrics of
    ``exporter`` (its configuration's)."""

    def __init__(self, next_plugin: Any, exporter: Exporter, block: Any,
                 reactor: Any) -> None:
        self.next = next_plugin
        self.exporter = exporter
        self.metrics = exporter.metrics
        self.block = block
        self._seconds = reactor.seconds
        #: request.server -> server label; a miss also marks the block's plugins enabled there
        self._servers: dict[tuple, str] = {}

    def Name(self) -> str:  # noqa: N802
        return NAME

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802
        recorder = Recorder(writer)
        try:
            result = next_or_failure(NAME, self.next, request, recorder)
        except Exception:
            self.metrics.panics.inc()
            self._report(request, recorder, SERVFAIL)
            raise
        if isinstance(result, int):
            self._report(request, recorder, result)
            return result
        return as_deferred(result).addBoth(self._finished, request, recorder)

    def _finished(self, outcome: Any, request: Any, recorder: Recorder) -> Any:
        if isinstance(outcome, int):
            self._report(request, recorder, outcome)
        else:
            # a failure (the deadline cancelling us is no panic) or a bad result: SERVFAIL
            if isinstance(outcome, Failure) and not outcome.check(CancelledError):
                self.metrics.panics.inc()
            self._report(request, recorder, SERVFAIL)
        return outcome

    def _report(self, request: Any, recorder: Recorder, status: int) -> None:
        if recorder.written:
            rcode, plugin = recorder.rcode or 0, recorder.plugin or ""
        else:  # SERVFAIL, REFUSED...: the server writes this rcode
            rcode, plugin = status, ""
        server = self._servers.get(request.server)
        if server is None:
            server = self._first_seen(request.server)
        self.metrics.report(server, request.zone, request, rcode, plugin, recorder.size,
                            self._seconds() - request.start)

    def _first_seen(self, address: tuple) -> str:
        """The label of a listener this block is first asked on; its plugins enabled there."""
        label = self._servers[address] = block_server_label(self.block, address)
        port = address[1]
        for key in self.block.keys:
            if key.port in (port, 0):  # port 0: the OS chose this one
                self.exporter.enable(self.block, label, key.zone)
        return label

