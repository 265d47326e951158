"""*file*: serves zones from RFC 1035 master files, and the zone model *auto*, *secondary* and
*transfer* build on. Other plugins import these names from here, never from the modules.

Build a zone::

    zone = Zone.from_file("/etc/zones/db.example.org", "example.org.")   # ZoneError on bad data
    zone = Zone.from_text(text, "example.org.", filename="db.example.org")
    zone = Zone.from_rrsets("example.org.", rrsets)     # e.g. the RRsets of an AXFR
    zone.serial            # the SOA serial (int); zone.soa is the SOA RRset
    zone.origin            # dns.name.Name;  zone.origin_text: "example.org." (lower case)

A :class:`ZoneError` (a ``ValueError``) reads ``FILE:LINE: why`` (``FILE: why`` when there is
no line: no SOA, a missing file); ``.file``, ``.line`` (or None) and ``.reason`` hold the parts.

Read it: ``"www.example.org." in zone`` (the name exists, empty non-terminals included),
``zone.get("www.example.org.", dns.rdatatype.A)`` (an RRset or None, no wildcards; names are
lower-case text as ``Request.qname_lower``), ``zone.rrsets()`` (every RRset once),
``len(zone)`` (records).

Answer a query (the query's name as received, any case; ``qtype`` an int)::

    result = zone.lookup("WWW.example.org.", dns.rdatatype.A, do=False)
    result.rcode, result.aa, result.answer, result.authority, result.additional

``result`` is a :class:`Result`; its ``rcode`` is NOERROR, NXDOMAIN, YXDOMAIN (DNAME overflow)
or SERVFAIL (a CNAME loop: the answer holds the chain up to the loop). The sections are fresh
lists, but their ``dns.rrset.RRset`` objects are the zone's own: never modify those. A name no
lookup has read yet can answer plain types straight from the file's text
(``zone.wire_answer(qname_lower, qtype)``: a ``wire.WireRRset``, or None: then lookup).

Transfer out (AXFR order)::

    for rrset in zone.axfr_rrsets(): ...   # SOA, the rest by name (apex first), SOA again
    zone.axfr_records()                    # the same as wire pieces, quick; safe in a thread

Zones are immutable once built: to change one, build a new Zone and swap it in. A plugin
serving zones keeps them in a :class:`Zones` (origin -> Zone, or None while not loaded yet:
SERVFAIL); ``zones.replace(new_zone)`` swaps a zone atomically (a query sees the old or the new
zone, never a mix) and calls each of ``zones.on_swap`` with the origin,
``zones.add(origin)``/``zones.remove(origin)`` change what is served (``zones.origins``),
``zones.match(qname_lower)`` finds the longest origin holding a name, ``zones[origin]`` reads
one. ``File(zones, fall, next_plugin, name="auto")`` serves a ``Zones`` exactly as *file* does,
and ``ZoneFile(path, origin, zones, interval, reactor)`` re-reads a zone file into a ``Zones``
when its serial increases (RFC 1982: ``twisted_dns.pkg.serial``).

The modules, as CoreDNS's ``plugin/file``: ``zone`` (the model and its index, ``Zones``),
``names`` (the index's keys), ``lookup`` (the answering algorithm), ``xfr`` (transfer out),
``zonefile`` (errors, dnspython's reader) beside ``masterfile`` (the fast reader), ``file``
(the plugin), ``reload``, ``setup``.
"""

from twisted_dns.plugins.file.file import File
from twisted_dns.plugins.file.lookup import Result
from twisted_dns.plugins.file.reload import ZoneFile
from twisted_dns.plugins.file.zone import Zone, Zones
from twisted_dns.plugins.file.zonefile import ZoneError

__all__ = ["File", "Result", "Zone", "ZoneError", "ZoneFile", "Zones"]
