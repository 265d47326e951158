"""The *hosts* handler, and the file watcher that keeps its table current.

The answer to a query is one dict lookup in the current :class:`~.hostsfile.Table` and a
reply built from wire bytes (``twisted_dns.wire``): no dnspython on the query path. Reloading swaps
the whole table in one assignment, so a query sees the old or the new data, never a mix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dns.rcode
import dns.rdatatype
from twisted.internet import defer, threads
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin, IReadiness
from twisted_dns.names import longest_match
from twisted_dns.pkg import filestat
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.pkg.periodic import Periodic
from twisted_dns.plugins.hosts.hostsfile import Entries, Table, parse
from twisted_dns.plugins.hosts.metrics import HostsMetrics, hosts_metrics

NAME = "hosts"
log = Logger(namespace=NAME)

_A = int(dns.rdatatype.A)
_AAAA = int(dns.rdatatype.AAAA)
_PTR = int(dns.rdatatype.PTR)
_SERVFAIL = int(dns.rcode.SERVFAIL)


def read_entries(path: str, origins: Sequence[str], reverse: bool) -> Entries:
    """The entries of the file at ``path`` (raises OSError)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse(handle.read(), origins, reverse)


@implementer(IPlugin, IReadiness)
class Hosts:
    """Answers A, AAAA and PTR from hosts entries; see the README for every case."""

    def __init__(self, next_plugin: Any, path: str, origins: Sequence[str], inline: Entries,
                 ttl: int, reverse: bool, fall: Fallthrough, fall_unsupported: bool,
                 metrics: HostsMetrics | None = None) -> None:
        self.next = next_plugin
        self.path = path
        self.origins = tuple(origins)
        self.inline = inline
        self.ttl = ttl
        self.reverse = reverse
        self.fall = fall
        self.fall_unsupported = fall_unsupported
        self.signature: tuple[int, int] | None = None
        self.table = Table([inline], ttl)
        self.loaded = False
        self.metrics = metrics or hosts_metrics()

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def Ready(self) -> bool:  # noqa: N802 - the IReadiness contract
        return self.loaded

    # -- data -----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the file now (at setup); a missing or unreadable file only logs."""
        signature = filestat.signature(self.path)
        try:
            entries = read_entries(self.path, self.origins, self.reverse)
        except OSError as exc:
            log.warn("hosts file {path} not read: {error}", path=self.path,
                     error=exc.strerror or exc)
        else:
            self.swap(entries, signature)
        self.loaded = True

    def swap(self, entries: Entries, signature: tuple[int, int] | None) -> None:
        """Serve ``entries`` from the file from now on (and say so in the metrics)."""
        self.signature = signature
        self.table = Table([entries, self.inline], self.ttl)
        if signature is not None:
            self.metrics.loaded(self.path, entries.count() + self.inline.count(),
                                filestat.mtime(signature))

    # -- queries --------------------------------------------------------------------------

    def ServeDNS(self, request, writer) -> Any:  # noqa: N802 - the IPlugin contract
        qname = request.qname_lower
        qtype = request.qtype
        table = self.table
        if qtype == _PTR:
            answers = table.ptr(qname)
            if not answers:  # not ours, whatever fallthrough says (as CoreDNS)
                return next_or_failure(NAME, self.next, request, writer)
            writer.write(wire.reply(request, answer=answers, aa=True))
            return 0
        if longest_match(self.origins, qname) is None:
            return next_or_failure(NAME, self.next, request, writer)
        owner = table.owner(qname)
        if owner is None:
            if self.fall.through(qname):
                return next_or_failure(NAME, self.next, request, writer)
            # no SOA to make an NXDOMAIN with: CoreDNS answers SERVFAIL
            return _SERVFAIL
        if qtype == _A:
            answers = table.a.get(owner, ())
        elif qtype == _AAAA:
            answers = table.aaaa.get(owner, ())
        else:
            answers = ()
            if self.fall_unsupported and self.fall.through(qname):
                return next_or_failure(NAME, self.next, request, writer)
        writer.write(wire.reply(request, answer=answers, aa=True))
        return 0


class Reloader:
    """Checks the hosts file every ``interval`` seconds; re-reads it when it changed.

    The check is one ``stat``; a changed file is read and parsed through ``run`` (a thread
    by default, so a big block list does not stall the reactor; tests pass
    ``defer.maybeDeferred``). As CoreDNS, a file that disappears leaves the last entries
    read in place.
    """

    def __init__(self, hosts: Hosts, interval: float, reactor: Any = None,
                 run: Callable[..., defer.Deferred] = threads.deferToThread) -> None:
        self.hosts = hosts
        self.interval = interval
        self.reactor = reactor
        self.run = run
        self._poll = Periodic(self.check, "hosts reload loop")

    def start(self) -> None:
        self._poll.start(self.interval, self.reactor)

    def stop(self) -> None:
        self._poll.stop()

    def check(self) -> defer.Deferred:
        hosts = self.hosts
        signature = filestat.signature(hosts.path)
        if signature is None or signature == hosts.signature:
            return defer.succeed(None)
        d = self.run(read_entries, hosts.path, hosts.origins, hosts.reverse)
        d.addCallbacks(hosts.swap, self._failed, callbackArgs=(signature,))
        return d

    def _failed(self, failure) -> None:
        if failure.check(OSError):
            log.warn("hosts file {path} not read: {error}", path=self.hosts.path,
                     error=failure.value)
        else:
            log.failure("Reloading hosts file {path}", failure, path=self.hosts.path)
