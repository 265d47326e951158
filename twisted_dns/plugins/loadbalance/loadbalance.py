"""The *loadbalance* handler: reorders the records of the reply the chain below writes.

It wraps the writer (CoreDNS's ``LoadBalanceResponseWriter``): only NOERROR replies to
questions other than AXFR/IXFR are touched. Per section, records fall in four groups
(CNAME, address = A and AAAA, MX, the rest):

- ``round_robin`` (answer, authority, additional): CNAMEs, the rest, the addresses shuffled,
  the MX records shuffled;
- ``weighted`` (answer and additional, for A, AAAA and SRV questions, when there is an
  address): CNAMEs, the rest, the addresses with a weighted pick first, MX;
- ``prefer`` (answer and additional, after the policy): CNAMEs, the addresses inside the
  preferred subnets first (in the order the subnets are listed), MX, the rest.

Cheap by design: wire replies (forward, cache) are scanned with ``struct`` for their record
types, and decoded by dnspython only when a step would change something (two addresses or MX
records to shuffle, or groups out of order). Signed replies (TSIG, SIG(0)) are left alone.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from collections.abc import Callable, Sequence
from typing import Any

import dns.message
import dns.rdatatype
import dns.rrset
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin, IResponseWriter
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.plugins.loadbalance.weighted import Weights, parse_address
from twisted_dns.response import WrappingWriter
from twisted_dns.wire import (
    HEADER,
    RR_FIXED,
    TYPE_A,
    TYPE_AAAA,
    TYPE_AXFR,
    TYPE_CNAME,
    TYPE_IXFR,
    TYPE_MX,
    TYPE_OPT,
    TYPE_SIG,
    TYPE_SRV,
    TYPE_TKEY,
    TYPE_TSIG,
    Malformed,
    rcode,
    skip_name,
    skip_questions,
)

NAME = "loadbalance"

log = Logger(namespace=NAME)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: one record: an RRset holding one rdata
Record = dns.rrset.RRset

_ADDRESS = (TYPE_A, TYPE_AAAA)
_ANSWER, _AUTHORITY, _ADDITIONAL = 0, 1, 2

#: group ranks: the order a step leaves a section's groups in (address, MX, CNAME, rest)
_POLICY_RANKS = {TYPE_A: 2, TYPE_AAAA: 2, TYPE_MX: 3, TYPE_CNAME: 0}
_POLICY_REST = 1
_PREFER_RANKS = {TYPE_A: 1, TYPE_AAAA: 1, TYPE_MX: 2, TYPE_CNAME: 0}
_PREFER_REST = 3


def _in_order(types: Sequence[int], ranks: dict[int, int], rest: int) -> bool:
    last = 0
    for rtype in types:
        rank = ranks.get(rtype, rest)
        if rank < last:
            return False
        last = rank
    return True


def _split(records: list[Record]) -> tuple[list[Record], list[Record], list[Record],
                                            list[Record]]:
    cname: list[Record] = []
    address: list[Record] = []
    mx: list[Record] = []
    rest: list[Record] = []
    for record in records:
        rtype = record.rdtype
        if rtype == TYPE_CNAME:
            cname.append(record)
        elif rtype in _ADDRESS:
            address.append(record)
        elif rtype == TYPE_MX:
            mx.append(record)
        else:
            rest.append(record)
    return cname, address, mx, rest


class Balancer:
    """A policy (``round_robin`` or ``weighted``) and the preferred subnets, applied to a
    reply. ``rng`` is the randomness of ``round_robin`` (``weighted`` has its own)."""

    def __init__(self, weights: Weights | None = None, prefer: Sequence[Network] = (),
                 rng: random.Random | None = None) -> None:
        self.weights = weights
        self.prefer = list(prefer)
        self.rng = rng or random.Random()

    @property
    def policy(self) -> str:
        return "round_robin" if self.weights is None else "weighted"

    # -- deciding cheaply ------------------------------------------------------------------

    def _needed(self, qtype: int, sections: Sequence[Sequence[int]]) -> bool:
        """Would any step change sections holding records of these types?"""
        for index, types in enumerate(sections):
            if not types:
                continue
            addresses = sum(1 for rtype in types if rtype in _ADDRESS)
            if self.weights is None:
                if (addresses > 1 or sum(1 for rtype in types if rtype == TYPE_MX) > 1
                        or not _in_order(types, _POLICY_RANKS, _POLICY_REST)):
                    return True
            elif (index != _AUTHORITY and addresses and qtype in (TYPE_A, TYPE_AAAA, TYPE_SRV)
                  and (addresses > 1 or not _in_order(types, _POLICY_RANKS, _POLICY_REST))):
                return True
            if self.prefer and index != _AUTHORITY and (
                    addresses > 1 or not _in_order(types, _PREFER_RANKS, _PREFER_REST)):
                return True
        return False

    # -- reordering ------------------------------------------------------------------------

    def reorder(self, qtype: int, sections: list[list[Record]]) -> None:
        """Reorder the three sections (lists of one-record RRsets) in place."""
        for index, records in enumerate(sections):
            if self.weights is None:
                records[:] = self._round_robin(records)
            elif index != _AUTHORITY and qtype in (TYPE_A, TYPE_AAAA, TYPE_SRV):
                records[:] = self._weighted(records)
            if self.prefer and index != _AUTHORITY:
                records[:] = self._preferred(records)

    def _round_robin(self, records: list[Record]) -> list[Record]:
        cname, address, mx, rest = _split(records)
        self.rng.shuffle(address)
        self.rng.shuffle(mx)
        return cname + rest + address + mx

    def _weighted(self, records: list[Record]) -> list[Record]:
        cname, address, mx, rest = _split(records)
        if not address:
            return records
        top = self.weights.top([(record.name.to_text().lower(), parse_address(record[0].address))
                                for record in address])
        address[0], address[top] = address[top], address[0]
        return cname + rest + address + mx

    def _preferred(self, records: list[Record]) -> list[Record]:
        cname, address, mx, rest = _split(records)
        ips = [ipaddress.ip_address(record[0].address) for record in address]
        placed: list[int] = []
        for network in self.prefer:
            placed += [i for i, ip in enumerate(ips) if i not in placed and ip in network]
        unplaced = [i for i in range(len(address)) if i not in placed]
        return cname + [address[i] for i in placed + unplaced] + mx + rest

    # -- replies ---------------------------------------------------------------------------

    def apply(self, qtype: int, reply: bytes | dns.message.Message
              ) -> bytes | dns.message.Message:
        """The reply reordered (a Message), or ``reply`` itself when nothing would change."""
        if qtype in (TYPE_AXFR, TYPE_IXFR):
            return reply
        if isinstance(reply, dns.message.Message):
            return self._apply_message(qtype, reply)
        if len(reply) < 12 or rcode(reply):
            return reply
        types = _section_types(reply)
        if types is None or not self._needed(qtype, types):
            return reply
        try:
            message = dns.message.from_wire(reply, one_rr_per_rrset=True, ignore_trailing=True)
        except Exception as exc:
            log.debug("reply not reordered: {error}", error=exc)
            return reply
        self._reorder_message(qtype, message)
        return message

    def _apply_message(self, qtype: int, message: dns.message.Message
                       ) -> dns.message.Message:
        if message.rcode() != 0 or message.tsig is not None:
            return message
        types = [[rrset.rdtype for rrset in section for _ in rrset]
                 for section in (message.answer, message.authority, message.additional)]
        if self._needed(qtype, types):
            self._reorder_message(qtype, message)
        return message

    def _reorder_message(self, qtype: int, message: dns.message.Message) -> None:
        sections = [_one_per_record(section)
                    for section in (message.answer, message.authority, message.additional)]
        self.reorder(qtype, sections)
        message.answer, message.authority, message.additional = sections


def _one_per_record(section: list[dns.rrset.RRset]) -> list[Record]:
    """The section as one RRset per record (new objects: a plugin's RRsets stay untouched)."""
    records = []
    for rrset in section:
        if len(rrset) == 1:
            records.append(rrset)
            continue
        for rdata in rrset:
            record = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers)
            record.add(rdata, rrset.ttl)
            records.append(record)
    return records


