"""The contracts between the server and its plugins.

A plugin is a link in a block's chain. The server calls the first link's ``ServeDNS``; each
link either answers (writes a reply through the writer) or passes the query to the next link.
The contract is CoreDNS's (``plugin.Handler``):

- ``ServeDNS`` returns an rcode (an ``int`` from ``dns.rcode``), a ``Deferred`` firing with
  one, or a coroutine returning one.
- SERVFAIL, REFUSED, FORMERR and NOTIMP mean "nothing was written": the server writes a
  reply with that rcode for the plugin.
- Any other rcode (NOERROR, NXDOMAIN, ...) means the plugin already wrote the reply.
- An exception (raised or as a failed Deferred) becomes SERVFAIL and is logged with the
  plugin's name; it never takes a listener down.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

#: the rcodes that mean "nothing was written, the server must answer with this rcode"
#: (SERVFAIL, REFUSED, FORMERR, NOTIMP: CoreDNS's ``plugin.ClientWrite`` is false for them)
NO_CLIENT_WRITE = frozenset({2, 5, 1, 4})


class IPlugin(Interface):
    """A handler in a server block's plugin chain."""

    def Name() -> str:
        """The plugin's directive name, used in logs and metrics."""

    def ServeDNS(request, writer):
        """Answer ``request`` through ``writer`` or hand it to the next plugin.

        ``request`` is a :class:`twisted_dns.request.Request`, ``writer`` provides
        :class:`IResponseWriter`. Returns an rcode, a Deferred of one or a coroutine.
        """


class IResponseWriter(Interface):
    """Where a plugin writes its reply (CoreDNS's ``dns.ResponseWriter``)."""

    request = Attribute("The Request this writer answers.")
    written = Attribute("True once a reply went through this writer.")
    rcode = Attribute("The rcode of the reply written (None before one is).")
    size = Attribute("The size in octets of the reply sent (0 before one is, or unknown).")

    def write(reply) -> None:
        """Send a ``dns.message.Message`` or ready wire ``bytes``.

        UDP writers fit the reply into the client's buffer (whole records, TC set when
        something was left out); the ID and question always match the query.
        """

    def close() -> None:
        """Close the connection (TCP) instead of answering; nothing for UDP."""


class IReadiness(Interface):
    """A plugin the ``ready`` plugin asks before reporting the server ready."""

    def Ready() -> bool:
        """True once the plugin can serve (zones loaded, upstreams known, ...)."""


class IMetadataProvider(Interface):
    """A plugin that labels queries for others to read (CoreDNS's ``metadata.Provider``):
    the *metadata* plugin calls it for each query in its zones, before the chain."""

    def Metadata(request) -> None:
        """Set labels with ``request.set_metadata("plugin/name", func)``; ``func()`` gives the
        value, only when a reader (log's ``{/plugin/name}``, template's ``.Meta``) asks. It
        runs for every query: keep it quick."""


class ITransferSource(Interface):
    """A plugin whose zones the ``transfer`` plugin can send out (CoreDNS's
    ``transfer.Transferer``): *file*, *auto* and *secondary* provide it."""

    def Transfer(origin: str):
        """The zone ``origin`` (lower-case, absolute text) to transfer.

        Returns an object with ``serial`` (int), ``soa`` (its SOA RRset) and
        ``axfr_rrsets()`` (every RRset, SOA first and last), or instead of that, quicker,
        ``axfr_records()`` ((owner labels, type, class, TTL, RDATA wire) tuples, see
        ``twisted_dns.wire.transfer_messages``; called in a thread), e.g. a
        :class:`twisted_dns.plugins.file.zone.Zone`; None while the
        zone is served but has no data yet; raises ``KeyError`` when this plugin does not
        serve ``origin`` (the next source is asked).
        """

    def OnZoneChange(callback) -> None:
        """Call ``callback(origin)`` each time a new version of a zone is swapped in (so
        the ``transfer`` plugin can NOTIFY its secondaries)."""
