"""twisted-dns: a CoreDNS-compatible DNS server framework on Twisted."""

__version__ = "0.1.0"
