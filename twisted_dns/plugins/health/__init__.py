"""*health*: an HTTP ``/health`` endpoint for the whole process (see README.md)."""

from twisted_dns.plugins.health.health import DEFAULT_ADDRESS, SHARED_KEY, Health

__all__ = ["DEFAULT_ADDRESS", "SHARED_KEY", "Health"]
