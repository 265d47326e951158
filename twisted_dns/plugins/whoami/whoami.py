"""The *whoami* handler: the client's address, port and transport, built as wire bytes.

This is the benchmark plugin, so a query never goes through dnspython: the reply is the
query's header and question (``wire.reply``) plus two records whose owner names point at
the question name (``QNAME_POINTER``), so the name is neither parsed nor re-encoded. Each
record's fixed part is one ``struct`` pack.

Two records CoreDNS writes are left out, because they would make the reply invalid: the SRV
record when ``_udp.<qname>`` would be longer than a name may be (255 octets; miekg/dns packs
it anyway), and the A record of a CH-class query (a CH-class A record holds a Chaosnet
address, RFC 1035 3.4.2, which four IPv4 octets are not).
"""

from __future__ import annotations

import socket
import struct

from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin

NAME = "whoami"

_A, _AAAA, _SRV = 1, 28, 33
_CH = 3
#: the longest question (name, type, class) whose ``_udp.<qname>`` is still a valid name:
#: the ``_udp`` label adds 5 octets to the name, which may have 255
_SRV_QUESTION_MAX = 255 - 5 + 4
_ROOT = b"\x00"
#: type, class, TTL 0, rdata length: the A/AAAA record after its owner name
_ADDRESS_RR = struct.Struct("!HHIH")
#: type SRV, class, TTL 0, rdata length 7, priority 0, weight 0, port (then the root target)
_SRV_RR = struct.Struct("!HHIHHHH")
_SRV_RDLENGTH = 7


def _srv_label(proto: str) -> bytes:
    label = b"_" + proto.encode("ascii")
    return bytes([len(label)]) + label


def _srv_name(proto: str, root: bool) -> bytes:
    """The SRV owner ``_udp.<qname>``: the label and a pointer to the question name.

    For the root name CoreDNS writes ``_udp.`` (not ``_udp..``): the label and the root.
    """
    return _srv_label(proto) + (_ROOT if root else wire.QNAME_POINTER)


#: the SRV owner names by (transport, query for the root name)
_SRV_NAMES = {(proto, root): _srv_name(proto, root)
              for proto in ("udp", "tcp") for root in (False, True)}


@implementer(IPlugin)
class Whoami:
    """Replies (authoritative, empty answer) with, in the additional section::

        <qname>          0 <qclass> A|AAAA <client address>
        _<proto>.<qname> 0 <qclass> SRV    0 0 <client port> .

    (each left out where it would not be a valid record: see the module's docstring).
    """

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer) -> int:  # noqa: N802 - the IPlugin contract
        host = request.client_host  # an IPv4-mapped IPv6 address already reads as IPv4
        if ":" in host:  # family 2
            # an IPv6 link-local peer comes with its zone ("fe80::1%eth0"): drop it
            rdtype, address = _AAAA, socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
        else:
            rdtype, address = _A, socket.inet_pton(socket.AF_INET, host)
        qclass = request.qclass
        key = (request.proto, request.qname == ".")
        srv_name = _SRV_NAMES.get(key) or _srv_name(*key)
        records = (
            wire.QNAME_POINTER + _ADDRESS_RR.pack(rdtype, qclass, 0, len(address)) + address,
            srv_name + _SRV_RR.pack(_SRV, qclass, 0, _SRV_RDLENGTH, 0, 0, request.client_port)
            + _ROOT,
        )
        if len(request.question_wire) > _SRV_QUESTION_MAX:
            records = records[:1]
        if qclass == _CH and rdtype == _A:
            records = records[1:]
        writer.write(wire.reply(request, additional=records, aa=True))
        return 0
