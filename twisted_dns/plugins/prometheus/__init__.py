"""*prometheus*: CoreDNS's metrics on ``/metrics`` (see README.md).

Other plugins keep their own metrics in the same registry through
:mod:`twisted_dns.pkg.metrics`.
"""

from twisted_dns.plugins.prometheus.exporter import DEFAULT_ADDRESS, SHARED_KEY
from twisted_dns.plugins.prometheus.metrics import DROPPED, ServerMetrics, current, fresh

__all__ = ["DEFAULT_ADDRESS", "DROPPED", "SHARED_KEY", "ServerMetrics", "current", "fresh"]
