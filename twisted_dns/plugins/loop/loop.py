"""The *loop* handler: counts the probe query coming back; a third sighting is a loop.

At start up :class:`~twisted_dns.plugins.loop.probe.Prober` sends ``HINFO
<random>.<random>.<zone>`` to the server's own listener. Without a loop the query is seen once
(the probe itself), answered, and the plugin switches itself off. In a forwarding loop the
query comes back again and again: when it is seen a third time the plugin logs CoreDNS's fatal
message and stops the process with exit status 1. From then on the probe query is answered
SERVFAIL here instead of going round again while the process stops.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import dns.rcode
import dns.rdatatype
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns.addresses import join_host_port
from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.plugins.loop import process

NAME = "loop"

log = Logger(namespace=NAME)

_HINFO = int(dns.rdatatype.HINFO)
_SERVFAIL = int(dns.rcode.SERVFAIL)
#: Go's ``rand.Int()``: a non-negative 63-bit number
_RAND_BITS = 63


def probe_name(zone: str, rng: random.Random | None = None) -> str:
    """``<random>.<random>.<zone>`` (lower-case digits, so comparable to ``qname_lower``)."""
    rng = rng or random.Random()
    labels = [str(rng.getrandbits(_RAND_BITS)), str(rng.getrandbits(_RAND_BITS))]
    return ".".join(labels) + ("." if zone == "." else "." + zone)


@implementer(IPlugin)
class Loop:
    """Counts sightings of ``qname`` (HINFO, in ``zone``) until :meth:`disable` is called."""

    def __init__(self, next_plugin: Any, zone: str, qname: str, reactor: Any = None,
                 fatal: Callable[[str], None] | None = None) -> None:
        self.next = next_plugin
        self.zone = zone
        self.qname = qname
        self.reactor = reactor
        #: called once with the message when a loop is found (default: log it, exit 1)
        self.fatal = fatal or self._exit
        #: the address probed, ``host:port`` as Go prints it (set by the prober)
        self.address = ""
        self.seen = 0
        self.disabled = False
        #: a loop was found: the process is stopping
        self.tripped = False

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer):  # noqa: N802 - the IPlugin contract
        # the probe name lies in the zone, so matching it is CoreDNS's zone check too
        if request.qtype != _HINFO or self.disabled or request.qname_lower != self.qname:
            return next_or_failure(NAME, self.next, request, writer)
        if self.tripped:
            return _SERVFAIL
        self.seen += 1
        if self.seen > 2:
            self.tripped = True
            self.fatal(self.message(request))
            return _SERVFAIL
        return next_or_failure(NAME, self.next, request, writer)

    def message(self, request: Any) -> str:
        """CoreDNS's words: who sent the probe back, to which address, in which zone."""
        remote = join_host_port(request.client_host, request.client_port)
        return (f'Loop ({remote} -> {self.address}) detected for zone "{self.zone}", see '
                f'https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO {self.qname}"')

    def reset(self) -> None:
        """Forget sightings (a probe that got no reply is sent again)."""
        self.seen = 0

    def disable(self) -> None:
        """The probe period is over: pass everything on from now on."""
        self.disabled = True

    def _exit(self, message: str) -> None:
        log.critical("plugin/loop: {reason}", reason=message)
        if self.reactor is None:
            from twisted.internet import reactor

            self.reactor = reactor
        process.exit_process(self.reactor, 1)
