"""The per-query view of a DNS message: what the hot path needs, read straight from the wire.

``Request.from_wire`` reads the header, the question and the OPT record with ``struct`` and a
few slices (a few microseconds); the full ``dns.message.Message`` is decoded only when a plugin
calls :meth:`Request.message`, and then once. Plugins that answer from wire bytes never pay
for dnspython at all.

The OPT record's options are checked as they are read, so a query with a malformed one is
answered FORMERR before any plugin sees it (as BIND does) instead of failing later inside
:meth:`Request.message`: each option must end within the record, a COOKIE must be 8 octets
or 16 to 40 (RFC 7873 4), and the options dnspython decodes (client subnet, extended error,
...) must decode. A query without options pays nothing for this. (miekg/dns, under CoreDNS,
answers FORMERR for the same options, but for COOKIE lengths, which it does not check; BIND
accepts a client subnet of family 0, which dnspython does not decode, so it is FORMERR here.)
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import dns.edns
import dns.exception
import dns.message

from twisted_dns.names import PLAIN, name_text
from twisted_dns.wire import HEADER as _HEADER
from twisted_dns.wire import RR_FIXED as _RR_FIXED
from twisted_dns.wire import TYPE_OPT, Malformed, skip_name

#: Our own limit on UDP replies: none by default, so the client's advertised size decides
#: (CoreDNS's behaviour; its ``bufsize`` plugin, 1232 by the DNS flag day 2020, lowers it).
DEFAULT_UDP_SIZE = 65535
#: Without EDNS a UDP reply may not exceed this (RFC 1035).
MIN_UDP_SIZE = 512
#: A TCP message is length-prefixed with two bytes.
MAX_TCP_SIZE = 65535

_QTAIL = struct.Struct("!HH")
_OPTION = struct.Struct("!HH")

OPTION_COOKIE = 10

_new = object.__new__


class ShortPacket(ValueError):  # noqa: N818 - the contract's name
    """Fewer than 12 bytes: not even a header, so there is nobody to answer (dropped)."""


class FormError(ValueError):
    """The header is readable but the body is not: the server answers FORMERR.

    ``id`` and ``flags`` come from the header, so the reply can match the query (and a
    garbled *response* can be recognised by its QR bit and ignored). ``request`` is the query
    as far as it was read when the error came after its question (a malformed record or
    EDNS option), so the FORMERR can echo the question and the OPT record; None otherwise.
    Raised inside the chain (by :meth:`Request.message`), its ``rcode`` is what the server,
    and the *errors* plugin, answer.
    """

    rcode = 1  # FORMERR

    def __init__(self, message: str, msg_id: int, flags: int,
                 request: Request | None = None) -> None:
        super().__init__(message)
        self.id = msg_id
        self.flags = flags
        self.request = request


class Request:
    """One query as received: header fields, first question, EDNS, and who sent it where.

    Built by :meth:`from_wire`; ``zone``, ``start`` and ``plugin`` are filled in by the server
    as the query moves along.
    """

    __slots__ = (
        "_message",
        "_opt_span",
        "ancount",
        "arcount",
        "client",
        "deadline",
        "do",
        "edns",
        "edns_payload",
        "edns_version",
        "flags",
        "id",
        "metadata",
        "nscount",
        "plugin",
        "proto",
        "qclass",
        "qdcount",
        "qname",
        "qname_lower",
        "qtype",
        "question_wire",
        "server",
        "start",
        "udp_size",
        "wire",
        "zone",
    )

    wire: bytes
    #: the message ID and the 16-bit header flags word
    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int
    #: the first question's name as text (absolute, escaped like dnspython), "" without one
    qname: str
    qname_lower: str
    qtype: int
    qclass: int
    #: the first question in wire form (name, type, class), for replies built from wire
    question_wire: bytes
    #: EDNS: an OPT record was present; its version, advertised payload size and DO bit
    edns: bool
    edns_version: int
    edns_payload: int
    do: bool
    #: the largest UDP reply this server sends (see DEFAULT_UDP_SIZE)
    udp_size: int
    #: (host, port) of the client and of the listening socket, as the transport gave them
    client: tuple
    server: tuple
    #: "udp" or "tcp"
    proto: str
    #: the zone the query was routed to (set by the router), None before that
    zone: str | None
    #: reactor seconds when the query was received
    start: float
    #: the name of the last plugin entered (set by ``next_or_failure``), for logs and metrics
    plugin: str | None
    #: seconds the server waits for this query's answer when it is not the server's deadline:
    #: a plugin sets it before returning a Deferred for work known to be long (a zone transfer)
    deadline: float | None

    @classmethod
    def from_wire(cls, wire: bytes, client: tuple, server: tuple, proto: str,
                  udp_size: int = DEFAULT_UDP_SIZE) -> Request:
        """Read a query; raises :class:`ShortPacket` or :class:`FormError`."""
        n = len(wire)
        if n < 12:
            raise ShortPacket(f"{n} bytes is shorter than a DNS header")
        self = _new(cls)
        msg_id, flags, qd, an, ns, ar = _HEADER.unpack_from(wire)
        self.wire = wire
        self.id = msg_id
        self.flags = flags
        self.qdcount = qd
        self.ancount = an
        self.nscount = ns
        self.arcount = ar
        self.client = client
        self.server = server
        self.proto = proto
        self.udp_size = udp_size
        self.zone = None
        self.start = 0.0
        self.plugin = None
        self.deadline = None
        self.metadata = None
        self._message = None
        self.edns = False
        self.edns_version = 0
        self.edns_payload = 0
        self.do = False
        self._opt_span = None
        try:
            off = 12
            if qd:
                length = wire[12]
                while length:
                    if length > 63:  # a compression pointer (nothing to point back to) or junk
                        raise FormError("bad label in question", msg_id, flags)
                    off += length + 1
                    length = wire[off]
                off += 5
                if off - 16 > 255:
                    raise FormError("question name longer than 255 bytes", msg_id, flags)
                self.qtype, self.qclass = _QTAIL.unpack_from(wire, off - 4)
                self.question_wire = question = wire[12:off]
                names = _NAMES.get(question)
                if names is None:
                    names = _names(question)
                self.qname, self.qname_lower = names
                for _ in range(qd - 1):
                    off = skip_name(wire, off) + 4
                    if off > n:
                        raise FormError("message ends inside a question", msg_id, flags)
            else:
                self.qname = self.qname_lower = ""
                self.qtype = self.qclass = 0
                self.question_wire = b""
        except (IndexError, struct.error):
            raise FormError("message ends early", msg_id, flags) from None
        try:
            if ar == 1 and not an and not ns and wire[off] == 0 and wire[off + 2] == TYPE_OPT \
                    and wire[off + 1] == 0:
                # the common case, a lone OPT record: read it in place
                _, payload, ttl, rdlen = _RR_FIXED.unpack_from(wire, off + 1)
                self.edns = True
                self.edns_payload = payload
                self.edns_version = (ttl >> 16) & 0xFF
                self.do = ttl & 0x8000 != 0
                off += 11
                if rdlen:
                    self._read_options(wire, off, off + rdlen)
                    off += rdlen
            elif an or ns or ar:
                self._read_records(wire, off, an + ns, an + ns + ar)
        except FormError as e:
            e.request = self
            raise
        except (IndexError, struct.error):
            raise FormError("message ends early", msg_id, flags, self) from None
        except Malformed as exc:
            raise FormError(str(exc), msg_id, flags, self) from None
        return self

    @classmethod
    def header_only(cls, wire: bytes, client: tuple, server: tuple, proto: str,
                    udp_size: int = DEFAULT_UDP_SIZE) -> Request:
        """A request from the header alone, for answering a query whose body is unreadable."""
        return cls.from_wire(wire[:4] + bytes(8), client, server, proto, udp_size)

    def _read_records(self, wire: bytes, off: int, first_additional: int, count: int) -> None:
        """Walk the answer, authority and additional sections to find the OPT record."""
        n = len(wire)
        unpack = _RR_FIXED.unpack_from
        for index in range(count):
            root = wire[off] == 0
            off = off + 1 if root else skip_name(wire, off)
            rtype, rclass, ttl, rdlen = unpack(wire, off)
            off += 10
            end = off + rdlen
            if end > n:
                raise FormError("record data runs past the message", self.id, self.flags)
            if rtype == TYPE_OPT:
                if self.edns or not root or index < first_additional:
                    raise FormError("misplaced or repeated OPT record", self.id, self.flags)
                self.edns = True
                self.edns_payload = rclass
                self.edns_version = (ttl >> 16) & 0xFF
                self.do = bool(ttl & 0x8000)
                if rdlen:
                    self._read_options(wire, off, end)
            off = end

    def _read_options(self, wire: bytes, off: int, end: int) -> None:
        """Check the OPT record's options at ``wire[off:end]`` and keep where they are."""
        if end > len(wire):
            raise FormError("OPT record runs past the message", self.id, self.flags)
        self._opt_span = (off, end)
        while off < end:
            if off + 4 > end:
                raise FormError("EDNS option header runs past the OPT record", self.id,
                                self.flags)
            code, length = _OPTION.unpack_from(wire, off)
            off += 4
            if off + length > end:
                raise FormError(f"EDNS option {code} runs past the OPT record", self.id,
                                self.flags)
            if code == OPTION_COOKIE:
                if length != 8 and not 16 <= length <= 40:
                    raise FormError(f"COOKIE option of {length} octets", self.id, self.flags)
            elif dns.edns.get_option_class(code) is not dns.edns.GenericOption:
                try:
                    dns.edns.option_from_wire(code, wire, off, length)
                except (dns.exception.DNSException, ValueError) as e:
                    raise FormError(f"EDNS option {code}: {e}", self.id, self.flags) from None
            off += length

    # Derived fields: cheap, computed when asked.

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rd(self) -> bool:
        return bool(self.flags & 0x0100)

    @property
    def cd(self) -> bool:
        return bool(self.flags & 0x0010)

    @property
    def client_host(self) -> str:
        """The client's address; IPv4-mapped IPv6 (``::ffff:1.2.3.4``) reads as IPv4."""
        host = self.client[0]
        if host.startswith("::ffff:") and "." in host:
            return host[7:]
        return host

    @property
    def client_port(self) -> int:
        return self.client[1]

    @property
    def server_host(self) -> str:
        host = self.server[0]
        if host.startswith("::ffff:") and "." in host:
            return host[7:]
        return host

    @property
    def server_port(self) -> int:
        return self.server[1]

    @property
    def family(self) -> int:
        """1 for IPv4 clients (mapped ones included), 2 for IPv6, as CoreDNS."""
        return 2 if ":" in self.client_host else 1

    @property
    def max_size(self) -> int:
        """The largest reply the client accepts on this transport."""
        if self.proto != "udp":
            return MAX_TCP_SIZE
        if not self.edns:
            return MIN_UDP_SIZE
        if self.edns_payload <= MIN_UDP_SIZE:
            return MIN_UDP_SIZE
        return self.reply_payload

    @property
    def reply_payload(self) -> int:
        """The payload size a reply's OPT record advertises: the client's own, as CoreDNS
        echoes it, lowered to :attr:`udp_size`."""
        payload = self.edns_payload
        return payload if payload < self.udp_size else self.udp_size

    @property
    def edns_options(self) -> list[tuple[int, bytes]]:
        """The OPT record's options as (code, data) pairs."""
        span = self._opt_span
        if span is None:
            return []
        wire, off, end = self.wire, span[0], span[1]
        options = []
        while off + 4 <= end:
            code, length = _OPTION.unpack_from(wire, off)
            off += 4
            options.append((code, wire[off:off + length]))
            off += length
        return options

    def set_metadata(self, label: str, value: Callable[[], str]) -> None:
        """Set metadata ``label`` (``plugin/name``) to ``value``, a function called only when
        a reader asks (CoreDNS's ``metadata.SetValueFunc``); for providers, called by the
        *metadata* plugin."""
        if self.metadata is None:
            self.metadata = {}
        self.metadata[label] = value

    def metadata_value(self, label: str) -> str | None:
        """The value of metadata ``label``, None when no provider set it or the *metadata*
        plugin is not in the block (CoreDNS's ``metadata.ValueFunc``, called)."""
        value = self.metadata.get(label) if self.metadata else None
        return None if value is None else str(value())

    def message(self) -> dns.message.Message:
        """The whole query decoded by dnspython; built on first use, then cached.

        A TSIG record is decoded but not verified (that is the tsig plugin's job). A query
        dnspython cannot decode (a malformed record the server's reading did not look into)
        raises :class:`FormError`, which the server answers FORMERR.
        """
        message = self._message
        if message is None:
            try:
                message = dns.message.from_wire(self.wire, keyring=False, ignore_trailing=True)
            except (dns.exception.DNSException, ValueError) as e:
                # what the server's own reading let through (a record's data): FORMERR
                raise FormError(f"query does not decode: {e}", self.id, self.flags,
                                self) from None
            self._message = message
        return message

    def __repr__(self) -> str:
        return (f"<Request id={self.id} {self.qname} type={self.qtype} class={self.qclass}"
                f" {self.proto} from {self.client_host}:{self.client_port}>")


#: question (wire) -> (qname, qname_lower): most traffic asks the same few names
_NAMES: dict[bytes, tuple[str, str]] = {}
_NAMES_MAX = 4096


def _names(question: bytes) -> tuple[str, str]:
    """The text forms of a question's name (checked well-formed by the caller), cached."""
    labels = []
    off = 0
    length = question[0]
    while length:
        start = off + 1
        off = start + length
        labels.append(question[start:off])
        length = question[off]
    if labels:
        text = b".".join(labels)
        if len(text.translate(None, PLAIN)) == len(labels) - 1:
            qname = text.decode("ascii") + "."
        else:
            qname = name_text(labels)
    else:
        qname = "."
    names = (qname, qname.lower())
    if len(_NAMES) >= _NAMES_MAX:
        _NAMES.clear()
    _NAMES[question] = names
    return names


