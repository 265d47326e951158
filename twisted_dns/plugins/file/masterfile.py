"""A fast reader for RFC 1035 master files, for zones of millions of records.

dnspython's zone reader builds a ``Name``, an ``Rdata`` and an ``RRset`` for every record, at
about 150 us a record: ten minutes for a zone BIND loads in seconds. This reader checks each
record as strictly, but keeps the common ones as text until a query needs them:

* A and AAAA addresses are checked by ``inet_pton``; NS, CNAME, PTR, DNAME, MX, SRV, TXT and
  SPF are checked field by field (numbers in range, names of plain labels within length,
  strings within 255 bytes); each is kept as the absolute text of its RDATA;
* every other record (SOA, DNSSEC types, anything with an escape or an unusual name) is parsed
  by dnspython at once, exactly as its zone reader would, and kept as an ``Rdata``;
* owners are kept as lower-case text, as ``Zone`` indexes them.

``Zone`` turns a name's records into dnspython RRsets the first time a lookup reads it
(:func:`name` and :func:`rdata` make the objects).
Directives and TTL rules are dnspython's (``$ORIGIN``, ``$TTL``, the last stated TTL, the
SOA MINIMUM before any ``$TTL``); a file using ``$INCLUDE``, ``$GENERATE`` or ``$UNICODE``,
or quotes or escapes before the RDATA, is left to dnspython's reader (``read`` returns
None). Errors are :class:`~twisted_dns.plugins.file.zonefile.ZoneError` with the record's
first line. :func:`wire_records` turns a name's records to wire without making objects (for
answers and transfers of names no lookup has read).
"""

from __future__ import annotations

import contextlib
import gc
import re
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import dns.exception
import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.DNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rdtypes.IN.SRV
import dns.ttl

from twisted_dns.plugins.file.zonefile import ZoneError

IN = 1
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, SPF = 1, 2, 5, 6, 12, 15, 16, 28, 33, 99
DNAME, RRSIG, NSEC = 39, 46, 47
#: owners the zone index needs to know without reading records
INDEXED_TYPES = (NS, DNAME, NSEC, RRSIG)

#: how many leading bytes of a type's RDATA are numbers (the rest a name, compared in any case)
_NUMBERS_BEFORE_NAME = {NS: 0, CNAME: 0, PTR: 0, DNAME: 0, MX: 2, SRV: 6}

