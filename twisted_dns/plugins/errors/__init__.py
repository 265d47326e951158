"""*errors*: logs the errors of the chain below it (see README.md)."""

from twisted_dns.plugins.errors.errors import ErrorHandler, Pattern

__all__ = ["ErrorHandler", "Pattern"]
