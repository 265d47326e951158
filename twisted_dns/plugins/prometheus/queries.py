"""The per-query metrics, counted in plain Python and handed to Prometheus at scrape time.

Every answered query updates five metrics (requests, duration, request and response size,
responses; six with DO). Through prometheus_client each update takes a lock and a few
calls, about 1-3 us apiece, 10-20 us per query. Here a query costs one dict lookup per
label combination and a handful of additions (a ``bisect`` per histogram); the sums,
cumulative buckets and coarser label sets are built only when ``/metrics`` is scraped.
Only the reactor thread counts and scrapes, so nothing needs a lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from twisted_dns.pkg.metrics import NO_VIEW, SIZE_BUCKETS, TIME_BUCKETS

#: CoreDNS's ``monitorType``: qtypes with a ``type`` label of their own; others are "other"
TYPE_NAMES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
    33: "SRV", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 65: "HTTPS",
    251: "IXFR", 252: "AXFR", 255: "ANY",
}
OTHER_TYPE = "other"

#: miekg/dns's ``RcodeToString`` (16 is "BADSIG" there, also for BADVERS)
RCODE_NAMES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 11: "DSOTYPENI",
    16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG",
    22: "BADTRUNC", 23: "BADCOOKIE",
}


def rcode_name(rcode: int) -> str:
    """CoreDNS's ``rcode.ToString``: the mnemonic, else ``RCODE<n>``."""
    return RCODE_NAMES.get(rcode, f"RCODE{rcode}")


class _Histogram:
    """One histogram's state: a count per bucket (the last one is +Inf), not cumulative."""

    __slots__ = ("counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def merge(self, other: _Histogram) -> None:
        self.sum += other.sum
        for i, n in enumerate(other.counts):
            self.counts[i] += n


class _Queries:
    """Everything counted for one (server, zone, proto, family, type)."""

    __slots__ = ("count", "do", "duration", "request_size", "response_size")

    def __init__(self) -> None:
        self.count = 0
        self.do = 0
        self.duration = _Histogram(TIME_BUCKETS)
        self.request_size = _Histogram(SIZE_BUCKETS)
        self.response_size = _Histogram(SIZE_BUCKETS)


class QueryCounts(Collector):
    """``coredns_dns_*``: the counts of answered queries, as a prometheus_client collector."""

    def __init__(self) -> None:
        #: (server, zone, proto, family, type) -> counts
        self._queries: dict[tuple[str, str, str, str, str], _Queries] = {}
        #: (server, zone, rcode, plugin) -> responses
        self._responses: dict[tuple[str, str, int, str], int] = {}

    def report(self, server: str, zone: str, request: Any, rcode: int, plugin: str,
               size: int, duration: float) -> None:
        """Count one answered query (CoreDNS's ``vars.Report``).

        ``size`` is the reply's size (0 when nothing was written), ``plugin`` the plugin
        that wrote it ("" when the server did).
        """
        # IPv4 and IPv4-mapped IPv6 clients are family 1, as Go's To4() sees them
        family = "1" if "." in request.client[0] else "2"
        key = (server, zone, request.proto, family, TYPE_NAMES.get(request.qtype, OTHER_TYPE))
        queries = self._queries.get(key)
        if queries is None:
            queries = self._queries[key] = _Queries()
        queries.count += 1
        if request.do:
            queries.do += 1
        histogram = queries.duration
        histogram.counts[bisect_left(TIME_BUCKETS, duration)] += 1
        histogram.sum += duration
        histogram = queries.request_size
        request_size = len(request.wire)
        histogram.counts[bisect_left(SIZE_BUCKETS, request_size)] += 1
        histogram.sum += request_size
        histogram = queries.response_size
        histogram.counts[bisect_left(SIZE_BUCKETS, size)] += 1
        histogram.sum += size
        response_key = (server, zone, rcode, plugin)
        self._responses[response_key] = self._responses.get(response_key, 0) + 1

    def describe(self) -> list[Any]:
        """The metric names (the registry refuses another collector using them)."""
        return list(self._families())

    def collect(self) -> Iterator[Any]:
        requests, duration, request_size, do, response_size, responses = self._families()
        by_zone: dict[tuple[str, str], list[Any]] = {}
        by_proto: dict[tuple[str, str, str], list[Any]] = {}
        for (server, zone, proto, family, qtype), queries in self._queries.items():
            requests.add_metric([server, zone, NO_VIEW, proto, family, qtype], queries.count)
            zone_sums = by_zone.get((server, zone))
            if zone_sums is None:
                zone_sums = by_zone[server, zone] = [_Histogram(TIME_BUCKETS), 0]
            zone_sums[0].merge(queries.duration)
            zone_sums[1] += queries.do
            proto_sums = by_proto.get((server, zone, proto))
            if proto_sums is None:
                proto_sums = by_proto[server, zone, proto] = [_Histogram(SIZE_BUCKETS),
                                                              _Histogram(SIZE_BUCKETS)]
            proto_sums[0].merge(queries.request_size)
            proto_sums[1].merge(queries.response_size)
        for (server, zone), (histogram, do_count) in by_zone.items():
            _add(duration, [server, zone, NO_VIEW], histogram, TIME_BUCKETS)
            if do_count:  # as in CoreDNS, a zone has this series once a DO query came
                do.add_metric([server, zone, NO_VIEW], do_count)
        for (server, zone, proto), (asked, answered) in by_proto.items():
            _add(request_size, [server, zone, NO_VIEW, proto], asked, SIZE_BUCKETS)
            _add(response_size, [server, zone, NO_VIEW, proto], answered, SIZE_BUCKETS)
        for (server, zone, rcode, plugin), count in self._responses.items():
            responses.add_metric([server, zone, NO_VIEW, rcode_name(rcode), plugin], count)
        yield from (requests, duration, request_size, do, response_size, responses)

    @staticmethod
    def _families() -> tuple[Any, ...]:
        """Empty families with CoreDNS's names, help texts and labels (``plugin/metrics/vars``)."""
        return (
            CounterMetricFamily(
                "coredns_dns_requests_total",
                "Counter of DNS requests made per zone, protocol and family.",
                labels=["server", "zone", "view", "proto", "family", "type"]),
            HistogramMetricFamily(
                "coredns_dns_request_duration_seconds",
                "Histogram of the time (in seconds) each request took per zone.",
                labels=["server", "zone", "view"]),
            HistogramMetricFamily(
                "coredns_dns_request_size_bytes",
                "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
                labels=["server", "zone", "view", "proto"]),
            CounterMetricFamily(
                "coredns_dns_do_requests_total",
                "Counter of DNS requests with DO bit set per zone.",
                labels=["server", "zone", "view"]),
            HistogramMetricFamily(
                "coredns_dns_response_size_bytes", "Size of the returned response in bytes.",
                labels=["server", "zone", "view", "proto"]),
            CounterMetricFamily(
                "coredns_dns_responses_total", "Counter of response status codes.",
                labels=["server", "zone", "view", "rcode", "plugin"]),
        )


def _add(family: HistogramMetricFamily, labels: list[str], histogram: _Histogram,
         bounds: tuple[float, ...]) -> None:
    """One histogram series: cumulative buckets ``le`` each bound, then +Inf."""
    buckets = []
    total = 0
    for bound, count in zip((*bounds, float("inf")), histogram.counts, strict=True):
        total += count
        buckets.append((floatToGoString(bound), total))
    family.add_metric(labels, buckets, histogram.sum)
