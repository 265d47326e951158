"""Response writers: where a plugin's reply goes, made to fit the client on the way.

Two kinds of reply reach a writer:

- ready wire ``bytes`` (cache hits, forwarded answers, replies built with :mod:`twisted_dns.wire`):
  sent as they are when they fit the client's buffer, which is the common case and costs a
  length check; only an oversized reply is decoded and truncated.
- a ``dns.message.Message``: scrubbed the way CoreDNS's ``request.Scrub``/``SizeAndDo`` do
  (ID and question from the query, an OPT record exactly when the query had one: EDNS
  version 0, the client's UDP size, the DO bit mirrored, client options we do not know
  dropped), then rendered within the client's size (:func:`render`).

A reply too big for the client is cut as RFC 2181 9 says: TC is set only when records the
client needs do not fit (the answer section, or the authority section of a reply with no
answer: a referral or a negative answer), and those are cut record by record, keeping whole
records, as miekg/dns does. Optional records (the authority section beside an answer, the
additional section) that do not fit are left out whole, with TC clear, where miekg/dns sets
TC. The question and the OPT record are always kept.

``Recorder`` and ``NonWriter`` wrap a writer for plugins that need to see the reply (log,
metrics, cache).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.renderer
import dns.rrset
from twisted.internet.error import MessageLengthError
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IResponseWriter
from twisted_dns.request import MIN_UDP_SIZE, Request
from twisted_dns.wire import SUPPORTED_OPTIONS

log = Logger(namespace="response")



def register_option(code: int) -> None:
    """Let replies keep EDNS option ``code`` from the query (CoreDNS's SetSupportedOption)."""
    SUPPORTED_OPTIONS.add(code)


def render(request: Request, reply: dns.message.Message) -> bytes:
    """Scrub ``reply`` for ``request`` (in place) and render it within ``request.max_size``
    (cut as the module's docstring says when it does not fit)."""
    reply.id = request.id
    query = request.message()
    reply.question = list(query.question)
    rcode = int(reply.rcode())
    if request.edns:
        if reply.opt is not None:
            options = list(reply.options)
        else:
            options = [o for o in query.options if o.otype in SUPPORTED_OPTIONS]
        reply.use_edns(0, dns.flags.DO if request.do else 0, request.reply_payload,
                       options=options)
        reply.set_rcode(rcode)
    elif reply.opt is not None or rcode > 15:
        reply.use_edns(False)
        # an extended rcode cannot be said without EDNS
        reply.set_rcode(rcode if rcode <= 15 else wire.SERVFAIL)
    max_size = request.max_size
    try:
        return to_wire(reply, max_size)
    except dns.exception.TooBig:
        return _truncated(reply, max_size)


class _CaseKept(dict):
    """dnspython's compression table keyed by a name's exact labels: a name points only to one
    written in the same case, so every name keeps the case it was given (RFC 4343, and
    miekg/dns: CoreDNS's zone-cased names stay so beside a mixed-case question). The labels'
    hash also spreads where dnspython's Name hash (a sum of the octets) collides by design."""

    def get(self, name: dns.name.Name, default: Any = None) -> Any:
        return dict.get(self, name.labels, default)

    def __setitem__(self, name: dns.name.Name, offset: int) -> None:
        dict.__setitem__(self, name.labels, offset)


def _renderer(message: dns.message.Message, max_size: int) -> dns.renderer.Renderer:
    renderer = dns.renderer.Renderer(message.id, message.flags, max_size, message.origin)
    renderer.compress = _CaseKept()
    return renderer


def _opt_size(message: dns.message.Message) -> int:
    return 0 if message.opt is None else 11 + sum(4 + len(option.to_wire())
                                                  for option in message.options)


def to_wire(message: dns.message.Message, max_size: int = 65535,
            prefer_truncation: bool = False) -> bytes:
    """``message.to_wire(max_size=...)`` with names compressed case-sensitively
    (:class:`_CaseKept`); TooBig, or with ``prefer_truncation`` the records that fit and TC
    when the cut is before the additional section. (No TSIG: nothing signs replies yet.)"""
    renderer = _renderer(message, max_size)
    opt_size = _opt_size(message)
    renderer.reserve(opt_size)
    try:
        for question in message.question:
            renderer.add_question(question.name, question.rdtype, question.rdclass)
        for section, rrsets in ((dns.renderer.ANSWER, message.answer),
                                (dns.renderer.AUTHORITY, message.authority),
                                (dns.renderer.ADDITIONAL, message.additional)):
            for rrset in rrsets:
                renderer.add_rrset(section, rrset)
    except dns.exception.TooBig:
        if not prefer_truncation:
            raise
        if renderer.section < dns.renderer.ADDITIONAL:
            renderer.flags |= dns.flags.TC
    renderer.release_reserved()
    if message.opt is not None:
        renderer.add_opt(message.opt, message.pad, opt_size, 0)
    renderer.write_header()
    return renderer.get_wire()


def _truncated(reply: dns.message.Message, max_size: int) -> bytes:
    """``reply`` cut to ``max_size`` (see the module's docstring), TC set when it had to be."""
    renderer = _renderer(reply, max_size - _opt_size(reply))
    for question in reply.question:
        renderer.add_question(question.name, question.rdtype, question.rdclass)
    sections = []
    for section, rrsets, required in ((dns.renderer.ANSWER, reply.answer, True),
                                      (dns.renderer.AUTHORITY, reply.authority, not reply.answer),
                                      (dns.renderer.ADDITIONAL, reply.additional, False)):
        kept, complete = _fit(renderer, section, rrsets, by_record=required)
        sections.append(kept)
        if not complete:
            if required:
                reply.flags |= dns.flags.TC
            break
    sections += [[] for _ in range(3 - len(sections))]
    reply.answer, reply.authority, reply.additional = sections
    return to_wire(reply, max_size, prefer_truncation=True)


def _fit(renderer: dns.renderer.Renderer, section: int, rrsets: list[dns.rrset.RRset],
         by_record: bool) -> tuple[list[dns.rrset.RRset], bool]:
    """The RRsets of ``rrsets`` that fit in ``renderer`` after what it holds, and whether all
    did; ``by_record`` keeps the whole records that fit of the first RRset that does not."""
    kept = []
    for rrset in rrsets:
        try:
            renderer.add_rrset(section, rrset)
        except dns.exception.TooBig:
            if by_record:
                records = []
                for rdata in rrset:
                    try:
                        renderer.add_rrset(section, dns.rrset.from_rdata_list(
                            rrset.name, rrset.ttl, [rdata]))
                    except dns.exception.TooBig:
                        break
                    records.append(rdata)
                if records:
                    kept.append(dns.rrset.from_rdata_list(rrset.name, rrset.ttl, records))
            return kept, False
        kept.append(rrset)
    return kept, True


def fit(request: Request, data: bytes) -> bytes:
    """Wire ``data`` too big for the client: decode and truncate it (the slow path)."""
    try:
        message = dns.message.from_wire(data, keyring=False, ignore_trailing=True)
    except Exception:
        log.failure("reply of {size} bytes does not decode; sending TC", size=len(data))
        return wire.reply(request, rcode=wire.rcode(data) if len(data) > 3 else wire.SERVFAIL,
                          tc=True)
    return render(request, message)


@implementer(IResponseWriter)
class ResponseWriter:
    """Base writer: fits the reply, records ``rcode`` and ``size``, then ``_send``-s it.

    After :meth:`close` (the query's deadline passed) further writes are dropped.
    """

    __slots__ = ("closed", "rcode", "request", "size", "written")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.written = False
        self.closed = False
        self.rcode: int | None = None
        self.size = 0

    def write(self, reply: bytes | dns.message.Message) -> None:
        if self.closed:
            return
        if reply.__class__ is bytes:
            data = reply
            if len(data) > MIN_UDP_SIZE and len(data) > self.request.max_size:
                data = fit(self.request, data)
            rcode = data[3] & 0xF  # wire.rcode(data), inlined: every reply passes here
        elif isinstance(reply, dns.message.Message):
            data = render(self.request, reply)
            rcode = int(reply.rcode())
        else:
            self.write(bytes(reply))
            return
        self.written = True
        self.rcode = rcode
        self.size = len(data)
        self._send(data)

    def close(self) -> None:
        """Drop any later write (a reply arriving after the server already answered)."""
        self.closed = True

    def _send(self, data: bytes) -> None:
        raise NotImplementedError


class UDPWriter(ResponseWriter):
    """Sends the reply as one datagram back to the client's address.

    ``send(data, addr)`` is normally the UDP socket's own ``sendto``: Twisted's
    ``transport.write`` re-validates the address text on every call (1-3 us here), and an
    address that came from ``recvfrom`` needs no validation. A transport's ``write`` works too.
    """

    __slots__ = ("send",)

    def __init__(self, send: Callable[[bytes, Any], Any], request: Request) -> None:
        # the base __init__'s fields set here directly: one call less per query
        self.request = request
        self.written = False
        self.closed = False
        self.rcode = None
        self.size = 0
        self.send = send

    def _send(self, data: bytes) -> None:
        try:
            self.send(data, self.request.client)
        except (OSError, MessageLengthError) as e:
            # a full socket buffer or an unreachable client: UDP may drop, the client retries
            log.debug("UDP reply to {client} dropped: {error}", client=self.request.client,
                      error=e)


class TCPWriter(ResponseWriter):
    """Sends the reply as one length-prefixed message on a stream (TCP, later TLS)."""

    __slots__ = ("stream",)

    def __init__(self, stream: Any, request: Request) -> None:
        ResponseWriter.__init__(self, request)
        #: anything with ``write(bytes)``: the connection's transport
        self.stream = stream

    def _send(self, data: bytes) -> None:
        self.stream.write(len(data).to_bytes(2, "big") + data)


class CaptureWriter(ResponseWriter):
    """Keeps every rendered reply in ``sent`` instead of sending it (for tests and tools)."""

    __slots__ = ("sent",)

    def __init__(self, request: Request) -> None:
        ResponseWriter.__init__(self, request)
        self.sent: list[bytes] = []

    def _send(self, data: bytes) -> None:
        self.sent.append(data)


def rcode_of(reply: bytes | dns.message.Message) -> int:
    """The rcode of a reply, wire bytes (the header's four bits) or a Message."""
    if isinstance(reply, dns.message.Message):
        return int(reply.rcode())
    return wire.rcode(reply)


@implementer(IResponseWriter)
class WrappingWriter:
    """A writer around another (CoreDNS's wrapped ``dns.ResponseWriter``): ``request``,
    ``written``, ``rcode``, ``size`` and ``close()`` are the inner writer's; a subclass
    changes what it needs (``write``, usually)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.request: Request = writer.request

    @property
    def written(self) -> bool:
        return self.writer.written

    @property
    def rcode(self) -> int | None:
        return self.writer.rcode

    @property
    def size(self) -> int:
        return self.writer.size

    def write(self, reply: bytes | dns.message.Message) -> None:
        self.writer.write(reply)

    def close(self) -> None:
        self.writer.close()


class Recorder(WrappingWriter):
    """Remembers what went through it (for log and metrics plugins): ``reply`` and
    ``plugin`` (the ``request.plugin`` that wrote); ``start`` is when the query came."""

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        self.start: float = self.request.start
        self.reply: bytes | dns.message.Message | None = None
        self.plugin: str | None = None

    def write(self, reply: bytes | dns.message.Message) -> None:
        self.plugin = self.request.plugin
        self.reply = reply
        self.writer.write(reply)


class NonWriter(WrappingWriter):
    """Captures the reply in ``reply`` without sending it (CoreDNS's ``nonwriter``).

    For a plugin that looks at what the chain below produced before deciding what to send;
    it sends (or changes) the reply itself through ``writer``.
    """

    written = False
    rcode: int | None = None
    size = 0
    reply: bytes | dns.message.Message | None = None

    def write(self, reply: bytes | dns.message.Message) -> None:
        self.reply = reply
        self.written = True
        self.rcode = rcode_of(reply)
        self.size = len(reply) if isinstance(reply, bytes) else 0


__all__ = [
    "SUPPORTED_OPTIONS", "CaptureWriter", "NonWriter", "Recorder", "ResponseWriter",
    "TCPWriter", "UDPWriter", "WrappingWriter", "fit", "register_option", "render",
]
