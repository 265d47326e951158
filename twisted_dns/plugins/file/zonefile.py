"""Reading a zone file: its errors (:class:`ZoneError`) and dnspython's reader for what
:mod:`.masterfile` leaves to it (``$INCLUDE``, ``$GENERATE``, escapes before the RDATA).

``text_of(path)`` reads a file, its relative ``$INCLUDE`` paths made relative to its folder;
``rrsets(text, origin, filename)`` reads text with dnspython into fresh RRsets. Both raise
:class:`ZoneError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import dns.exception
import dns.name
import dns.node
import dns.rdataclass
import dns.rrset
import dns.tokenizer
import dns.zonefile

_WHERE = re.compile(r"^(?P<file>.*):(?P<line>\d+): (?P<reason>.*)$", re.DOTALL)
_INCLUDE = re.compile(r'^(\$INCLUDE[ \t]+)("[^"]*"|[^ \t;\r\n]+)', re.IGNORECASE | re.MULTILINE)


class ZoneError(ValueError):
    """A zone that cannot be loaded; the text says where (``FILE:LINE: why``).

    ``file``, ``line`` (None when unknown) and ``reason`` hold the parts.
    """

    def __init__(self, reason: str, file: str, line: int | None = None) -> None:
        super().__init__(f"{file}:{line}: {reason}" if line is not None else f"{file}: {reason}")
        self.reason = reason
        self.file = file
        self.line = line


def text_of(path: str) -> str:
    """The zone file's text; a relative ``$INCLUDE`` is read from the file's folder."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ZoneError(str(e.strerror if isinstance(e, OSError) else e), path) from None
    return _includes_from(text, os.path.dirname(path))


def rrsets(text: str, origin: dns.name.Name, filename: str) -> Iterable[dns.rrset.RRset]:
    """Master-file text read by dnspython: one fresh RRset per (owner, type, covered type)."""
    collector = _Collector(origin)
    try:
        dns.zonefile.Reader(_Tokenizer(text, filename), dns.rdataclass.IN, collector,
                            allow_include=True).read()
    except dns.exception.SyntaxError as e:
        # dnspython's text is FILE:LINE: message
        where = _WHERE.match(str(e))
        if where is None:
            raise ZoneError(str(e), filename) from None
        raise ZoneError(where["reason"], where["file"], int(where["line"])) from None
    except (dns.exception.DNSException, OSError, KeyError) as e:
        raise ZoneError(str(e), filename) from None
    return collector.rrsets.values()


class _Tokenizer(dns.tokenizer.Tokenizer):
    """dnspython's tokenizer, reporting errors on the line of the last token read.

    dnspython counts a newline as soon as it reads it, even when it only looked at it to end
    a token, so an error in the last field of a line was reported one line below.
    """

    _after_eol = False

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        token = super().get(want_leading, want_comment)
        self._after_eol = token.ttype == dns.tokenizer.EOL and token.value == "\n"
        return token

    def where(self) -> tuple[str, int]:
        filename, line = super().where()
        if self.ungotten_char == "\n" or self._after_eol:
            line -= 1
        return filename, line


class _Collector:
    """What ``dns.zonefile.Reader`` needs of a transaction, filing records straight into RRsets.

    dnspython's zone transaction validates, copies and re-hashes every record several times
    (most of a big zone's load time); this keeps one RRset per (owner, type, covered type),
    with TTLs minimized as dnspython does (the Reader itself skips names outside the zone). A
    CNAME with other data raises a SyntaxError, which the Reader reports at its line.
    """

    _NEUTRAL = dns.node.NodeKind.NEUTRAL

    def __init__(self, origin: dns.name.Name) -> None:
        self.origin = origin
        self.manager = self
        self.rrsets: dict[tuple[dns.name.Name, int, int], dns.rrset.RRset] = {}
        #: owner -> the kind of its data so far (CNAME or REGULAR; NEUTRAL types not noted)
        self._kinds: dict[dns.name.Name, dns.node.NodeKind] = {}

    def origin_information(self) -> tuple[dns.name.Name, bool, dns.name.Name]:
        return self.origin, False, self.origin

    def check_put_rdataset(self, check) -> None:
        """The Reader's CNAME check: done in :meth:`add`, where the line is known."""

    def _set_origin(self, origin: dns.name.Name) -> None:
        """``$ORIGIN`` changes names, not the zone."""

    def add_unicode(self, attribute: str) -> None:
        """``$UNICODE``: the Reader switches its IDNA codec itself; nothing to keep."""

    def add(self, name: dns.name.Name, ttl: int, rdata) -> None:
        covers = rdata.covers()
        key = (name, rdata.rdtype, covers)
        rrset = self.rrsets.get(key)
        if rrset is None:
            kind = dns.node.NodeKind.classify(rdata.rdtype, covers)
            if kind is not self._NEUTRAL:
                known = self._kinds.setdefault(name, kind)
                if known is not kind:
                    raise dns.exception.SyntaxError(f"{name} has a CNAME and other data")
            rrset = self.rrsets[key] = dns.rrset.RRset(name, rdata.rdclass, rdata.rdtype,
                                                       covers)
        rrset.add(rdata, ttl)


def _includes_from(text: str, folder: str) -> str:
    """Rewrite relative ``$INCLUDE`` paths so they are read from ``folder`` (as CoreDNS)."""
    def absolute(match: re.Match) -> str:
        path = match.group(2)
        quoted = path.startswith('"')
        bare = path[1:-1] if quoted else path
        if os.path.isabs(bare):
            return match.group(0)
        full = os.path.join(folder, bare)
        return match.group(1) + (f'"{full}"' if quoted else full)
    return _INCLUDE.sub(absolute, text)
