"""The server: listeners, zone routing and the query path.

Theory of operation
-------------------

A query crosses five small pieces, each knowing as little as it can:

1. **Transport** (``udp.py``, ``tcp.py``): turns datagrams and length-prefixed TCP frames into
   message bytes plus the client's and the server's address, and knows how to send bytes
   back (a *writer factory*). It also owns the connection rules: TCP timeouts, pipelining,
   flow control, the connection cap. It never looks inside a message.

2. **Request** (``twisted_dns.request``): reads the header, the first question and the OPT
   record straight from the bytes with ``struct``. No dnspython here; a plugin that wants the
   full ``dns.message.Message`` asks ``request.message()`` and pays for it then, once.

3. **Handler** (``handler.py``): the transport-free core. It checks what CoreDNS and
   miekg/dns check (responses ignored, opcode, section counts, class, EDNS version), asks
   the router for the block, and calls the block's chain. A chain returning an ``int`` is
   finished then and there, without a Deferred; a Deferred or coroutine is awaited up to a
   deadline. Whatever the outcome, the client gets exactly one answer: the server writes
   SERVFAIL/REFUSED/FORMERR/NOTIMP when the chain returned that rcode without writing, and
   SERVFAIL when a plugin raised or timed out.

4. **Routing** (``routing.py``): longest matching zone label by label, then ``.``, else
   REFUSED; DS queries go to the parent-most zone. One router per listener; swapping it
   (``listener.router = ...``) switches configurations.

5. **Writer** (``twisted_dns.response``): ready wire bytes are sent as they are when they fit
   the client's buffer (the fast path: a length check); a dnspython Message is scrubbed
   (ID, question, OPT as the query asked) and rendered within the client's size, TC set
   when whole RRsets had to be left out.

``listener.py`` ties a transport pair (UDP and TCP on one port) to a handler and is the
Twisted service that starts and stops them; ``sockets.py`` makes the sockets so we can set
SO_REUSEPORT, a large UDP receive buffer and dual-stack binding before Twisted adopts them.
"""
