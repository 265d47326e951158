"""*autopath*: the client's search path walked on the server, a CNAME to the name found.

A plugin that knows each client's search path (CoreDNS's ``AutoPather``) offers
``AutoPath(request) -> list[str] | None``; ``autopath @NAME`` asks it per query.
"""

from twisted_dns.plugins.autopath.autopath import AutoPath

__all__ = ["AutoPath"]
