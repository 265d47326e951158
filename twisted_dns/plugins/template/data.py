"""What a *template* record sees as ``.``: CoreDNS's ``templateData``, field for field.

``.Message`` and ``.Question`` mimic miekg/dns's ``*dns.Msg`` and ``*dns.Question`` for the
fields templates read (``.Question.Name``, ``.Message.Id``, ...); the message is decoded only
when a template asks for it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import dns.flags
import dns.message
import dns.rdataclass
import dns.rdatatype

from twisted_dns.pkg.gotemplate import GoObject


@cache
def rr_class_text(rdclass: int) -> str:
    """miekg's ``ClassToString``: the mnemonic, "" for a class it has no name for."""
    text = dns.rdataclass.to_text(rdclass)
    return "" if text.startswith("CLASS") else text


@cache
def rr_type_text(rdtype: int) -> str:
    """miekg's ``TypeToString``: the mnemonic, "" for a type it has no name for."""
    text = dns.rdatatype.to_text(rdtype)
    return "" if text.startswith("TYPE") else text


class Question(GoObject):
    """``*dns.Question``: the name as sent, type and class as numbers."""

    go_fields = frozenset(("Name", "Qtype", "Qclass"))

    def __init__(self, name: str, qtype: int, qclass: int) -> None:
        self.Name = name
        self.Qtype = qtype
        self.Qclass = qclass

    def __str__(self) -> str:  # miekg's Question.String
        return (f";{self.Name}\t{dns.rdataclass.to_text(self.Qclass)}\t "
                f"{dns.rdatatype.to_text(self.Qtype)}")


class Message(GoObject):
    """``*dns.Msg``: header fields and sections of the query."""

    go_fields = frozenset(("Id", "Response", "Opcode", "Authoritative", "Truncated",
                           "RecursionDesired", "RecursionAvailable", "Zero",
                           "AuthenticatedData", "CheckingDisabled", "Rcode", "Question",
                           "Answer", "Ns", "Extra"))

    def __init__(self, message: dns.message.Message) -> None:
        flags = message.flags
        self._message = message
        self.Id = message.id
        self.Response = bool(flags & dns.flags.QR)
        self.Opcode = int(message.opcode())
        self.Authoritative = bool(flags & dns.flags.AA)
        self.Truncated = bool(flags & dns.flags.TC)
        self.RecursionDesired = bool(flags & dns.flags.RD)
        self.RecursionAvailable = bool(flags & dns.flags.RA)
        self.Zero = bool(flags & 0x40)
        self.AuthenticatedData = bool(flags & dns.flags.AD)
        self.CheckingDisabled = bool(flags & dns.flags.CD)
        self.Rcode = int(message.rcode())
        self.Question = [Question(q.name.to_text(), q.rdtype, q.rdclass)
                         for q in message.question]
        self.Answer = _records(message.answer)
        self.Ns = _records(message.authority)
        self.Extra = _records(message.additional)

    def __str__(self) -> str:
        return self._message.to_text()


def _records(section: list) -> list[str]:
    """One presentation line per record (dnspython's text, where miekg uses tabs)."""
    return [line for rrset in section for line in rrset.to_text().splitlines()]


class TemplateData(GoObject):
    """The data of one matched query (see the README's Templates section)."""

    go_fields = frozenset(("Zone", "Name", "Regex", "Match", "Group", "Class", "Type",
                           "Message", "Question", "Remote"))
    go_methods = {"Meta": 1}

    def __init__(self, request: Any, zone: str, regex: str, match: list[str],
                 group: dict[str, str], qclass: str, qtype: str) -> None:
        self._request = request
        self.Zone = zone
        self.Name = request.qname_lower
        self.Regex = regex
        self.Match = match
        self.Group = group
        self.Class = qclass
        self.Type = qtype
        self.Remote = request.client_host
        self.Question = Question(request.qname, request.qtype, request.qclass)
        self._msg: Message | None = None

    @property
    def Message(self) -> Message:  # noqa: N802 - the Go field name
        if self._msg is None:
            self._msg = Message(self._request.message())
        return self._msg

    def Meta(self, label: Any) -> str:  # noqa: N802 - the Go method name
        """A metadata value; "" when the label (or the metadata plugin) is not there."""
        value = self._request.metadata_value(label) if isinstance(label, str) else None
        return "" if value is None else value


ROOT_FIELDS = TemplateData.go_fields | frozenset(TemplateData.go_methods)
