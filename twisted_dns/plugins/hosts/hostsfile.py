"""Reading hosts(5) text into ready-made answers.

A line is ``ADDRESS NAME [NAME...]`` with ``#`` comments, as Go's ``net`` package (and CoreDNS)
read it: lines with fewer than two fields or an unparsable address are skipped, an IPv6 zone
(``fe80::1%eth0``) is dropped, an IPv4-mapped IPv6 address counts as IPv4, names are
lower-cased and made absolute, and names outside the plugin's zones are ignored.

:class:`Table` holds every answer as wire records whose owner is a pointer to the question
name, so a query only looks up a dict and joins bytes. Lookups combine the file's entries and
the inline ones (file first), exactly as CoreDNS concatenates its two maps.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.reversename

from twisted_dns import wire
from twisted_dns.names import longest_match

_A = int(dns.rdatatype.A)
_AAAA = int(dns.rdatatype.AAAA)
_PTR = int(dns.rdatatype.PTR)
_IN = int(dns.rdataclass.IN)


@dataclass
class Entries:
    """The parsed lines of one source (the file or the inline block), in order."""

    #: name -> addresses, as packed bytes (4 or 16)
    v4: dict[str, list[bytes]] = field(default_factory=dict)
    v6: dict[str, list[bytes]] = field(default_factory=dict)
    #: reverse name (``1.0.0.10.in-addr.arpa.``) -> host names
    ptr: dict[str, list[str]] = field(default_factory=dict)

    def count(self) -> int:
        """Addresses per name plus names per address, as CoreDNS's ``Map.Len`` counts."""
        return sum(len(values) for table in (self.v4, self.v6, self.ptr)
                   for values in table.values())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _absolute(name: str) -> str | None:
    """``name`` lower-case and absolute, or None when it is not a valid DNS name."""
    name = name.lower()
    if not name.endswith("."):
        name += "."
    if not name.isascii():  # raw UTF-8 octets, written as a query for them reads (\DDD)
        name = "".join(c if c.isascii() else "".join(f"\\{b:03d}" for b in c.encode())
                       for c in name)
    if "\\" in name:  # escapes: let dnspython judge (rare)
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException:
            return None
        return name
    if len(name) > 254 or not all(0 < len(label) < 64 for label in name[:-1].split(".")):
        return None
    return name


def _host_wire(name: str) -> bytes:
    """A host name (checked by :func:`_absolute`) in wire form."""
    if "\\" in name:
        return dns.name.from_text(name).to_wire()
    return wire.name(name)


def parse(text: str, origins: Sequence[str], reverse: bool = True) -> Entries:
    """The entries of hosts(5) ``text`` for names under ``origins``."""
    entries = Entries()
    every_name = "." in origins
    # block lists repeat one address many times: parse it and its reverse name once
    addresses: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None] = {}
    reverse_names: dict[bytes, str] = {}
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) < 2:
            continue
        address = addresses.get(fields[0], False)
        if address is False:
            address = addresses[fields[0]] = _address(fields[0])
        if address is None:
            continue
        by_name = entries.v4 if address.version == 4 else entries.v6
        packed = address.packed
        for raw in fields[1:]:
            name = _absolute(raw)
            if name is None or not (every_name or longest_match(origins, name)):
                continue
            by_name.setdefault(name, []).append(packed)
            if reverse and not name.startswith("*."):
                rev = reverse_names.get(packed)
                if rev is None:
                    rev = reverse_names[packed] = dns.reversename.from_address(
                        str(address)).to_text().lower()
                entries.ptr.setdefault(rev, []).append(name)
    return entries


class Table:
    """Precomputed answers for the union of the file's and the inline entries.

    Address records are built once per distinct address (the owner is a pointer to the
    question, so the same bytes serve every name); PTR answers, which a block list can make
    huge (one address, every name), are built on first use.
    """

    __slots__ = ("_ptr", "_ptr_names", "_ttl", "a", "aaaa", "names")

    def __init__(self, sources: Iterable[Entries], ttl: int) -> None:
        self.a: dict[str, tuple[bytes, ...]] = {}
        self.aaaa: dict[str, tuple[bytes, ...]] = {}
        self._ptr_names: dict[str, list[str]] = {}
        self._ptr: dict[str, tuple[bytes, ...]] = {}
        self._ttl = ttl
        for entries in sources:
            _extend(self.a, entries.v4, _A, ttl)
            _extend(self.aaaa, entries.v6, _AAAA, ttl)
            for rev, hosts in entries.ptr.items():
                self._ptr_names.setdefault(rev, []).extend(hosts)
        #: every name with an address of either family (wildcard owners included)
        self.names = frozenset(self.a) | frozenset(self.aaaa)

    def ptr(self, qname: str) -> tuple[bytes, ...]:
        """The PTR records of a reverse name (empty when its address has no entry)."""
        records = self._ptr.get(qname)
        if records is None:
            records = self._ptr[qname] = tuple(
                wire.rr(wire.QNAME_POINTER, _PTR, _IN, self._ttl, _host_wire(host))
                for host in self._ptr_names.get(qname, ()))
        return records

    def owner(self, qname: str) -> str | None:
        """The entry answering ``qname``: the name itself, else a ``*.`` one label up.

        As a zone's wildcard: an existing name (with either family) never uses the
        wildcard, and ``*.example.com`` matches neither ``example.com`` nor names two
        labels below it.
        """
        if qname in self.names:
            return qname
        parent = qname.partition(".")[2]
        if parent:
            star = "*." + parent
            if star in self.names:
                return star
        return None


def _extend(table: dict[str, tuple[bytes, ...]], source: dict[str, list[bytes]], rdtype: int,
            ttl: int) -> None:
    made: dict[bytes, bytes] = {}
    for name, addresses in source.items():
        records = []
        for packed in addresses:
            record = made.get(packed)
            if record is None:
                record = made[packed] = wire.rr(wire.QNAME_POINTER, rdtype, _IN, ttl, packed)
            records.append(record)
        table[name] = table.get(name, ()) + tuple(records)
