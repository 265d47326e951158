"""The DNS wire format without dnspython: replies built from ready records, messages read.

Writing is for plugins that answer from data they already hold (whoami, static answers, the
server's own error replies): the reply copies the query's ID, opcode, RD and CD bits and its
question section byte for byte, so it always matches the query, and carries an OPT record
exactly when the query had one. A record is ``rr(name, type, class, ttl, rdata)``;
``QNAME_POINTER`` names the question's owner name with two bytes.

    answer = wire.rr(wire.QNAME_POINTER, dns.rdatatype.A, dns.rdataclass.IN, 0,
                     wire.a_rdata(request.client_host))
    writer.write(wire.reply(request, answer=[answer], aa=True))

Reading is for the fast paths that look into a reply without decoding it (cache, minimal,
loadbalance, response typing) and for the query itself (``Request``): the header and record
layouts (:data:`HEADER`, :data:`RR_FIXED`), :func:`skip_name`, :func:`skip_questions`,
:func:`skip_records` and :func:`rcode`. A message they cannot read is :class:`Malformed`, or
an ``IndexError``/``struct.error`` when it ends early (callers catch the three together).
The rcode, opcode, type and class numbers are plain ints, which hot paths compare without
dnspython's enums.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from dns.rrset import RRset

    from twisted_dns.request import Request

#: A compression pointer to the question name (which always starts at offset 12).
QNAME_POINTER = b"\xc0\x0c"

#: Header flag bits (the 16-bit flags word).
QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
AD = 0x0020
CD = 0x0010
#: the flags a reply copies from its query: opcode, RD and CD (miekg/dns ``SetReply``)
_COPIED = 0x7800 | RD | CD
#: the DO bit inside the OPT record's TTL field
DO = 0x8000

#: rcodes (RFC 1035 4.1.1; BADVERS, RFC 6891, needs the OPT record's upper bits)
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
BADVERS = 16
#: opcodes (the flags word's bits 11-14)
OPCODE_QUERY, OPCODE_NOTIFY, OPCODE_UPDATE = 0, 4, 5
#: record types
TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_SOA, TYPE_MX, TYPE_AAAA, TYPE_SRV = 1, 2, 5, 6, 15, 28, 33
TYPE_SIG, TYPE_OPT, TYPE_RRSIG = 24, 41, 46
TYPE_TKEY, TYPE_TSIG, TYPE_IXFR, TYPE_AXFR = 249, 250, 251, 252
CLASS_IN = 1

#: the header: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
HEADER = struct.Struct("!HHHHHH")
#: a record after its owner name: type, class, TTL, RDLENGTH (then the RDATA)
RR_FIXED = struct.Struct("!HHIH")
#: an OPT record: root owner, type, UDP size, extended rcode/version/flags, rdata length
_OPT_FIXED = struct.Struct("!BHHIH")
_SRV_FIXED = struct.Struct("!HHH")
_POINTER = struct.Struct("!H")
_SOA_FIXED = struct.Struct("!IIIII")


def rr(name: bytes, rdtype: int, rdclass: int, ttl: int, rdata: bytes) -> bytes:
    """One resource record in wire form; ``name`` is wire bytes (or ``QNAME_POINTER``)."""
    return name + RR_FIXED.pack(rdtype, rdclass, ttl, len(rdata)) + rdata


def opt(udp_size: int, do: bool = False, ext_rcode: int = 0, options: bytes = b"") -> bytes:
    """An OPT pseudo-record (EDNS version 0); ``ext_rcode`` is the rcode's upper 8 bits."""
    ttl = (ext_rcode << 24) | (DO if do else 0)
    return _OPT_FIXED.pack(0, TYPE_OPT, udp_size, ttl, len(options)) + options


#: EDNS option codes a reply echoes from the query when its plugin set no OPT of its own:
#: CoreDNS's (NSID, EXPIRE, COOKIE, TCP-KEEPALIVE, PADDING: edns.SupportedOption); plugins
#: add theirs with ``response.register_option``.
SUPPORTED_OPTIONS: set[int] = {3, 9, 10, 11, 12}
_OPTION = struct.Struct("!HH")


def echoed_options(request: Request) -> bytes:
    """The query's options that a reply echoes (:data:`SUPPORTED_OPTIONS`), as OPT RDATA."""
    return b"".join(_OPTION.pack(code, len(data)) + data
                    for code, data in request.edns_options if code in SUPPORTED_OPTIONS)


