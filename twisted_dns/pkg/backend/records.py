"""Records as a backend answers them: owner text, type, TTL and RDATA already in wire form.

A :class:`Record` is what ``plugin/backend_lookup.go`` calls a ``dns.RR``: cheap to build from
a :class:`~twisted_dns.pkg.backend.service.Service`, compared as bytes (a duplicate CNAME is
one with the same target bytes), and written into a reply without dnspython
(:func:`reply`: ``wire.from_rrsets``, which compresses owner names; dnspython renders only a
reply too big for the client, to cut it as the writer does). Names inside RDATA are written
uncompressed. A name that cannot be written (a label over 63 octets, a name over 255) is a
:class:`BadName`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rrset

from twisted_dns import wire
from twisted_dns.response import render

TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_SOA, TYPE_PTR, TYPE_MX, TYPE_TXT = 1, 2, 5, 6, 12, 15, 16
TYPE_AAAA, TYPE_SRV = 28, 33
IN = 1
_SOA_FIXED = struct.Struct("!IIIII")
_SRV_FIXED = struct.Struct("!HHH")
_PREFERENCE = struct.Struct("!H")
#: the query flags a reply keeps: opcode, RD, CD
_ECHOED = 0x7800 | wire.RD | wire.CD


class BadName(ValueError):  # noqa: N818 - a reason, as wire.Malformed
    """A name that does not fit the wire format."""


class Record(NamedTuple):
    """One resource record: ``name`` is absolute presentation text, ``rdata`` wire."""

    name: str
    rdtype: int
    ttl: int
    rdata: bytes


#: name text -> (its wire form, its labels), for the names most answers repeat
_NAMES: dict[str, tuple[bytes, tuple[bytes, ...]]] = {}
_NAMES_MAX = 4096


def _name(text: str) -> tuple[bytes, tuple[bytes, ...]]:
    found = _NAMES.get(text)
    if found is not None:
        return found
    try:
        if "\\" in text or not text.isascii():
            labels = dns.name.from_text(text).labels
        else:
            labels = tuple(label.encode() for label in text.split(".")) if text != "." \
                else (b"",)
            if labels[-1] != b"":
                labels += (b"",)
            if any(not label for label in labels[:-1]):
                raise BadName(f"empty label in {text!r}")
        encoded = b"".join(bytes((len(label),)) + label for label in labels)
        if any(len(label) > 63 for label in labels) or len(encoded) > 255:
            raise BadName(f"name does not fit DNS: {text!r}")
    except dns.name.NameTooLong as exc:
        raise BadName(f"name does not fit DNS: {text!r}") from exc
    except dns.exception.DNSException as exc:
        raise BadName(f"bad name {text!r}: {exc}") from exc
    if len(_NAMES) >= _NAMES_MAX:
        _NAMES.clear()
    _NAMES[text] = found = (encoded, labels)
    return found


def name_wire(text: str) -> bytes:
    """``text`` (absolute) as uncompressed wire labels; :class:`BadName` when it cannot be."""
    return _name(text)[0]


def a(name: str, ttl: int, address: bytes) -> Record:
    return Record(name, TYPE_A if len(address) == 4 else TYPE_AAAA, ttl, address)


def cname(name: str, ttl: int, target: str) -> Record:
    return Record(name, TYPE_CNAME, ttl, name_wire(target))


def ptr(name: str, ttl: int, target: str) -> Record:
    return Record(name, TYPE_PTR, ttl, name_wire(target))


def ns(name: str, ttl: int, target: str) -> Record:
    return Record(name, TYPE_NS, ttl, name_wire(target))


def mx(name: str, ttl: int, preference: int, target: str) -> Record:
    return Record(name, TYPE_MX, ttl, _PREFERENCE.pack(preference & 0xFFFF) + name_wire(target))


def srv(name: str, ttl: int, priority: int, weight: int, port: int, target: str) -> Record:
    return Record(name, TYPE_SRV, ttl,
                  _SRV_FIXED.pack(priority & 0xFFFF, weight & 0xFFFF, port & 0xFFFF)
                  + name_wire(target))


def txt(name: str, ttl: int, strings: Iterable[bytes]) -> Record:
    return Record(name, TYPE_TXT, ttl, b"".join(bytes((len(s),)) + s for s in strings))


def soa(name: str, ttl: int, mname: str, rname: str, serial: int, refresh: int, retry: int,
        expire: int, minimum: int) -> Record:
    return Record(name, TYPE_SOA, ttl, name_wire(mname) + name_wire(rname) + _SOA_FIXED.pack(
        serial & 0xFFFFFFFF, refresh, retry, expire, minimum))


def from_message(message: dns.message.Message) -> list[Record]:
    """The answer section of a reply as records (what a lookup adds to an answer)."""
    return [Record(rrset.name.to_text(), rrset.rdtype, rrset.ttl, rdata.to_wire())
            for rrset in message.answer for rdata in rrset]


def to_rrset(record: Record) -> dns.rrset.RRset:
    """``record`` as dnspython holds it."""
    rdata = dns.rdata.from_wire(IN, record.rdtype, record.rdata, 0, len(record.rdata))
    return dns.rrset.from_rdata(dns.name.from_text(record.name), record.ttl, rdata)


def text(record: Record) -> str:
    """``record`` in presentation format (for logs and tests)."""
    return to_rrset(record).to_text()


def axfr_record(record: Record) -> tuple[tuple[bytes, ...], int, int, int, bytes]:
    """``record`` as ``wire.transfer_messages`` takes it."""
    return _name(record.name)[1], record.rdtype, IN, record.ttl, record.rdata


def _wire(record: Record) -> bytes:
    return wire.rr(name_wire(record.name), record.rdtype, IN, record.ttl, record.rdata)


def _wire_rrset(record: Record) -> wire.WireRRset:
    return wire.WireRRset(_name(record.name)[1], record.rdtype, IN, record.ttl, (record.rdata,))


def reply(request: Any, rcode: int, answer: Sequence[Record] = (),
          authority: Sequence[Record] = (), additional: Sequence[Record] = (),
          tc: bool = False) -> bytes:
    """The authoritative reply to ``request`` holding these records, within the client's
    size: when they do not all fit, the longest run of them that does, in order (the answer,
    the authority, the additional records), and TC when that leaves out some of the records
    the client needs (the answer, or the authority of a reply without one)."""
    sections = ([_wire_rrset(r) for r in answer], [_wire_rrset(r) for r in authority],
                [_wire_rrset(r) for r in additional])
    try:
        data = wire.from_rrsets(request, rcode, *sections, aa=True)
    except wire.TooBig:
        if request.edns_options:  # options to echo: dnspython renders (and cuts) that reply
            message = dns.message.from_wire(wire.reply(
                request, rcode, [_wire(r) for r in answer], [_wire(r) for r in authority],
                [_wire(r) for r in additional], aa=True, tc=tc))
            return render(request, message)
        data, cut = _fitted(request, rcode, *sections)
        tc = tc or cut
    if tc:
        data = data[:2] + bytes((data[2] | (wire.TC >> 8),)) + data[3:]
    return data


def _fitted(request: Any, rcode: int, *sections: list[wire.WireRRset]) -> tuple[bytes, bool]:
    """The reply with the most records that fits (found by halving: the size grows with
    the count), and whether it leaves out required ones."""
    records = [(index, record) for index, section in enumerate(sections) for record in section]
    required = len(sections[0]) or len(sections[1])

    def build(count: int) -> bytes | None:
        kept: tuple[list[wire.WireRRset], ...] = ([], [], [])
        for index, record in records[:count]:
            kept[index].append(record)
        try:
            return wire.from_rrsets(request, rcode, *kept, aa=True)
        except wire.TooBig:
            return None

    fits, too_many = 0, len(records)
    best = build(0)
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        data = build(middle)
        if data is None:
            too_many = middle
        else:
            fits, best = middle, data
    if best is None:  # not even the question fits: nothing a client could use
        raise wire.TooBig("no record fits")
    return best, fits < required
