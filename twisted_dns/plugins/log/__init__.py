"""*log*: query logging in CoreDNS's formats (see README.md)."""

from twisted_dns.plugins.log.log import (
    COMBINED_LOG_FORMAT,
    COMMON_LOG_FORMAT,
    DEFAULT_LOG_FORMAT,
    QueryLog,
    Rule,
)

__all__ = ["COMBINED_LOG_FORMAT", "COMMON_LOG_FORMAT", "DEFAULT_LOG_FORMAT", "QueryLog", "Rule"]
