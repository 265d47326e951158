"""The *autopath* handler: the client's search path walked on the server (CoreDNS's autopath).

A client with ``search ns.svc.cluster.local svc.cluster.local cluster.local`` asking for
``db.example.com`` first asks ``db.example.com.ns.svc.cluster.local.``; *autopath* sees that
the name is under the first search element, takes the base name off (``db.example.com``) and
asks the rest of the chain for the base under each element in turn, the last one (``""``)
being the base itself. Each lookup is a copy of the query with that name, answered into a
:class:`~twisted_dns.response.NonWriter`:

- the first reply that is written and is not NXDOMAIN wins (a NODATA too, as in CoreDNS): it
  goes to the client with a CNAME from the query's name to the name found in front of its
  answer (CoreDNS's ``cnamer``), and counts in ``coredns_autopath_success_total``;
- a lookup that wrote nothing (SERVFAIL, REFUSED...) or got NXDOMAIN moves on to the next
  element;
- when none wins, the reply to the first lookup (the query's own name) is sent as it came,
  and the client walks its search path itself.

A query outside the plugin's zones, or not under the first element, goes down the chain
untouched. A query for the first element itself is an error (SERVFAIL, and CoreDNS's words
logged), as CoreDNS's ``dnsutil.TrimZone`` makes it. The search path is the resolv.conf's,
read at setup, or the one a plugin's ``AutoPath(request)`` gives for each query (None or
empty: no autopath).

Search elements ``""`` and ``"."`` both stand for the root (the base name itself); CoreDNS
would ask for ``base..``, which no name can be.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin
from twisted_dns.names import is_subdomain, longest_match, normalize
from twisted_dns.pkg.chain import as_deferred, client_wrote, next_or_failure
from twisted_dns.pkg.metrics import block_server_label
from twisted_dns.plugins.autopath.metrics import AutoPathMetrics
from twisted_dns.request import Request
from twisted_dns.response import NonWriter
from twisted_dns.wire import NXDOMAIN, SERVFAIL

NAME = "autopath"

log = Logger(namespace=NAME)

#: a plugin's ``AutoPath``: the search path for a query, "" last; None for no autopath
SearchFunc = Callable[[Request], Sequence[str] | None]

#: the longest name, in octets on the wire
_MAX_NAME = 255


@implementer(IPlugin)
class AutoPath:
    """The chain link; ``search`` is the resolv.conf's (with ``""`` last), ``search_func``
    the provider's, which takes precedence once set (at startup)."""

    def __init__(self, zones: list[str], search: list[str] | None, block: Any,
                 metrics: AutoPathMetrics) -> None:
        self.zones = zones
        self.search = search
        self.search_func: SearchFunc | None = None
        self.next: Any = None
        #: the block, for the ``server`` label
        self.block = block
        self.metrics = metrics
        self._servers: dict[tuple, str] = {}

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request: Request, writer: Any) -> Any:  # noqa: N802 - the IPlugin contract
        if longest_match(self.zones, request.qname_lower) is not None:
            search = self.search if self.search_func is None else self.search_func(request)
            if search and is_subdomain(request.qname_lower, normalize(search[0])):
                first = _suffix(search[0])
                if first is not None:
                    base = _base(request.question_wire, first[1])
                    if base is None:
                        log.error("trimzone: overshot qname: {qname}for zone {zone}",
                                  qname=request.qname, zone=search[0])
                        return SERVFAIL
                    return self._walk(request, writer, search, base)
        return next_or_failure(NAME, self.next, request, writer)

    async def _walk(self, request: Request, writer: Any, search: Sequence[str],
                    base: bytes) -> int:
        """Ask for ``base`` (wire labels) under each element of ``search``; answer the
        client from the first hit, else with the first reply."""
        first_reply: Any = None
        first_rcode = SERVFAIL
        for index, element in enumerate(search):
            suffix = _suffix(element)
            if suffix is None or len(base) + len(suffix[0]) > _MAX_NAME:
                continue  # no such name can be asked
            lookup = _asking(request, base + suffix[0])
            capture = NonWriter(writer)
            capture.request = lookup
            rcode = await as_deferred(next_or_failure(NAME, self.next, lookup, capture))
            if index == 0:
                first_reply, first_rcode = capture.reply, rcode
            if not client_wrote(rcode) or capture.rcode == NXDOMAIN:
                continue
            try:
                reply = with_cname(capture.reply, dns.name.from_wire(request.wire, 12)[0])
            except dns.exception.DNSException as e:
                log.warn("reply for {name} does not decode: {error}", name=lookup.qname,
                         error=e)
                return SERVFAIL
            writer.write(reply)
            self.metrics.success.labels(self._server(request)).inc()
            return rcode
        if client_wrote(first_rcode):
            writer.write(first_reply)
        return first_rcode

    def _server(self, request: Request) -> str:
        """The ``server`` label of the listener ``request`` came in on."""
        label = self._servers.get(request.server)
        if label is None:
            label = self._servers[request.server] = block_server_label(self.block,
                                                                       request.server)
        return label


def with_cname(reply: bytes | dns.message.Message,
               original: dns.name.Name) -> dns.message.Message:
    """``reply`` with a CNAME from ``original`` to the owner of its first answer record
    owned by another name put first in its answer, the CNAME's TTL being that record's
    (CoreDNS's ``cnamer``). The writer gives it the query's question."""
    if isinstance(reply, bytes):
        reply = dns.message.from_wire(reply, keyring=False, one_rr_per_rrset=True,
                                      ignore_trailing=True)
    for rrset in reply.answer:
        if rrset.name != original:
            cname = dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME,
                                                rrset.name)
            reply.answer = [dns.rrset.from_rdata(original, rrset.ttl, cname), *reply.answer]
            break
    return reply


@functools.lru_cache(maxsize=4096)
def _suffix(element: str) -> tuple[bytes, int] | None:
    """A search element as wire labels, the root's included, and how many labels it has;
    None when it is not a name."""
    if element in ("", "."):
        return b"\x00", 0
    try:
        name = dns.name.from_text(normalize(element))
    except dns.exception.DNSException:
        return None
    return name.to_wire(), len(name) - 1


def _base(question: bytes, drop: int) -> bytes | None:
    """The labels of ``question``'s name without its last ``drop`` ones, as wire labels (no
    root); None when that leaves nothing to search for (CoreDNS's ``TrimZone`` fails)."""
    starts = []
    off = 0
    while question[off]:
        starts.append(off)
        off += question[off] + 1
    keep = len(starts) - drop
    if drop and keep <= 0:
        return None
    return question[:starts[keep]] if keep < len(starts) else question[:off]


def _asking(request: Request, name: bytes) -> Request:
    """``request`` asking for wire ``name`` instead: the same header, type, class, EDNS and
    other records (their owner names written out in full, so no pointer is left pointing
    into the old question), client and metadata."""
    query = request.wire
    off = 12 + len(request.question_wire)
    records: list[bytes] = []
    for _ in range(request.ancount + request.nscount + request.arcount):
        owner, used = dns.name.from_wire(query, off)
        off += used
        rdlength = wire.RR_FIXED.unpack_from(query, off)[3]
        records += (owner.to_wire(), query[off:off + 10 + rdlength])
        off += 10 + rdlength
    lookup = Request.from_wire(
        b"".join((query[:12], name, request.question_wire[-4:], *records)),
        request.client, request.server, request.proto, request.udp_size)
    lookup.zone = request.zone
    lookup.start = request.start
    lookup.metadata = request.metadata
    return lookup


__all__ = ["NAME", "AutoPath", "SearchFunc", "with_cname"]
