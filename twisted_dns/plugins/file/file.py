"""The *file* handler: find the zone, look the name up, write the reply.

*auto* and *secondary* reuse :class:`File` to serve their
:class:`~twisted_dns.plugins.file.zone.Zone` objects the same way (it only needs a
:class:`~twisted_dns.plugins.file.zone.Zones`).

Rendering a reply with dnspython costs far more than the lookup (hundreds of microseconds for
an answer with NS records against a few for the lookup), and a zone's answers never change
until the zone is swapped. So the rendered reply is kept per zone object, keyed by everything
in the query that shapes it (question bytes, RD/CD, EDNS, DO, size limits); a repeated query
costs a dict hit and a new ID. Queries with EDNS options are not kept (a reply may echo them).
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin, IReadiness, ITransferSource
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.plugins.file.lookup import NXDOMAIN, Result
from twisted_dns.plugins.file.zone import Zone, Zones
from twisted_dns.request import Request
from twisted_dns.response import render
from twisted_dns.wire import NOERROR, OPCODE_NOTIFY, REFUSED, SERVFAIL, TYPE_AXFR, TYPE_IXFR

log = Logger(namespace="file")

NAME = "file"

#: the query flags a reply echoes (as CoreDNS's SetReply)
_ECHOED = int(dns.flags.RD | dns.flags.CD)
_QR, _AA = int(dns.flags.QR), int(dns.flags.AA)
#: rendered replies kept per zone before the store is emptied
MAX_CACHED = 10000


def reply(request: Request, result: Result) -> dns.message.Message:
    """The reply for a lookup result (the writer adds ID, question and EDNS)."""
    message = dns.message.Message()
    message.flags = _QR | (request.flags & _ECHOED) | (_AA if result.aa else 0)
    message.set_rcode(result.rcode)
    message.answer = result.answer
    message.authority = result.authority
    message.additional = result.additional
    return message


def _key(request: Request) -> tuple | None:
    """What shapes the rendered reply besides the zone; None when it is not to be kept."""
    if request.edns_options:
        return None
    return (request.question_wire, request.flags & _ECHOED, request.edns, request.do,
            request.max_size, request.reply_payload)


@implementer(IPlugin, IReadiness, ITransferSource)
class File:
    """Serves ``zones``; names outside them go to the next plugin.

    A zone not loaded yet is SERVFAIL; zone transfers are REFUSED (the *transfer* plugin,
    earlier in the chain, answers them); NOTIFY messages are dropped, as CoreDNS does for a
    zone it is primary for.
    """

    def __init__(self, zones: Zones, fall: Fallthrough | None = None, next_plugin: Any = None,
                 name: str = NAME) -> None:
        self.zones = zones
        self.fall = fall or Fallthrough()
        self.next = next_plugin
        self.name = name
        #: origin -> (the zone the replies were rendered from, key -> reply wire)
        self._rendered: dict[str, tuple[Zone, dict[tuple, bytes]]] = {}

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return self.name

    def Ready(self) -> bool:  # noqa: N802 - the IReadiness contract
        return self.zones.loaded()

    def Transfer(self, origin: str) -> Zone | None:  # noqa: N802 - ITransferSource
        """The served zone ``origin`` (None until loaded); KeyError when not served."""
        return self.zones[origin]

    def OnZoneChange(self, callback: Any) -> None:  # noqa: N802 - ITransferSource
        self.zones.on_swap.append(callback)

    def ServeDNS(self, request: Request, writer: Any) -> Any:  # noqa: N802 - the contract
        qname = request.qname_lower
        origin = self.zones.match(qname)
        if origin is None:
            if self.next is None:  # as CoreDNS 1.14: an authoritative server refuses
                return REFUSED
            return next_or_failure(self.name, self.next, request, writer)
        zone = self.zones[origin]
        if zone is None:
            return SERVFAIL
        if request.qtype == TYPE_AXFR or request.qtype == TYPE_IXFR:
            return REFUSED
        if request.opcode == OPCODE_NOTIFY:
            log.info("Dropping notify from {client} for {zone}", client=request.client_host,
                     zone=origin)
            return NOERROR
        rendered = self._rendered.get(origin)
        if rendered is None or rendered[0] is not zone:
            rendered = self._rendered[origin] = (zone, {})
        replies = rendered[1]
        key = _key(request)
        data = replies.get(key) if key is not None else None
        if data is not None:
            writer.write(request.wire[:2] + data[2:])
            return NOERROR
        plain = zone.wire_answer(qname, request.qtype)
        if plain is not None:
            try:
                data = wire.from_rrsets(request, NOERROR, [plain], zone.apex_ns, aa=True)
            except wire.TooBig:
                pass  # dnspython truncates: the lookup below renders it
            else:
                return self._write(replies, key, data, writer)
        result = zone.lookup(request.qname, request.qtype, request.do)
        if result.rcode == NXDOMAIN and not result.answer and self.fall.through(qname):
            return next_or_failure(self.name, self.next, request, writer)
        if result.rcode == SERVFAIL and not result.answer:
            return SERVFAIL
        # a CNAME loop is written: SERVFAIL with the chain up to the loop (as BIND)
        try:
            data = wire.from_rrsets(request, result.rcode, result.answer, result.authority,
                                    result.additional, result.aa)
        except wire.TooBig:
            data = render(request, reply(request, result))  # dnspython truncates
        return self._write(replies, key, data, writer)

    @staticmethod
    def _write(replies: dict[tuple, bytes], key: tuple | None, data: bytes, writer: Any) -> int:
        """Send ``data`` and keep it for the same question (unless ``key`` is None)."""
        if key is not None:
            if len(replies) >= MAX_CACHED:
                replies.clear()
            replies[key] = data
        writer.write(data)
        return NOERROR