def reply(request: Request, rcode: int = 0, answer: Sequence[bytes] = (),
          authority: Sequence[bytes] = (), additional: Sequence[bytes] = (),
          aa: bool = False, tc: bool = False, question: bool = True) -> bytes:
    """A complete reply to ``request`` from ready records.

    ``rcode`` may exceed 15 (BADVERS is 16): its upper bits go into the OPT record, which is
    added when the query had one (the client's UDP size, DO mirrored, the options CoreDNS
    echoes: :func:`echoed_options`, but to a FORMERR). ``question=False`` leaves the
    question out, as miekg/dns does for the replies it rejects before reading the question.
    """
    flags = QR | (request.flags & _COPIED) | (rcode & 0xF)
    if aa:
        flags |= AA
    if tc:
        flags |= TC
    qd = request.question_wire if question else b""
    arcount = len(additional)
    if request.edns:
        arcount += 1
        # a FORMERR (a malformed option, say) echoes nothing of what could not be read
        options = echoed_options(request) if rcode != FORMERR else b""
        tail = _OPT_FIXED.pack(0, TYPE_OPT, request.reply_payload,
                               ((rcode >> 4) << 24) | (DO if request.do else 0),
                               len(options)) + options
    else:
        tail = b""
    header = HEADER.pack(request.id, flags, 1 if qd else 0, len(answer), len(authority),
                          arcount)
    if answer or authority or additional:
        return b"".join((header, qd, *answer, *authority, *additional, tail))
    return header + qd + tail


def header_reply(msg_id: int, query_flags: int, rcode: int) -> bytes:
    """A bare header reply (no sections) for a query whose body could not be read."""
    flags = QR | (query_flags & _COPIED) | (rcode & 0xF)
    return HEADER.pack(msg_id, flags, 0, 0, 0, 0)


def rcode(data: bytes) -> int:
    """The rcode in a wire message's header (the lower four bits only)."""
    return data[3] & 0xF


class Malformed(ValueError):  # noqa: N818 - a reason, not an error of ours
    """The bytes do not hold a well-formed DNS message."""


def skip_name(data: bytes, off: int) -> int:
    """The offset just past the (possibly compressed) name at ``off``.

    :class:`Malformed` for a label type other than a length or a pointer, or a pointer cut
    off by the end; ``IndexError`` when the message ends inside the name.
    """
    while True:
        length = data[off]
        if length == 0:
            return off + 1
        if length >= 0xC0:
            if off + 1 >= len(data):
                raise Malformed("message ends inside a name")
            return off + 2
        if length > 63:
            raise Malformed("bad label type")
        off += length + 1


def skip_questions(data: bytes, off: int, count: int) -> int:
    """The offset past ``count`` question entries (name, type, class) starting at ``off``."""
    for _ in range(count):
        off = skip_name(data, off) + 4
    return off


def skip_records(data: bytes, off: int, count: int) -> int:
    """The offset past ``count`` records starting at ``off`` (no check that it is inside)."""
    unpack = RR_FIXED.unpack_from
    for _ in range(count):
        off = skip_name(data, off)
        off += 10 + unpack(data, off)[3]
    return off