def _section_types(data: bytes) -> list[list[int]] | None:
    """The record types of the answer, authority and additional sections (OPT left out);
    None for a signed or unreadable message."""
    try:
        _id, _flags, qd, an, ns, ar = HEADER.unpack_from(data)
        if an + ns + ar < 2:
            return None  # nothing to reorder
        off = skip_questions(data, 12, qd)
        sections: list[list[int]] = [[], [], []]
        bounds = (an, an + ns)
        for index in range(an + ns + ar):
            off = skip_name(data, off)
            rtype, _class, _ttl, rdlen = RR_FIXED.unpack_from(data, off)
            off += 10 + rdlen
            if rtype in (TYPE_TSIG, TYPE_TKEY, TYPE_SIG):
                return None
            if rtype != TYPE_OPT:
                section = 0 if index < bounds[0] else 1 if index < bounds[1] else 2
                sections[section].append(rtype)
        return sections if off <= len(data) else None
    except (IndexError, struct.error, Malformed):
        return None


@implementer(IResponseWriter)
class BalancingWriter(WrappingWriter):
    """Hands the reply, reordered, to the writer it wraps."""

    def __init__(self, writer: Any, balance: Callable[[int, Any], Any]) -> None:
        super().__init__(writer)
        self._balance = balance

    def write(self, reply: bytes | dns.message.Message) -> None:
        self.writer.write(self._balance(self.request.qtype, reply))


@implementer(IPlugin)
class LoadBalance:
    """Passes the query on with a writer that reorders the reply."""

    def __init__(self, next_plugin: Any, balancer: Balancer) -> None:
        self.next = next_plugin
        self.balancer = balancer

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer):  # noqa: N802 - the IPlugin contract
        return next_or_failure(NAME, self.next, request,
                               BalancingWriter(writer, self.balancer.apply))
