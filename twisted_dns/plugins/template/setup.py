"""The ``template CLASS TYPE [ZONE...] { match answer additional authority rcode ... }`` directive.

Read as CoreDNS's ``templateParse``: each occurrence is one template, tried in Corefile order.
Every regex and record template is compiled here, so a Corefile with a template this server
cannot render exactly as CoreDNS would is refused at FILE:LINE instead of answering
differently.
"""

from __future__ import annotations

import dns.rdataclass
import dns.rdatatype

from twisted_dns.config import Controller
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.pkg.goregex import RegexError, compile_go
from twisted_dns.pkg.gotemplate import Template, TemplateSyntaxError, parse_uint
from twisted_dns.plugins.template.data import ROOT_FIELDS
from twisted_dns.plugins.template.template import RecordTemplate, Rule, TemplateHandler

#: miekg/dns's StringToClass (case-sensitive, as in CoreDNS)
CLASSES = {"IN": 1, "CS": 2, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}
#: miekg/dns's StringToRcode
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4,
          "REFUSED": 5, "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9,
          "NOTZONE": 10, "BADSIG": 16, "BADVERS": 16, "BADKEY": 17, "BADTIME": 18,
          "BADMODE": 19, "BADNAME": 20, "BADALG": 21, "BADTRUNC": 22, "BADCOOKIE": 23}
#: the functions CoreDNS adds to Go's
FUNCS = {"parseInt": (parse_uint, 3)}
SECTIONS = ("answer", "additional", "authority")


def _qtype(text: str) -> int | None:
    """miekg/dns's StringToType: upper-case mnemonics only (no ``TYPE123``)."""
    try:
        value = dns.rdatatype.from_text(text)
    except (dns.rdatatype.UnknownRdatatype, ValueError):  # ValueError: TYPE65536 and up
        return None
    return int(value) if dns.rdatatype.to_text(value) == text else None


def _where(c: Controller) -> str:
    return f"{c.file()}:{c.line()}"


def _rule(c: Controller) -> Rule:
    if not c.next_arg():
        raise c.arg_err()
    qclass = CLASSES.get(c.val())
    if qclass is None:
        raise c.err(f"invalid query class {c.val()}")
    if not c.next_arg():
        raise c.arg_err()
    qtype = _qtype(c.val())
    if qtype is None:
        raise c.err(f"invalid query type {c.val()}")
    zones = tuple(c.zone_args()) or tuple(c.zones)
    rule = Rule(qclass, qtype, zones, _where(c))
    while c.next_block():
        prop = c.val()
        if prop == "match":
            args = c.remaining_args()
            if not args:
                raise c.arg_err()
            for pattern in args:
                try:
                    rule.regexes.append((pattern, compile_go(pattern)))
                except RegexError as exc:
                    raise c.err(f"could not parse regex: {pattern}, {exc}") from None
        elif prop in SECTIONS:
            args = c.remaining_args()
            if not args:
                raise c.arg_err()
            for text in args:
                try:
                    template = Template(text, FUNCS, ROOT_FIELDS)
                except TemplateSyntaxError as exc:
                    raise c.err(f"could not compile template: {text}, {exc}") from None
                rule.records.append(RecordTemplate(prop, template, _where(c)))
        elif prop == "rcode":
            args = c.remaining_args()
            if len(args) != 1:
                raise c.arg_err()
            if args[0] not in RCODES:
                raise c.err(f"unknown rcode {args[0]}")
            rule.rcode = RCODES[args[0]]
        elif prop == "ederror":
            args = c.remaining_args()
            if len(args) not in (1, 2):
                raise c.arg_err()
            if not args[0].isdigit() or int(args[0]) > 0xFFFF:
                raise c.err(f"error parsing extended DNS error code {args[0]}")
            rule.ederror = (int(args[0]), args[1] if len(args) == 2 else "")
        elif prop == "fallthrough":
            rule.fall = Fallthrough.from_args(c.remaining_args())
        elif prop == "upstream":
            c.remaining_args()  # CoreDNS ignores it and its arguments: lookups always happen
        else:
            raise c.err(f"unknown property '{prop}'")
    if not rule.regexes:
        rule.regexes.append((".*", compile_go(".*")))
    if rule.rcode == 0 and not any(r.section in ("answer", "authority") for r in rule.records):
        raise c.err("no answer section for template found")
    return rule


def setup(c: Controller) -> None:
    rules = []
    while c.next():
        rules.append(_rule(c))
    config = c.config
    c.add_plugin(lambda next_plugin: TemplateHandler(next_plugin, rules, config))