#: directives this reader leaves to dnspython's
_HANDED_OVER = ("$INCLUDE", "$GENERATE", "$UNICODE")
#: a name of plain labels (a leading ``*`` label allowed), relative or absolute
_PLAIN_NAME = re.compile(r"(?:\*\.)?(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?|\*")
#: one token of a line with quotes, comments, parentheses or escapes
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|;.*|[()]|(?:[^\s"();\\]|\\.?)+|"')
#: what makes a line need :data:`_TOKEN` instead of ``str.split``
_SPECIAL = re.compile(r'["();\\]')
_NEUTRAL_KIND = dns.node.NodeKind.NEUTRAL
_MALFORMED = "Text input is malformed."
#: what :meth:`_Reader._type` says of the class IN
_CLASS = -1


class RawZone(NamedTuple):
    """What :func:`read` found.

    ``nodes``: owner (lower-case absolute text) -> ``[display, record, ...]`` where display
    is the owner as written when it differs from the key (else None) and each record is
    ``(rdtype, ttl, data)``, ``data`` the absolute RDATA text or a dnspython ``Rdata``;
    ``owners``: for each of :data:`INDEXED_TYPES`, the owners holding that type.
    """

    nodes: dict[str, list]
    owners: dict[int, set[str]]


class _HandOverError(Exception):
    """The file needs dnspython's reader."""


def read(text: str, origin: dns.name.Name, filename: str) -> RawZone | None:
    """Read master-file ``text`` for zone ``origin``; None when dnspython must read it."""
    try:
        with collector_paused():
            return _Reader(origin, filename).read(text)
    except _HandOverError:
        return None


def rdata(rdtype: int, data: str | dns.rdata.Rdata) -> dns.rdata.Rdata:
    """A record as :func:`read` kept it (checked text, or parsed) as an Rdata."""
    if type(data) is not str:
        return data
    make = _MAKERS.get(rdtype)
    return make(rdtype, data) if make else dns.rdata.from_text(IN, rdtype, data)


def rdata_wire(rdtype: int, data: str | dns.rdata.Rdata) -> bytes:
    """A record as :func:`read` kept it, in wire form (uncompressed), without an Rdata."""
    if type(data) is not str:
        return data.to_wire()
    write = _WIRE_WRITERS.get(rdtype)
    return write(data) if write else rdata(rdtype, data).to_wire()


def name_wire(text: str) -> bytes:
    """An absolute name as :func:`read` kept it, in wire form."""
    return b"".join(bytes((len(label),)) + label for label in labels(text))


def name(text: str) -> dns.name.Name:
    """An absolute name as :func:`read` kept it (a key or a display text) as a Name."""
    return dns.name.Name(labels(text))


def labels(text: str) -> tuple[bytes, ...]:
    """The labels of an absolute name as :func:`read` kept it, the root's empty one last."""
    if "\\" in text or text == ".":
        return dns.name.from_text(text).labels
    return tuple(label.encode() for label in text.split("."))


def wire_records(node: list, key: str) -> list[tuple]:
    """A node of :func:`read` (the name ``key``'s records) as (owner labels, type, class,
    TTL, RDATA wire): by type, each type's TTL its lowest (as an RRset's), duplicates once."""
    owner = labels(node[0] or key)
    by_type: dict[int, tuple[list[int], dict[object, bytes]]] = {}
    for rdtype, ttl, data in node[1:]:
        ttls, datas = by_type.setdefault(rdtype, ([], {}))
        ttls.append(ttl)
        wire = rdata_wire(rdtype, data)
        skip = _NUMBERS_BEFORE_NAME.get(rdtype)
        same = data if type(data) is not str else (
            wire if skip is None else wire[:skip] + wire[skip:].lower())
        datas.setdefault(same, wire)
    return [(owner, rdtype, IN, min(ttls), wire)
            for rdtype, (ttls, datas) in sorted(by_type.items()) for wire in datas.values()]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: a load makes millions of objects, none of
    them in a cycle, and the collector would scan the growing heap again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Reader:
    """One pass over a file; the state is dnspython's ``Reader``'s."""

    def __init__(self, origin: dns.name.Name, filename: str) -> None:
        self.filename = filename
        self.zone_key = origin.to_text().lower()
        self.zone_suffix = "." + self.zone_key
        self.origin = origin
        self.origin_text = origin.to_text()
        self.default_ttl: int | None = None
        self.default_ttl_from_soa = False
        self.last_ttl: int | None = None
        #: (key, display) of the owner a line starting with a blank has: at first the origin
        self.last_owner = (self.zone_key, None if self.zone_key == self.origin_text
                           else self.origin_text)
        self.nodes: dict[str, list] = {}
        self.owners: dict[int, set[str]] = {rdtype: set() for rdtype in INDEXED_TYPES}
        #: token -> its type (or ``_CLASS``), as far as seen
        self.types: dict[str, int] = {"IN": _CLASS, "A": A, "AAAA": AAAA}
        self.lineno = 0

    def fail(self, reason: str) -> Exception:
        return ZoneError(reason, self.filename, self.lineno)

    def read(self, text: str) -> RawZone:
        lines = text.split("\n")
        count = len(lines)
        i = 0
        special = _SPECIAL.search
        while i < count:
            line = lines[i]
            i += 1
            self.lineno = i
            if special(line) is None:
                fields = line.split()
            else:
                fields, i = self._tokens(lines, i - 1)
            if not fields:
                continue
            leading = line[0] in " \t"
            if not leading and fields[0][0] == "$":
                self._directive(fields)
            else:
                self._record(fields, leading)
        return RawZone(self.nodes, self.owners)

    def _tokens(self, lines: list[str], i: int) -> tuple[list[str], int]:
        """The tokens of the record starting at line ``i`` (parentheses join lines);
        quoted strings keep their quotes and escapes, for dnspython to read again."""
        tokens: list[str] = []
        depth = 0
        while True:
            for token in _TOKEN.findall(lines[i]):
                first = token[0]
                if first == ";":
                    break
                if first == "(":
                    depth += 1
                elif first == ")":
                    depth -= 1
                    if depth < 0:
                        raise self.fail("unbalanced parentheses")
                elif token == '"':
                    raise self.fail("unbalanced quotes")
                else:
                    tokens.append(token)
            i += 1
            if depth == 0:
                return tokens, i
            if i >= len(lines):
                raise self.fail("unbalanced parentheses")

    def _directive(self, fields: list[str]) -> None:
        word = fields[0].upper()
        if word == "$TTL":
            if len(fields) != 2:
                raise self.fail("bad $TTL")
            self.default_ttl = self._ttl(fields[1], strict=True)
            self.default_ttl_from_soa = False
        elif word == "$ORIGIN":
            if len(fields) != 2:
                raise self.fail(_MALFORMED)
            self.origin = self._name(fields[1])
            self.origin_text = self.origin.to_text()
        elif word in _HANDED_OVER:
            raise _HandOverError
        else:
            raise self.fail(f"zone file directive '{word}' is not allowed")

    def _ttl(self, token: str, strict: bool = False) -> int | None:
        """The TTL ``token`` stands for; None when it is not one (unless ``strict``)."""
        if token.isdigit() and len(token) < 10:
            return int(token)
        if not strict and not token[0].isdigit():
            return None
        try:
            return dns.ttl.from_text(token)
        except dns.ttl.BadTTL as e:
            if strict:
                raise self.fail(str(e)) from None
            return None

    def _name(self, token: str) -> dns.name.Name:
        if '"' in token or "\\" in token:
            raise _HandOverError
        try:
            return dns.name.from_text(token, self.origin)
        except dns.exception.DNSException as e:
            raise self.fail(str(e)) from None

    def _absolute(self, token: str) -> str | None:
        """``token`` as absolute text when it is a plain name that fits; else None."""
        if token == "@":
            return self.origin_text
        if _PLAIN_NAME.fullmatch(token) is None:
            return None
        if token[-1] != ".":
            token = f"{token}.{self.origin_text}" if self.origin_text != "." else token + "."
        return token if len(token) < 255 else None

    def _owner(self, token: str) -> tuple[str, str | None]:
        """(key, display) of an owner written as ``token``."""
        name = self._absolute(token)
        if name is None:
            name = self._name(token).to_text()
        key = name.lower()
        return key, (None if key == name else name)

    def _record(self, fields: list[str], leading: bool) -> None:
        if leading:
            pos = 0
        else:
            self.last_owner = self._owner(fields[0])
            pos = 1
        key, display = self.last_owner
        if not key.endswith(self.zone_suffix) and key != self.zone_key and self.zone_key != ".":
            return  # outside the zone: skipped, as dnspython's reader does
        size = len(fields)
        if pos >= size:
            raise self.fail(_MALFORMED)
        ttl = self._ttl(fields[pos])
        if ttl is not None:
            self.last_ttl = ttl
            pos += 1
        rdtype = self._type(fields, pos, size)
        if rdtype == _CLASS:  # IN; a TTL may follow
            pos += 1
            if ttl is None and pos < size:
                ttl = self._ttl(fields[pos])
                if ttl is not None:
                    self.last_ttl = ttl
                    pos += 1
            rdtype = self._type(fields, pos, size)
            if rdtype == _CLASS:
                raise self.fail(f"unknown rdatatype '{fields[pos]}'")
        if ttl is None:
            ttl = self._implicit_ttl()
        data = self._rdata(rdtype, fields[pos + 1:])
        if rdtype == SOA and self.default_ttl is None:
            self.default_ttl = data.minimum
            self.default_ttl_from_soa = True
            if ttl is None:
                ttl = self._implicit_ttl()
        if ttl is None:
            raise self.fail("Missing default TTL value")
        self._add(key, display, rdtype, ttl, data)

    def _type(self, fields: list[str], pos: int, size: int) -> int:
        """The type at ``fields[pos]``, or ``_CLASS`` for the class IN (another class is an
        error, as in dnspython)."""
        if pos >= size:
            raise self.fail(_MALFORMED)
        token = fields[pos]
        rdtype = self.types.get(token)
        if rdtype is not None:
            return rdtype
        try:
            rdclass = dns.rdataclass.from_text(token)
        except dns.exception.SyntaxError as e:
            raise self.fail(str(e)) from None
        except Exception:
            pass
        else:
            if rdclass != IN:
                raise self.fail("RR class is not zone's class")
            self.types[token] = _CLASS
            return _CLASS
        try:
            rdtype = self.types[token] = int(dns.rdatatype.from_text(token))
        except Exception:
            raise self.fail(f"unknown rdatatype '{token}'") from None
        return rdtype

    def _implicit_ttl(self) -> int | None:
        if self.last_ttl is not None and (self.default_ttl is None
                                          or self.default_ttl_from_soa):
            return self.last_ttl
        return self.default_ttl

    def _rdata(self, rdtype: int, fields: list[str]) -> Any:
        """The RDATA as absolute text when cheaply checked, else dnspython's ``Rdata``."""
        check = _CHECKS.get(rdtype)
        if check is not None:
            text = check(self, fields)
            if text is not None:
                return text
        try:
            return dns.rdata.from_text(IN, rdtype, " ".join(fields), self.origin,
                                       relativize=False)
        except dns.exception.SyntaxError as e:
            raise self.fail(str(e)) from None
        except Exception as e:
            raise self.fail(f"caught exception {type(e)}: {e}") from None

    def _add(self, key: str, display: str | None, rdtype: int, ttl: int, data: Any) -> None:
        node = self.nodes.get(key)
        record = (rdtype, ttl, data)
        if node is None:
            self.nodes[key] = [display, record]
        else:
            self._check_kind(key, node, rdtype, data)
            node.append(record)
        if rdtype in self.owners:
            self.owners[rdtype].add(key)

    def _check_kind(self, key: str, node: list, rdtype: int, data: Any) -> None:
        """A CNAME and other data at one name is an error (dnspython's rule, and BIND's)."""
        kind = _kind(rdtype, data)
        if kind is _NEUTRAL_KIND:
            return
        for other, _, other_data in node[1:]:
            known = _kind(other, other_data)
            if known is not _NEUTRAL_KIND and known is not kind:
                raise self.fail(f"{node[0] or key} has a CNAME and other data")


def _address(family: int) -> Callable[[_Reader, list[str]], str | None]:
    def check(reader: _Reader, fields: list[str]) -> str | None:
        if len(fields) == 1:
            try:
                socket.inet_pton(family, fields[0])
            except (OSError, ValueError):
                return None
            return fields[0]
        return None
    return check


def _numbers_then_name(numbers: int) -> Callable[[_Reader, list[str]], str | None]:
    """RDATA of ``numbers`` 16-bit numbers and a name (NS, CNAME... MX, SRV)."""
    def check(reader: _Reader, fields: list[str]) -> str | None:
        if len(fields) != numbers + 1 or not all(_is_u16(f) for f in fields[:numbers]):
            return None
        target = reader._absolute(fields[numbers])
        if target is None:
            return None
        return " ".join((*fields[:numbers], target))
    return check


def _strings(reader: _Reader, fields: list[str]) -> str | None:
    if fields and all(_is_plain_string(field) for field in fields):
        return " ".join(fields)
    return None


#: rdtype -> a check of its fields returning the absolute RDATA text, or None when dnspython
#: must read (or reject) them
_CHECKS: dict[int, Callable[[_Reader, list[str]], str | None]] = {
    A: _address(socket.AF_INET), AAAA: _address(socket.AF_INET6),
    NS: _numbers_then_name(0), CNAME: _numbers_then_name(0), PTR: _numbers_then_name(0),
    DNAME: _numbers_then_name(0), MX: _numbers_then_name(1), SRV: _numbers_then_name(3),
    TXT: _strings, SPF: _strings,
}


def _make_target(rdtype: int, text: str) -> dns.rdata.Rdata:
    return _CLASSES[rdtype](IN, rdtype, name(text))


def _make_mx(rdtype: int, text: str) -> dns.rdata.Rdata:
    preference, target = text.split()
    return dns.rdtypes.ANY.MX.MX(IN, rdtype, int(preference), name(target))


def _make_srv(rdtype: int, text: str) -> dns.rdata.Rdata:
    priority, weight, port, target = text.split()
    return dns.rdtypes.IN.SRV.SRV(IN, rdtype, int(priority), int(weight), int(port),
                                  name(target))


_CLASSES: dict[int, Any] = {
    A: dns.rdtypes.IN.A.A, AAAA: dns.rdtypes.IN.AAAA.AAAA, NS: dns.rdtypes.ANY.NS.NS,
    CNAME: dns.rdtypes.ANY.CNAME.CNAME, PTR: dns.rdtypes.ANY.PTR.PTR,
    DNAME: dns.rdtypes.ANY.DNAME.DNAME,
}
#: rdtype -> how the text :data:`_CHECKS` kept becomes an Rdata, quicker than from_text
_MAKERS: dict[int, Callable[[int, str], dns.rdata.Rdata]] = {
    A: lambda rdtype, text: dns.rdtypes.IN.A.A(IN, rdtype, text),
    AAAA: lambda rdtype, text: dns.rdtypes.IN.AAAA.AAAA(IN, rdtype, text),
    NS: _make_target, CNAME: _make_target, PTR: _make_target, DNAME: _make_target,
    MX: _make_mx, SRV: _make_srv,
}


def _numbers_then_name_wire(numbers: int) -> Callable[[str], bytes]:
    layout = struct.Struct("!" + "H" * numbers)

    def write(text: str) -> bytes:
        *values, target = text.split()
        return layout.pack(*map(int, values)) + name_wire(target)
    return write


def _strings_wire(text: str) -> bytes:
    out = []
    for token in _TOKEN.findall(text):
        raw = (token[1:-1] if token[0] == '"' else token).encode()
        out.append(bytes((len(raw),)) + raw)
    return b"".join(out)


#: rdtype -> the wire form of the text :data:`_CHECKS` kept
_WIRE_WRITERS: dict[int, Callable[[str], bytes]] = {
    A: lambda text: socket.inet_pton(socket.AF_INET, text),
    AAAA: lambda text: socket.inet_pton(socket.AF_INET6, text),
    NS: name_wire, CNAME: name_wire, PTR: name_wire, DNAME: name_wire,
    MX: _numbers_then_name_wire(1), SRV: _numbers_then_name_wire(3),
    TXT: _strings_wire, SPF: _strings_wire,
}


def _kind(rdtype: int, data: Any) -> dns.node.NodeKind:
    covers = data.covers() if rdtype == RRSIG else 0
    return dns.node.NodeKind.classify(rdtype, covers)


def _is_u16(text: str) -> bool:
    return text.isdigit() and int(text) < 65536


def _is_plain_string(field: str) -> bool:
    """A character-string dnspython reads back unchanged: no escapes, at most 255 bytes."""
    if "\\" in field:
        return False
    if field[0] == '"':
        field = field[1:-1]
    return len(field) <= 255 and (field.isascii() or len(field.encode()) <= 255)
