"""The *template* handler: the first template whose zone, class, type and regex match answers.

As CoreDNS's ``Handler.ServeDNS``: a query outside every template's zones goes to the next
plugin. Templates are tried in Corefile order; one whose zone, class and type match but whose
regexes do not ends the search with SERVFAIL, unless its ``fallthrough`` covers the name, in
which case the next template is tried. When no template is left the query goes to the next
plugin. A matching template renders each record with the query's data, parses it and writes an
authoritative reply with its rcode (``rcode SERVFAIL`` writes nothing; the server answers).
A template that fails to render or to parse is logged and answered with SERVFAIL.

Every match counts in ``coredns_template_matches_total``, every record that fails to render
in ``coredns_template_template_failures_total`` and every rendering that is no record in
``coredns_template_rr_failures_total`` (see :mod:`.metrics`).

The CNAME records of an A or AAAA answer are looked up through the server block's own chain
(a query of the same type for each target, as CoreDNS's always-on upstream:
:mod:`twisted_dns.pkg.upstream`), and the records found are added to the answer. A lookup made
this way never follows CNAMEs again, so a template pointing at itself cannot loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns import wire
from twisted_dns.interfaces import IPlugin
from twisted_dns.names import longest_match
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.pkg.gotemplate import Template, TemplateExecError
from twisted_dns.pkg.gotemplate.printer import root_string
from twisted_dns.pkg.metrics import NO_VIEW, block_server_label
from twisted_dns.pkg.upstream import Upstream, in_lookup
from twisted_dns.plugins.template.data import TemplateData, rr_class_text, rr_type_text
from twisted_dns.plugins.template.metrics import TemplateMetrics, template_metrics
from twisted_dns.plugins.template.rr import Records, RRError, parse_rr

NAME = "template"
log = Logger(namespace=NAME)

ANY = 255
_SERVFAIL = int(dns.rcode.SERVFAIL)
_ADDRESS_TYPES = (int(dns.rdatatype.A), int(dns.rdatatype.AAAA))
_CNAME = int(dns.rdatatype.CNAME)


@dataclass
class RecordTemplate:
    """One ``answer``/``additional``/``authority`` line: its template and where it was."""

    section: str
    template: Template
    where: str
    #: the ``template`` label of its failures: the text as Go prints the template back
    label: str = field(init=False)

    def __post_init__(self) -> None:
        self.label = root_string(self.template.text)


class RenderError(Exception):
    """A record template failed: ``cause`` is a TemplateExecError or an RRError."""

    def __init__(self, record: RecordTemplate, cause: TemplateExecError | RRError) -> None:
        super().__init__(f"{record.section} at {record.where}: {cause}")
        self.record = record
        self.cause = cause


@dataclass
class Rule:
    """One ``template`` directive."""

    qclass: int
    qtype: int
    zones: tuple[str, ...]
    where: str
    regexes: list[tuple[str, re.Pattern]] = field(default_factory=list)
    records: list[RecordTemplate] = field(default_factory=list)
    rcode: int = 0
    ederror: tuple[int, str] | None = None
    fall: Fallthrough = field(default_factory=Fallthrough)

    def match(self, request: Any) -> tuple[TemplateData | None, bool]:
        """(the data for a match or None, whether to go on to the next template)."""
        qname = request.qname_lower
        zone = longest_match(self.zones, qname)
        if zone is None:
            return None, True
        if self.qclass != ANY and request.qclass != ANY and request.qclass != self.qclass:
            return None, True
        if self.qtype != ANY and request.qtype != ANY and request.qtype != self.qtype:
            return None, True
        for source, regex in self.regexes:
            found = regex.search(qname)
            if found is None:
                continue
            groups = [found.group(0), *(g or "" for g in found.groups())]
            group = {str(i): value for i, value in enumerate(groups)}
            group.update((k, v or "") for k, v in found.groupdict().items())
            qclass = request.qclass if request.qclass != ANY else self.qclass
            qtype = request.qtype if request.qtype != ANY else self.qtype
            return TemplateData(request, zone, source, groups, group, rr_class_text(qclass),
                                rr_type_text(qtype)), False
        return None, self.fall.through(qname)

    def render(self, data: TemplateData) -> dict[str, list[Records]]:
        """The records of each section; raises RenderError."""
        sections: dict[str, list[Records]] = {"answer": [], "authority": [], "additional": []}
        for record in self.records:
            try:
                sections[record.section].append(parse_rr(record.template.execute(data)))
            except (TemplateExecError, RRError) as exc:
                raise RenderError(record, exc) from None
        return sections

    def reply(self, request: Any, sections: dict[str, list[Records]],
              tc: bool = False) -> bytes | dns.message.Message:
        """The authoritative reply: wire bytes, or a Message when it needs an EDNS option or
        an extended rcode (which the writer then fits to the query's EDNS)."""
        if (self.ederror is None or not request.edns) and self.rcode <= 15:
            return wire.reply(request, self.rcode, aa=True, tc=tc, **{
                name: [rr for records in section for rr in records.wire]
                for name, section in sections.items()})
        reply = dns.message.make_response(request.message())
        reply.flags |= dns.flags.AA | (dns.flags.TC if tc else 0)
        reply.set_rcode(self.rcode)
        reply.answer = [records.rrset for records in sections["answer"]]
        reply.authority = [records.rrset for records in sections["authority"]]
        reply.additional = [records.rrset for records in sections["additional"]]
        if self.ederror is not None and request.edns:
            code, reason = self.ederror
            reply.use_edns(0, options=[dns.edns.EDEOption(code, reason or None)])
        return reply


@implementer(IPlugin)
class TemplateHandler:
    """Every ``template`` directive of a server block, tried in order."""

    def __init__(self, next_plugin: Any, rules: Sequence[Rule], config: Any,
                 metrics: TemplateMetrics | None = None) -> None:
        self.next = next_plugin
        self.rules = tuple(rules)
        self.zones = tuple(dict.fromkeys(z for rule in rules for z in rule.zones))
        #: the server block: its keys for the metrics' ``server`` label
        self.config = config
        #: lookups of CNAME targets through the block's chain
        self.upstream = Upstream(config)
        self.metrics = metrics or template_metrics()
        #: listener address -> ``server`` label
        self._servers: dict[tuple, str] = {}

    def Name(self) -> str:  # noqa: N802 - the IPlugin contract
        return NAME

    def ServeDNS(self, request, writer) -> Any:  # noqa: N802 - the IPlugin contract
        if longest_match(self.zones, request.qname_lower) is None:
            return next_or_failure(NAME, self.next, request, writer)
        for rule in self.rules:
            data, go_on = rule.match(request)
            if data is None:
                if go_on:
                    continue
                return _SERVFAIL
            labels = (self._server(request), data.Zone, NO_VIEW, data.Class, data.Type)
            self.metrics.matches.labels(*labels).inc()
            if rule.rcode == _SERVFAIL:
                return _SERVFAIL
            try:
                sections = rule.render(data)
            except RenderError as exc:
                failures = self.metrics.template_failures \
                    if isinstance(exc.cause, TemplateExecError) else self.metrics.rr_failures
                failures.labels(*labels, exc.record.section, exc.record.label).inc()
                log.error("template failed for {name} {type}: {error}", name=request.qname,
                          type=dns.rdatatype.to_text(request.qtype), error=exc)
                return _SERVFAIL
            if request.qtype in _ADDRESS_TYPES and not in_lookup(request):
                targets = [rr.target for records in sections["answer"]
                           if records.rrset.rdtype == _CNAME for rr in records.rrset]
                if targets and self.upstream.usable:
                    return self._follow(request, writer, rule, sections, targets)
            writer.write(rule.reply(request, sections))
            return rule.rcode
        return next_or_failure(NAME, self.next, request, writer)

    def _server(self, request: Any) -> str:
        """The ``server`` label of the listener ``request`` came in on."""
        label = self._servers.get(request.server)
        if label is None:
            label = self._servers[request.server] = block_server_label(self.config,
                                                                       request.server)
        return label

    async def _follow(self, request: Any, writer: Any, rule: Rule,
                      sections: dict[str, list[Records]], targets: list[dns.name.Name]) -> int:
        """Add what the chain answers for each CNAME target, then write the reply."""
        tc = False
        for target in targets:
            found = await self.upstream.lookup(request, target, request.qtype)
            if found is not None:
                tc = tc or bool(found.flags & dns.flags.TC)
                sections["answer"].extend(Records.of(rrset) for rrset in found.answer)
        writer.write(rule.reply(request, sections, tc))
        return rule.rcode