def name(text: str) -> bytes:
    """``example.org.`` as uncompressed wire labels (plain ASCII names, no escapes)."""
    if text in (".", ""):
        return b"\x00"
    out = bytearray()
    for label in text.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label in {text!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise ValueError(f"name too long: {text!r}")
    return bytes(out)


def a_rdata(address: str) -> bytes:
    """An A record's rdata from dotted-quad text."""
    return socket.inet_pton(socket.AF_INET, address)


def aaaa_rdata(address: str) -> bytes:
    """An AAAA record's rdata from IPv6 text."""
    return socket.inet_pton(socket.AF_INET6, address)


def srv_rdata(priority: int, weight: int, port: int, target: bytes) -> bytes:
    """An SRV record's rdata; ``target`` is a wire name (uncompressed, RFC 2782)."""
    return _SRV_FIXED.pack(priority, weight, port) + target


class TooBig(ValueError):  # noqa: N818 - a signal, not a failure
    """The reply does not fit the client: render it with dnspython, which truncates."""


class WireRRset(NamedTuple):
    """An RRset already in wire pieces (its RDATA written, uncompressed), for
    :func:`from_rrsets` beside dnspython's: owner labels (the root's empty one last)."""

    labels: tuple[bytes, ...]
    rdtype: int
    rdclass: int
    ttl: int
    rdatas: tuple[bytes, ...]


def from_rrsets(request: Request, rcode: int, answer: Sequence[RRset | WireRRset],
                authority: Sequence[RRset | WireRRset] = (),
                additional: Sequence[RRset | WireRRset] = (), aa: bool = False) -> bytes:
    """A reply to ``request`` holding dnspython RRsets (or :class:`WireRRset`), without
    building a Message.

    Names are compressed against the question and each other (owners, and the names in the
    RDATA of the types RFC 3597 lets compress: NS, CNAME, PTR, MX, SOA; SRV and DNAME targets
    are written in full but later names may point into them, as miekg/dns), the OPT record and
    flags are those :func:`reply` writes. :class:`TooBig` when the reply exceeds
    ``request.max_size`` (dnspython's renderer then truncates it) or when the query has EDNS
    options a reply might echo.
    """
    if request.edns_options:
        raise TooBig("EDNS options")
    qd = request.question_wire
    out = [qd]
    size = 12 + len(qd)
    names = _Names(qd)
    counts = []
    for section in (answer, authority, additional):
        count = 0
        for rrset in section:
            rdtype, rdclass, ttl = rrset.rdtype, rrset.rdclass, rrset.ttl
            if type(rrset) is WireRRset:
                for data in rrset.rdatas:
                    owner = names.encode(rrset.labels, size)
                    data = _wire_rdata(rdtype, data, names, size + len(owner) + 10)
                    out.append(b"".join((owner, RR_FIXED.pack(rdtype, rdclass, ttl,
                                                               len(data)), data)))
                    size += len(out[-1])
                    count += 1
                continue
            write = _RDATA.get(rdtype, _any_rdata)
            for rdata in rrset:
                owner = names.encode(rrset.name.labels, size)
                data = write(rdata, names, size + len(owner) + 10)
                record = b"".join((owner, RR_FIXED.pack(rdtype, rdclass, ttl, len(data)), data))
                out.append(record)
                size += len(record)
                count += 1
        counts.append(count)
    if request.edns:
        out.append(_OPT_FIXED.pack(0, TYPE_OPT, request.reply_payload,
                                   ((rcode >> 4) << 24) | (DO if request.do else 0), 0))
        size += 11
        counts[2] += 1
    if size > request.max_size:
        raise TooBig(f"{size} bytes")
    flags = QR | (request.flags & _COPIED) | (rcode & 0xF) | (AA if aa else 0)
    out.insert(0, HEADER.pack(request.id, flags, 1, *counts))
    return b"".join(out)


class _Names:
    """Owner-name compression (RFC 1035 4.1.4): each name suffix written once, then pointed
    to; suffixes match only in the same case, so names keep theirs (as miekg/dns)."""

    __slots__ = ("_offsets",)

    def __init__(self, question: bytes) -> None:
        #: label tuple -> offset of a suffix already written
        self._offsets: dict[tuple[bytes, ...], int] = {}
        labels = []
        starts = []
        off = 0
        while question[off]:
            length = question[off]
            if length > 63:  # a pointer (not sent by real clients): point to none of it
                return
            starts.append(off)
            labels.append(question[off + 1:off + 1 + length])
            off += 1 + length
        for i, start in enumerate(starts):
            self._offsets[tuple(labels[i:])] = 12 + start

    def encode(self, labels: tuple[bytes, ...], at: int) -> bytes:
        """``labels`` (a dnspython Name's, absolute) as written at offset ``at``."""
        if labels[-1]:
            raise ValueError("a relative name cannot be written")
        offsets = self._offsets
        out = bytearray()
        for i in range(len(labels) - 1):
            suffix = labels[i:-1]
            pointer = offsets.get(suffix)
            if pointer is not None:
                out += _POINTER.pack(0xC000 | pointer)
                return bytes(out)
            here = at + len(out)
            if here < 0x4000:
                offsets[suffix] = here
            label = labels[i]
            out.append(len(label))
            out += label
        out.append(0)
        return bytes(out)

    def plain(self, labels: tuple[bytes, ...], at: int) -> bytes:
        """``labels`` written in full (a name RFC 3597 forbids compressing: SRV's target,
        DNAME's) at ``at``, its suffixes remembered for the names after it, as miekg/dns."""
        offsets = self._offsets
        here = at
        for i in range(len(labels) - 1):
            suffix = labels[i:-1]
            if suffix not in offsets and here < 0x4000:
                offsets[suffix] = here
            here += 1 + len(labels[i])
        return _plain(labels)


def _labels_at(data: bytes, off: int) -> tuple[tuple[bytes, ...], int]:
    """The uncompressed name at ``data[off:]``: its labels (the root's empty one last) and the
    offset after it."""
    labels = []
    while data[off]:
        length = data[off]
        labels.append(data[off + 1:off + 1 + length])
        off += 1 + length
    labels.append(b"")
    return tuple(labels), off + 1


#: where the names start in the RDATA a WireRRset holds (uncompressed), how many follow one
#: another there, and whether they may be compressed (RFC 3597 section 4)
_NAMES_IN_RDATA: dict[int, tuple[int, int, bool]] = {
    TYPE_NS: (0, 1, True), TYPE_CNAME: (0, 1, True), 12: (0, 1, True), TYPE_MX: (2, 1, True),
    TYPE_SOA: (0, 2, True), TYPE_SRV: (6, 1, False), 39: (0, 1, False),
}


def _wire_rdata(rdtype: int, data: bytes, names: _Names, at: int) -> bytes:
    """A WireRRset's RDATA as written at ``at``: its names compressed (or, where they may
    not be, remembered for the names after them)."""
    spec = _NAMES_IN_RDATA.get(rdtype)
    if spec is None:
        return data
    start, count, compress = spec
    out = bytearray(data[:start])
    off = start
    for _ in range(count):
        labels, off = _labels_at(data, off)
        here = at + len(out)
        out += names.encode(labels, here) if compress else names.plain(labels, here)
    out += data[off:]
    return bytes(out)


# RDATA writers: (rdata, names, offset of the RDATA) -> bytes. dnspython's own ``to_wire``
# builds a Name per suffix of every name it writes, even uncompressed: most of a reply's cost.

def _any_rdata(rdata: Any, names: _Names, at: int) -> bytes:
    return rdata.to_wire()


def _target(rdata: Any, names: _Names, at: int) -> bytes:
    return names.encode(rdata.target.labels, at)


def _uncompressed_target(rdata: Any, names: _Names, at: int) -> bytes:
    return names.plain(rdata.target.labels, at)


def _mx(rdata: Any, names: _Names, at: int) -> bytes:
    return _POINTER.pack(rdata.preference) + names.encode(rdata.exchange.labels, at + 2)


def _srv(rdata: Any, names: _Names, at: int) -> bytes:
    return (_SRV_FIXED.pack(rdata.priority, rdata.weight, rdata.port)
            + names.plain(rdata.target.labels, at + 6))


def _soa(rdata: Any, names: _Names, at: int) -> bytes:
    mname = names.encode(rdata.mname.labels, at)
    rname = names.encode(rdata.rname.labels, at + len(mname))
    return b"".join((mname, rname, _SOA_FIXED.pack(rdata.serial, rdata.refresh, rdata.retry,
                                                   rdata.expire, rdata.minimum)))


def _a(rdata: Any, names: _Names, at: int) -> bytes:
    return socket.inet_pton(socket.AF_INET, rdata.address)


def _aaaa(rdata: Any, names: _Names, at: int) -> bytes:
    return socket.inet_pton(socket.AF_INET6, rdata.address)


def _plain(labels: tuple[bytes, ...]) -> bytes:
    """An absolute name's labels, uncompressed."""
    if labels[-1]:
        raise ValueError("a relative name cannot be written")
    return b"".join(bytes((len(label),)) + label for label in labels)


_RDATA: dict[int, Callable[[Any, _Names, int], bytes]] = {
    1: _a, 2: _target, 5: _target, 6: _soa, 12: _target, 15: _mx, 28: _aaaa, 33: _srv,
    39: _uncompressed_target,
}


def rrset_records(rrset: RRset) -> Iterator[tuple]:
    """An RRset as :func:`transfer_messages` records: (owner labels, type, class, TTL, RDATA)."""
    owner = rrset.name.labels
    for rdata in rrset:
        yield owner, rrset.rdtype, rrset.rdclass, rrset.ttl, rdata.to_wire()


def transfer_messages(request: Request, records: Iterable[tuple], per_message: int = 500,
                      max_size: int = 65535) -> Iterator[bytes]:
    """A zone transfer's messages (RFC 5936) answering ``request``: AA set, the question
    echoed, at most ``per_message`` records and ``max_size`` bytes each.

    ``records`` are (owner labels, type, class, TTL, RDATA wire); owner names are compressed
    within each message. A record too big for any message is a ValueError.
    """
    flags = QR | AA | (request.flags & RD)
    qd = request.question_wire
    start = 12 + len(qd)
    out: list[bytes] = []
    names = _Names(qd)
    size = start
    for owner, rdtype, rdclass, ttl, rdata in records:
        if len(out) >= per_message:
            yield HEADER.pack(request.id, flags, 1, len(out), 0, 0) + qd + b"".join(out)
            out, names, size = [], _Names(qd), start
        record = names.encode(owner, size) + RR_FIXED.pack(rdtype, rdclass, ttl, len(rdata))
        if size + len(record) + len(rdata) > max_size and out:
            yield HEADER.pack(request.id, flags, 1, len(out), 0, 0) + qd + b"".join(out)
            out, names, size = [], _Names(qd), start
            record = names.encode(owner, size) + RR_FIXED.pack(rdtype, rdclass, ttl,
                                                                len(rdata))
        record += rdata
        if size + len(record) > max_size:
            raise ValueError(f"a record of {len(record)} bytes does not fit a DNS message")
        out.append(record)
        size += len(record)
    if out:
        yield HEADER.pack(request.id, flags, 1, len(out), 0, 0) + qd + b"".join(out)
