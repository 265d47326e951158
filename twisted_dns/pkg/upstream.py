"""Look a name up through the server block's own chain (CoreDNS's ``plugin/pkg/upstream``).

A plugin that answers with a CNAME it cannot complete itself (a *template* rule, a Kubernetes
ExternalName service) asks the rest of the configuration for the target, as CoreDNS's
``upstream.Lookup`` does: a new query for NAME TYPE goes down the block's chain from its first
plugin, and the reply it gets (or None) is what the caller adds to its answer::

    upstream = Upstream(c.config)            # at setup: the chain is built later
    found = await upstream.lookup(request, "example.org.", dns.rdatatype.A)

The lookup is sent as over TCP, so the chain answers in full (the caller's own reply is cut
to the client's size later). A lookup never starts another: :func:`in_lookup` is true for
the queries made here, and a plugin asked one of them does not follow its CNAMEs again, so two
names pointing at each other through the chain cannot loop.
"""

from __future__ import annotations

from typing import Any

import dns.message
import dns.name
from twisted.logger import Logger

from twisted_dns.names import longest_match
from twisted_dns.pkg.chain import as_deferred
from twisted_dns.request import Request
from twisted_dns.response import CaptureWriter

log = Logger(namespace="upstream")

#: ids of the lookups being made (each Request alive while listed)
_LOOKUPS: set[int] = set()


def in_lookup(request: Any) -> bool:
    """True when ``request`` is a lookup made by :meth:`Upstream.lookup`: its answer must
    not be completed by another lookup."""
    return id(request) in _LOOKUPS


class Upstream:
    """Lookups through the chain of the block ``config`` (its ``chain`` and ``zones``)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def usable(self) -> bool:
        """Whether there is a chain to ask (none before the block's chain is built)."""
        return self.config is not None and self.config.chain is not None

    async def lookup(self, request: Any, name: str | dns.name.Name, qtype: int,
                     qclass: int | None = None) -> dns.message.Message | None:
        """The chain's reply to NAME TYPE (the class of ``request`` unless ``qclass``) asked
        on behalf of ``request`` (its client, listener and ID); None when the chain wrote
        nothing or failed."""
        query = dns.message.make_query(name, qtype,
                                       request.qclass if qclass is None else qclass)
        query.id = request.id
        lookup = Request.from_wire(query.to_wire(), request.client, request.server, "tcp")
        lookup.zone = longest_match(self.config.zones, lookup.qname_lower) or request.zone
        _LOOKUPS.add(id(lookup))
        capture = CaptureWriter(lookup)
        try:
            await as_deferred(self.config.chain.ServeDNS(lookup, capture))
        except Exception:
            log.failure("upstream lookup of {name} failed", name=name)
            return None
        finally:
            _LOOKUPS.discard(id(lookup))
        if not capture.sent:
            return None
        return dns.message.from_wire(capture.sent[0])
