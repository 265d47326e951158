"""The differential harness: one Corefile served by CoreDNS and by pydns, the same query bytes
sent to both, the replies compared field by field.

    pair = yield serve_both(self, corefile, environ={"ZONES": ZONES_DIR})
    report = yield pair.compare(queries)        # [] when every reply agrees
    self.assertEqual(report, [], "\\n".join(report))

Each query is sent to pydns and then to CoreDNS from the same client socket (UDP) or from
the same client port (TCP), so even ``whoami`` answers alike. A reply is reduced to
:func:`summary`: the header (ID, opcode, rcode, every flag), the question and every section as
text with the owner names' case kept (RRsets sorted, records sorted within them, so record
order does not count), EDNS (version, payload size, DO, options in order), and ``None`` for no
reply. Differences we keep on purpose are :class:`Known` (documented in docs/differences.md):
the field they name is not compared for the queries they match, and a Known that no query
shows any more is itself reported, so the list cannot go stale.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
from twisted.internet import defer, threads

from twisted_dns.errors import ConfigError
from twisted_dns.testing import RunningServer, free_port, start_server
from twisted_dns.testing.peers import CoreDNSServer

#: seconds a server has to reply before "no reply" is its answer
REPLY_TIMEOUT = 1.5


@dataclasses.dataclass(frozen=True)
class Query:
    """Query bytes, how to send them, and a label for the report."""

    wire: bytes
    label: str
    proto: str = "udp"

    @classmethod
    def make(cls, name: str, rdtype: str = "A", rdclass: str = "IN", proto: str = "udp",
             **make_query: Any) -> Query:
        """A query built by dnspython (``use_edns``, ``payload``, ``want_dnssec``, ``options``,
        ``id``...). The ID is fixed so that both servers see the very same bytes."""
        make_query.setdefault("id", 4242)
        message = dns.message.make_query(name, rdtype, rdclass, **make_query)
        edns = f" edns{message.edns}/{message.payload}" if message.edns >= 0 else ""
        return cls(message.to_wire(), f"{name} {rdclass} {rdtype}{edns} {proto}", proto)

    def over(self, proto: str) -> Query:
        """The same bytes over another transport."""
        return Query(self.wire, re.sub(r" (udp|tcp)$", f" {proto}", self.label), proto)


@dataclasses.dataclass(frozen=True)
class Known:
    """A difference kept on purpose, its heading in docs/differences.md being ``doc``: a
    difference in one of ``fields`` of the replies to a query whose label matches ``labels``
    (a regular expression, searched ignoring case), and for which ``when(field, ours,
    theirs)`` (given the two fields' values) holds, is not reported. ``by_chance``: it shows
    only in some runs (a timestamp), so it is not reported when it does not show."""

    doc: str
    fields: tuple[str, ...]
    labels: str = ""
    when: Callable[[str, Any, Any], bool] | None = None
    by_chance: bool = False

    def covers(self, query: Query, field: str, ours: Any, theirs: Any) -> bool:
        return (field in self.fields and re.search(self.labels, query.label, re.I) is not None
                and (self.when is None or self.when(field, ours, theirs)))


def both_ways(queries: Iterable[Query]) -> list[Query]:
    """Every query over UDP and over TCP."""
    return [q.over(proto) for q in queries for proto in ("udp", "tcp")]


# -- the client -----------------------------------------------------------------------------

def exchange_udp(wire: bytes, ports: tuple[int, int]) -> list[bytes | None]:
    """Send ``wire`` to each port from one socket; each reply, or None when none came."""
    replies: list[bytes | None] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(REPLY_TIMEOUT)
        for port in ports:
            sock.sendto(wire, ("127.0.0.1", port))
            try:
                replies.append(sock.recv(65535))
            except TimeoutError:
                replies.append(None)
    return replies


def exchange_tcp(wire: bytes, ports: tuple[int, int]) -> list[bytes | None]:
    """Send ``wire`` (length-prefixed) to each port over a connection from the same client
    port; each reply, or None when the server closed or said nothing in time."""
    replies: list[bytes | None] = []
    local = 0
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", local))
            local = sock.getsockname()[1]
            sock.settimeout(REPLY_TIMEOUT)
            sock.connect(("127.0.0.1", port))
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            try:
                length = struct.unpack("!H", _read(sock, 2))[0]
                replies.append(_read(sock, length))
            except (TimeoutError, ConnectionError, EOFError):
                replies.append(None)
    return replies


def _read(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


# -- what is compared -----------------------------------------------------------------------

def summary(wire: bytes | None) -> dict[str, Any]:
    """A reply as comparable fields (see the module docstring)."""
    if wire is None:
        return {"reply": "none"}
    try:
        message = dns.message.from_wire(wire)
    except dns.exception.DNSException as exc:
        return {"reply": f"unparseable ({type(exc).__name__})"}
    fields: dict[str, Any] = {
        "id": message.id,
        "opcode": dns.opcode.to_text(message.opcode()),
        "rcode": dns.rcode.to_text(message.rcode()),
        "flags": dns.flags.to_text(message.flags),
        "question": [_rrset_text(rrset, question=True) for rrset in message.question],
    }
    for section in ("answer", "authority", "additional"):
        fields[section] = sorted(_rrset_text(rrset) for rrset in getattr(message, section))
    if message.edns < 0:
        fields["edns"] = "none"
    else:
        fields["edns"] = (f"version {message.edns} payload {message.payload} "
                          f"flags {dns.flags.edns_to_text(message.ednsflags) or '-'}")
        fields["edns options"] = [f"{option.otype}:{option.to_wire().hex()}"
                                  for option in message.options]
    return fields


def _rrset_text(rrset: Any, question: bool = False) -> str:
    """An RRset as text, the owner's case kept; records sorted."""
    if question:
        return f"{rrset.name.to_text()} {dns.rdataclass.to_text(rrset.rdclass)} " \
               f"{dns.rdatatype.to_text(rrset.rdtype)}"
    records = sorted(rdata.to_text() for rdata in rrset)
    return f"{rrset.name.to_text()} {rrset.ttl} {dns.rdataclass.to_text(rrset.rdclass)} " \
           f"{dns.rdatatype.to_text(rrset.rdtype)} " + " | ".join(records)


def _ttls_apart(ours: Any, theirs: Any, slack: int) -> bool:
    """Whether two sections hold the same RRsets with TTLs at most ``slack`` seconds apart
    (two caches filled a moment apart count down across a second boundary at different
    times)."""
    if not (slack and isinstance(ours, list) and isinstance(theirs, list)
            and len(ours) == len(theirs)):
        return False

    def split(texts: list[str]) -> list[tuple[str, str, int]]:
        fields = [text.split(" ", 2) for text in texts]
        return sorted((name, rest, int(ttl)) for name, ttl, rest in fields)

    return all(a[:2] == b[:2] and abs(a[2] - b[2]) <= slack
               for a, b in zip(split(ours), split(theirs), strict=True))


def differences(query: Query, ours: bytes | None, theirs: bytes | None,
                known: Iterable[Known] = (), seen: set[Known] | None = None,
                ttl_slack: int = 0) -> list[str]:
    """What differs between pydns's reply (``ours``) and CoreDNS's, a line per field; the
    :class:`Known` ones that covered a difference are added to ``seen``. ``ttl_slack``
    forgives TTLs that far apart (for answers from caches)."""
    mine, reference = summary(ours), summary(theirs)
    if "reply" in mine or "reply" in reference:  # no reply, or one that does not parse
        mine, reference = ({"reply": fields.get("reply", "parsed")}
                           for fields in (mine, reference))
    lines = []
    for field in sorted(set(mine) | set(reference)):
        if mine.get(field) == reference.get(field) or \
                _ttls_apart(mine.get(field), reference.get(field), ttl_slack):
            continue
        excused = [k for k in known if k.covers(query, field, mine.get(field),
                                                 reference.get(field))]
        if excused:
            if seen is not None:
                seen.update(excused)
            continue
        lines.append(f"{query.label}: {field}: pydns {mine.get(field)!r}, "
                     f"CoreDNS {reference.get(field)!r}")
    return lines


# -- the pair -------------------------------------------------------------------------------

class Pair:
    """pydns and CoreDNS, started from the same Corefile (or both refusing it)."""

    def __init__(self, pydns: RunningServer | None, coredns: CoreDNSServer | None,
                 failures: tuple[str | None, str | None]) -> None:
        self.pydns = pydns
        self.coredns = coredns
        self.failures = failures

    @property
    def ports(self) -> tuple[int, int]:
        assert self.pydns is not None and self.coredns is not None
        return self.pydns.port, self.coredns.port

    def compare(self, queries: Iterable[Query], known: Iterable[Known] = (),
                ttl_slack: int = 0) -> defer.Deferred:
        """Fires with the report: a line per difference, plus a line per Known that no
        difference needed. ``ttl_slack``: see :func:`differences`."""
        queries, known = list(queries), list(known)

        def run() -> list[str]:
            report: list[str] = []
            seen: set[Known] = set()
            for query in queries:
                exchange = exchange_tcp if query.proto == "tcp" else exchange_udp
                ours, theirs = exchange(query.wire, self.ports)
                report += differences(query, ours, theirs, known, seen, ttl_slack)
            report += [f"known difference no longer seen: {k.doc}"
                       for k in known if k not in seen and not k.by_chance]
            return report

        return threads.deferToThread(run)

    @defer.inlineCallbacks
    def stop(self) -> Any:
        if self.pydns is not None:
            yield self.pydns.stop()
        if self.coredns is not None:
            yield self.coredns.stop()


@defer.inlineCallbacks
def serve_both(test: Any, corefile: str, environ: Mapping[str, str] | None = None,
               per_server: Callable[[], Mapping[str, str]] | None = None,
               probe: tuple[str, str] = (".", "SOA")) -> Any:
    """Start pydns (in this reactor) and CoreDNS on ``corefile``; fires with a :class:`Pair`
    stopped at the test's cleanup.

    ``environ`` is given to both for ``{$NAME}`` substitutions; ``per_server()`` is called once
    for each and its variables added (ports of their own: ``{"METRICS": "127.0.0.1:N"}``).
    When either refuses the Corefile, the pair holds neither and ``failures`` says why.
    """
    CoreDNSServer.require()
    directory = test.mktemp()
    os.makedirs(directory)
    common = dict(environ or {})
    ours_environ = {**os.environ, **common, **(per_server() if per_server else {})}
    theirs_environ = {**common, **(per_server() if per_server else {})}
    ours_failure = theirs_failure = None
    # stopped at cleanup whatever happens next (CoreDNS may never answer)
    pair = Pair(None, None, (None, None))
    test.addCleanup(pair.stop)
    try:
        pair.pydns = yield start_server(corefile, environ=ours_environ)
    except ConfigError as exc:
        ours_failure = str(exc)
    pair.coredns = CoreDNSServer(directory, corefile, environ=theirs_environ, probe=probe)
    try:
        yield pair.coredns.start()
    except RuntimeError as exc:
        theirs_failure = str(exc).splitlines()[-1] if str(exc) else "failed"
        yield pair.coredns.stop()
        pair.coredns = None
    pydns, coredns = pair.pydns, pair.coredns
    pair.failures = (ours_failure, theirs_failure)
    if (pydns is None) != (coredns is None):
        yield pair.stop()
        pair.pydns = pair.coredns = None
    return pair


def free_address() -> str:
    """``127.0.0.1:PORT`` with a port free now (for a plugin's HTTP listener, say)."""
    return f"127.0.0.1:{free_port()}"
