"""A rendered template as one resource record, as miekg/dns's ``NewRR`` reads it.

``OWNER [TTL] [CLASS] TYPE RDATA`` in zone-file syntax (parentheses and comments allowed, TTL
and class in either order): names are absolute from the root, the TTL defaults to 3600 and the
class to IN. As ``NewRR``, only the first record of the text is read. Parsed records are kept
by text, since most templates render the same few strings again and again, together with
their wire form, so a reply is put together from bytes without dnspython.
"""

from __future__ import annotations

from typing import NamedTuple

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.ttl

from twisted_dns import wire

DEFAULT_TTL = 3600
_CACHE_MAX = 4096


class RRError(ValueError):
    """The text is not a resource record."""


class Records(NamedTuple):
    """An RRset and its records in wire form (one ``bytes`` per record, names uncompressed).

    Shared between queries: never changed.
    """

    rrset: dns.rrset.RRset
    wire: tuple[bytes, ...]

    @classmethod
    def of(cls, rrset: dns.rrset.RRset) -> Records:
        owner = rrset.name.to_wire()
        return cls(rrset, tuple(wire.rr(owner, rrset.rdtype, rrset.rdclass, rrset.ttl,
                                         rdata.to_wire()) for rdata in rrset))


_cache: dict[str, Records] = {}


def parse_rr(text: str) -> Records:
    """The record ``text`` describes; raises :class:`RRError`."""
    records = _cache.get(text)
    if records is None:
        records = Records.of(_parse(text))
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[text] = records
    return records


def _parse(text: str) -> dns.rrset.RRset:
    try:
        tok = dns.tokenizer.Tokenizer(text)
        owner = tok.get()
        if owner.is_eol_or_eof():
            raise RRError("empty resource record")
        name = dns.name.from_text(owner.value, origin=dns.name.root)
        ttl, rdclass = DEFAULT_TTL, dns.rdataclass.IN
        word = tok.get_string()
        for _ in range(2):
            if word[:1].isdigit():
                ttl = dns.ttl.from_text(word)
            else:
                try:
                    rdclass = dns.rdataclass.from_text(word)
                except dns.rdataclass.UnknownRdataclass:
                    break
            word = tok.get_string()
        rdtype = dns.rdatatype.from_text(word)
        rdata = dns.rdata.from_text(rdclass, rdtype, tok, origin=dns.name.root,
                                    relativize=False)
    except RRError:
        raise
    except (dns.exception.DNSException, ValueError) as exc:
        raise RRError(f"{text!r}: {exc}") from None
    rrset = dns.rrset.RRset(name, rdclass, rdtype)
    rrset.add(rdata, ttl)
    return rrset
