"""CoreDNS's *template* metrics, and the ``template`` label its failures carry.

The label is Go's ``Tree.Root.String()`` of the failing record template
(:func:`twisted_dns.pkg.gotemplate.printer.root_string`), so the series are the ones CoreDNS
exports for the same Corefile.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from twisted_dns.pkg.metrics import plugin_metrics

_LABELS = ["server", "zone", "view", "class", "type"]
_FAILURE_LABELS = [*_LABELS, "section", "template"]


@dataclass(frozen=True)
class TemplateMetrics:
    """The three counters, in one registry."""

    matches: Counter
    template_failures: Counter
    rr_failures: Counter

    @classmethod
    def make(cls, registry: CollectorRegistry) -> TemplateMetrics:
        return cls(
            Counter("coredns_template_matches_total", "Counter of template regex matches.",
                    _LABELS, registry=registry),
            Counter("coredns_template_template_failures_total",
                    "Counter of go template failures.", _FAILURE_LABELS, registry=registry),
            Counter("coredns_template_rr_failures_total", "Counter of mis-templated RRs.",
                    _FAILURE_LABELS, registry=registry))


def template_metrics() -> TemplateMetrics:
    """The process's *template* metrics (the same objects across reloads)."""
    return plugin_metrics("template", TemplateMetrics.make)
