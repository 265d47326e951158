"""CoreDNS's *kubernetes* metric: the DNS programming latency SLI.

``coredns_kubernetes_dns_programming_duration_seconds{service_kind}`` is how long a change to
a Service's endpoints took to reach this server: from the time the EndpointSlice controller
stamped on the slice (the ``endpoints.kubernetes.io/last-change-trigger-time`` annotation)
to the moment the slice is in the store. It is observed only when the slice's Service is
known (``cluster_ip`` or ``headless_with_selector``; CoreDNS does not measure
``headless_without_selector`` either). The clocks of this machine and of the control plane
are compared, so skew shows in it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from twisted.logger import Logger

from twisted_dns.pkg.metrics import plugin_metrics
from twisted_dns.plugins.kubernetes.objects import LAST_CHANGE_TRIGGER_TIME, Service

log = Logger(namespace="kubernetes")

#: 1 ms to about 17 minutes, doubling (Go's ``prometheus.ExponentialBuckets(0.001, 2, 20)``)
BUCKETS = tuple(0.001 * 2 ** i for i in range(20))
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?"
                      r"(?:Z|([+-])(\d\d):(\d\d))")


def parse_rfc3339(text: str) -> float:
    """Unix seconds of an RFC 3339 time (Go's ``time.RFC3339Nano``); ValueError if not one."""
    found = _RFC3339.fullmatch(text)
    if found is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(found[i]) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60
            and second < 60):
        raise ValueError(text)
    seconds = calendar.timegm((year, month, day, hour, minute, second)) \
        + float(found[7] or 0)
    if found[8]:
        offset = int(found[9]) * 3600 + int(found[10]) * 60
        seconds -= offset if found[8] == "+" else -offset
    return seconds


class ProgrammingLatency:
    """Observes the programming latency of EndpointSlice changes."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram

    @classmethod
    def make(cls, registry: CollectorRegistry) -> ProgrammingLatency:
        return cls(Histogram(
            "coredns_kubernetes_dns_programming_duration_seconds",
            "Histogram of the time (in seconds) it took to program a dns instance.",
            ["service_kind"], buckets=BUCKETS, registry=registry))

    def observe(self, obj: Mapping[str, Any], services: Collection[Service],
                now: float) -> None:
        """Time the slice ``obj`` (the API's dict) of ``services`` (its Service, when known)
        against ``now``."""
        meta = obj.get("metadata") or {}
        stamp = (meta.get("annotations") or {}).get(LAST_CHANGE_TRIGGER_TIME)
        if stamp is None:
            return
        try:
            triggered = parse_rfc3339(stamp)
        except ValueError:
            log.warn("DnsProgrammingLatency cannot be calculated for Endpoints "
                     "'{namespace}/{name}'; invalid \"{annotation}\" annotation RFC3339 value"
                     " of \"{value}\"", namespace=meta.get("namespace"),
                     name=meta.get("name"), annotation=LAST_CHANGE_TRIGGER_TIME, value=stamp)
            return
        if len(services) != 1:  # the Service is not known (yet)
            return
        service = next(iter(services))
        kind = "headless_with_selector" if service.headless else "cluster_ip"
        self.histogram.labels(kind).observe(now - triggered)


def programming_latency() -> ProgrammingLatency:
    """The process's histogram (the same across reloads)."""
    return plugin_metrics("kubernetes", ProgrammingLatency.make)
