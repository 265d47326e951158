"""Records from a service backend, as CoreDNS's *kubernetes* and *etcd* answer.

A backend finds :class:`Service` values for a name (CoreDNS's ``msg.Service``, see
:mod:`.service`); :mod:`.lookup` turns them into the records of each type
(``plugin/backend_lookup.go``) and :mod:`.records` into replies. Nothing here knows where the
services come from.

The backend implements :class:`ServiceBackend`; a plugin answers a query like this::

    state = State(request.qname, request.qtype, zone, request)
    try:
        records, truncated = run(a(backend, zone, state), lookup)   # or a Deferred of them
    except BackendError as error:
        rcode = NXDOMAIN if backend.is_name_error(error) else SERVFAIL
        ...
    writer.write(reply(request, NOERROR, records, tc=truncated))

``lookup(name, qtype)`` completes a CNAME leading out of the zone (a Deferred of the reply or
None, e.g. :class:`twisted_dns.pkg.upstream.Upstream`); :func:`error_reply` is the negative
answer with the zone's SOA.
"""

from twisted_dns.pkg.backend.lookup import (
    BackendError,
    ServiceBackend,
    State,
    Steps,
    a,
    aaaa,
    cname,
    error_reply,
    join,
    mx,
    ns,
    ptr,
    run,
    soa,
    srv,
    txt,
)
from twisted_dns.pkg.backend.records import BadName, Record, axfr_record, reply, text
from twisted_dns.pkg.backend.records import a as address_record
from twisted_dns.pkg.backend.service import (
    TYPE_A,
    TYPE_AAAA,
    TYPE_CNAME,
    TYPE_TXT,
    Service,
    domain,
    fqdn,
    ip_text,
    parse_ip,
    path,
    split_name,
)

__all__ = ["TYPE_A", "TYPE_AAAA", "TYPE_CNAME", "TYPE_TXT", "BackendError", "BadName", "Record",
           "Service", "ServiceBackend", "State", "Steps", "a", "aaaa", "address_record",
           "axfr_record", "cname", "domain", "error_reply", "fqdn", "ip_text", "join", "mx",
           "ns", "parse_ip", "path", "ptr", "reply", "run", "soa", "split_name", "srv", "text",
           "txt"]
