"""*ready*: an HTTP ``/ready`` endpoint reporting plugin readiness (see README.md)."""

from twisted_dns.plugins.ready.ready import (
    DEFAULT_ADDRESS,
    SHARED_KEY,
    Readiness,
    ReadyEndpoint,
)

__all__ = ["DEFAULT_ADDRESS", "SHARED_KEY", "Readiness", "ReadyEndpoint"]
