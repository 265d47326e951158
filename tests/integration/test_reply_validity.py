"""Every reply the server writes is valid DNS and says the right thing, end to end.

- Property (hypothesis): whatever the query name (any octets in its labels, dots and
  backslashes included, up to 255 octets), type, class, opcode, flags and EDNS (or none,
  options well formed or not), every reply of a server running many plugins parses with
  dnspython, has the query's ID, opcode and question, fits the client's UDP size, has an OPT
  record exactly when the query had one, is no SERVFAIL, and the server keeps serving. Over
  real UDP and TCP sockets (a few hundred examples), and through the listener's QueryHandler
  with a CaptureWriter (more, cheaply).
- A malformed EDNS option (a COOKIE of the wrong size, a short client subnet, an option
  running past its OPT record) is FORMERR, whichever plugin serves the name, as BIND answers
  it; never SERVFAIL. So is a query dnspython cannot decode, even when a plugin asks for it.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import NamedTuple

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.test_request import MALFORMED_OPTIONS, WELL_FORMED_OPTIONS, opt_query, option
from twisted_dns.response import CaptureWriter
from twisted_dns.testing import start_server

ZONE = os.path.join(os.path.dirname(__file__), "zones", "db.example.org")
WWW = dns.rrset.from_text("www.example.org.", 3600, "IN", "A", "192.0.2.80", "192.0.2.81")

#: many plugins, each block reached by names the strategy below aims at
COREFILE = f"""\
. {{
    chaos twisted-dns-test
    any
    cache 30
    loadbalance
    whoami
}}
example.org {{
    minimal
    loadbalance
    file {ZONE}
}}
hosts.test {{
    hosts {{
        192.0.2.10 a.hosts.test
        2001:db8::10 a.hosts.test
        fallthrough
    }}
    template ANY ANY {{
        answer "{{{{ .Name }}}} 60 IN TXT \\"{{{{ .Type }}}}\\""
    }}
}}
template.test {{
    template ANY ANY {{
        match ^a\\.
        answer "{{{{ .Name }}}} 60 IN A 192.0.2.1"
        additional "extra.{{{{ .Name }}}} 60 IN TXT \\"{{{{ .Class }}}} {{{{ .Type }}}}\\""
        fallthrough
    }}
    template ANY ANY {{
        rcode NXDOMAIN
        authority "template.test. 60 IN SOA ns.template.test. hostmaster.template.test. 1 2 3 4 5"
    }}
}}
"""

#: where names end, so every block and its interesting names are reached
SUFFIXES = [(), (), (), (b"example", b"org"), (b"www", b"example", b"org"),
            (b"dn", b"example", b"org"), (b"wild", b"example", b"org"),
            (b"sub", b"example", b"org"), (b"hosts", b"test"), (b"a", b"hosts", b"test"),
            (b"template", b"test"), (b"a", b"template", b"test"), (b"version", b"bind"),
            (b"id", b"server")]
TYPES = [1, 2, 5, 6, 12, 13, 15, 16, 28, 33, 39, 41, 43, 46, 47, 48, 250, 251, 252, 255, 65535]
CLASSES = [1, 1, 1, 3, 3, 4, 254, 255]
OPCODES = [0, 0, 0, 0, 4, 1, 2, 5, 15]
_RD, _CD, _DO = 0x0100, 0x0010, 0x8000
_PROTOS = ("udp", "tcp")


class Query(NamedTuple):
    wire: bytes
    msg_id: int
    opcode: int
    question: bytes
    edns: bool
    payload: int
    #: a NOTIFY for the zone the file plugin serves: dropped as CoreDNS drops it (no reply),
    #: unless the server or the plugin refuses it first
    may_be_dropped: bool


_LABELS = st.one_of(st.binary(min_size=1, max_size=63),
                    st.sampled_from([b"a", b"A", b"*", b".", b"\\", b"a.b", b'"', b" "]))


@st.composite
def names(draw: st.DrawFn) -> list[bytes]:
    """Labels of any octets before a suffix from SUFFIXES: a few, or labels of one size as
    many as fit (and maybe one more filling the name to 255 octets), where the names built
    from it overflow."""
    suffix = list(draw(st.sampled_from(SUFFIXES)))
    room = 254 - sum(len(label) + 1 for label in suffix)  # octets left, the root's aside
    if not draw(st.booleans()):
        prefix = []
        for label in draw(st.lists(_LABELS, max_size=6)):
            if len(label) + 1 > room:
                break
            prefix.append(label)
            room -= len(label) + 1
        return prefix + suffix
    size = draw(st.integers(1, 63))
    count = room // (size + 1)
    data = draw(st.binary(min_size=count * size, max_size=count * size))
    prefix = [data[i:i + size] for i in range(0, count * size, size)]
    rest = room - count * (size + 1) - 1
    if rest > 0 and draw(st.booleans()):
        prefix.append(draw(st.binary(min_size=rest, max_size=rest)))
    return prefix + suffix


@st.composite
def queries(draw: st.DrawFn) -> Query:
    """One query in wire form: one question, maybe an OPT record, any flags and opcode."""
    msg_id = draw(st.integers(0, 0xFFFF))
    opcode = draw(st.sampled_from(OPCODES))
    flags = (opcode << 11) | (_RD if draw(st.booleans()) else 0) | (
        _CD if draw(st.booleans()) else 0)
    qtype = draw(st.one_of(st.sampled_from(TYPES), st.integers(0, 0xFFFF)))
    qclass = draw(st.one_of(st.sampled_from(CLASSES), st.integers(0, 0xFFFF)))
    labels = draw(names())
    question = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00" \
        + struct.pack("!HH", qtype, qclass)
    may_be_dropped = opcode == 4 and [label.lower() for label in labels[-2:]] == [
        b"example", b"org"]
    edns = draw(st.booleans())
    payload, opt = 0, b""
    if edns:
        payload = draw(st.one_of(st.sampled_from([0, 512, 1232, 4096]), st.integers(0, 0xFFFF)))
        version = draw(st.sampled_from([0, 0, 0, 1, 255]))
        ttl = (version << 16) | (_DO if draw(st.booleans()) else 0)
        options = b"".join(draw(st.lists(st.one_of(
            st.sampled_from(list(WELL_FORMED_OPTIONS.values())),
            st.sampled_from(list(MALFORMED_OPTIONS.values())),
            st.builds(option, st.integers(0, 20), st.binary(max_size=12))), max_size=3)))
        opt = b"\x00" + struct.pack("!HHIH", 41, payload, ttl, len(options)) + options
    header = struct.pack("!HHHHHH", msg_id, flags, 1, 0, 0, 1 if edns else 0)
    return Query(header + question + opt, msg_id, opcode, question, edns, payload,
                 may_be_dropped)


def exchange_udp(port: int, datagram: bytes, timeout: float = 5.0) -> bytes:
    """Send one raw datagram to the server and return the raw reply (blocking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(datagram, ("127.0.0.1", port))
        return sock.recv(65535)


def exchange_tcp(port: int, message: bytes, timeout: float = 5.0) -> bytes:
    """Send one message over a new TCP connection and return the first reply (blocking)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(len(message).to_bytes(2, "big") + message)
        return _read_exactly(sock, int.from_bytes(_read_exactly(sock, 2), "big"))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {size} octets")
        data += chunk
    return data


class PropertyTests(unittest.TestCase):
    @defer.inlineCallbacks
    def setUp(self):
        self.server = yield start_server(COREFILE)
        self.addCleanup(self.server.stop)

    def check_reply(self, query: Query, data: bytes, proto: str) -> None:
        """The properties every reply has, checked against the query it answers."""
        reply = dns.message.from_wire(data)  # strict: no trailing junk, every record readable
        self.assertEqual(reply.id, query.msg_id)
        self.assertTrue(reply.flags & dns.flags.QR)
        self.assertEqual(reply.opcode(), query.opcode)
        if query.opcode not in (0, 4):  # refused before the question is read, as miekg/dns
            self.assertEqual((reply.rcode(), reply.question), (dns.rcode.NOTIMP, []))
            return
        qd = len(query.question)
        self.assertEqual((data[4:6], data[12:12 + qd]), (b"\x00\x01", query.question))
        self.assertEqual(reply.opt is not None, query.edns)
        if proto == "udp":
            limit = max(512, min(query.payload, 1232)) if query.edns else 512
            self.assertLessEqual(len(data), limit)
        if reply.rcode() == dns.rcode.SERVFAIL:
            # only a template whose record cannot be built (extra.<a name too long>) fails
            self.assertTrue(reply.question[0].name.to_text().lower().endswith(
                "template.test."), reply)


    @defer.inlineCallbacks
    def test_sockets(self):
        """Over real UDP and TCP sockets, from a thread, while the reactor serves."""
        port = self.server.port

        @settings(max_examples=150, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(queries(), st.sampled_from(_PROTOS))
        def check(query: Query, proto: str) -> None:
            assume(not query.may_be_dropped)  # no reply to wait for (see test_query_handler)
            exchange = exchange_udp if proto == "udp" else exchange_tcp
            self.check_reply(query, exchange(port, query.wire), proto)

        yield threads.deferToThread(check)
        reply = yield self.server.query("www.example.org", "A")
        self.assertEqual(reply.answer, [WWW])

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(queries(), st.sampled_from(_PROTOS))
    def test_query_handler(self, query: Query, proto: str) -> None:
        """Through the listener's QueryHandler, as the transports call it: one reply each."""
        listener = next(iter(self.server.service.listeners.values()))
        writers: list[CaptureWriter] = []

        def make_writer(request):
            writers.append(CaptureWriter(request))
            return writers[-1]

        done = listener.handler.handle(query.wire, ("127.0.0.1", 5300),
                                       ("127.0.0.1", self.server.port), proto, make_writer)
        self.assertIsNone(done)  # every plugin here answers at once
        self.assertEqual(len(writers), 1)
        sent = writers[0].sent
        self.assertIn(len(sent), (0, 1) if query.may_be_dropped else (1,))
        if sent:
            self.check_reply(query, sent[0], proto)


class MalformedQueryTests(unittest.TestCase):
    """Raw packets over UDP to a file zone (dnspython decodes its queries) and to whoami
    (which never decodes them), each behind *errors*."""

    @defer.inlineCallbacks
    def setUp(self):
        self.server = yield start_server(
            f"example.org {{\n    errors\n    file {ZONE}\n}}\n"
            ". {\n    errors\n    whoami\n}\n")
        self.addCleanup(self.server.stop)

    def exchange(self, datagram: bytes) -> defer.Deferred:
        return threads.deferToThread(exchange_udp, self.server.port, datagram)

    @defer.inlineCallbacks
    def test_malformed_edns_options_are_formerr(self):
        for qname in ("example.org.", "example.net."):
            for case, options in MALFORMED_OPTIONS.items():
                data = yield self.exchange(opt_query(options, msg_id=0x4242, qname=qname))
                reply = dns.message.from_wire(data)
                self.assertEqual((reply.id, dns.rcode.to_text(reply.rcode())),
                                 (0x4242, "FORMERR"), f"{qname} {case}")
                self.assertEqual([q.to_text() for q in reply.question], [f"{qname} IN A"])
                self.assertEqual(reply.edns, 0)

    @defer.inlineCallbacks
    def test_well_formed_edns_options_are_answered(self):
        for case, options in WELL_FORMED_OPTIONS.items():
            data = yield self.exchange(opt_query(options, qname="www.example.org."))
            reply = dns.message.from_wire(data)
            self.assertEqual(dns.rcode.to_text(reply.rcode()), "NOERROR", case)
            self.assertEqual(reply.answer, [WWW], case)

    @defer.inlineCallbacks
    def test_record_dnspython_cannot_decode_is_formerr(self):
        # an additional A record of 3 octets: the server's reading skips it; the file
        # plugin's dnspython decoding of the query (it has an option) refuses it
        query = opt_query(WELL_FORMED_OPTIONS["client cookie"], qname="www.example.org.")
        record = b"\x01x\x00" + struct.pack("!HHIH", 1, 1, 0, 3) + b"\x01\x02\x03"
        query = query[:10] + b"\x00\x02" + query[12:] + record
        reply = dns.message.from_wire((yield self.exchange(query)))
        self.assertEqual(dns.rcode.to_text(reply.rcode()), "FORMERR")
        self.assertEqual(reply.question[0].to_text(), "www.example.org. IN A")
