"""The transport-free core of the query path: bytes in, a reply through a writer out.

``QueryHandler.handle`` knows nothing of sockets: the UDP and TCP protocols hand it a message
and a writer factory. It applies, in order, what CoreDNS (and miekg/dns under it) applies
before and around a block's plugin chain:

1. fewer than 12 bytes: dropped; a readable header with a garbled body: FORMERR (same ID;
   with the question, and the OPT record, when the error comes after them: a malformed
   record or EDNS option); a message with QR set (a response): ignored, so two servers
   cannot ping-pong;
2. opcode other than QUERY or NOTIFY: NOTIMP; not exactly one question, more than one
   answer or authority record, or more than two additional records: FORMERR (these two are
   header-only replies, as miekg/dns sends them);
3. class other than IN: REFUSED, unless a block on this listener uses chaos or forward;
4. EDNS version above 0: BADVERS;
5. no matching zone, or a block with no query plugins: REFUSED;
6. the chain: ``ServeDNS`` returns an rcode (handled synchronously, no Deferred), a Deferred
   or a coroutine (awaited, at most ``deadline`` seconds, then SERVFAIL); SERVFAIL, REFUSED,
   FORMERR and NOTIMP with nothing written make the server write that rcode; an exception
   becomes SERVFAIL and is logged with the plugin's name, except a query dnspython cannot
   decode (``Request.message`` raises ``FormError``): FORMERR.

Deadlines cost no timer per query: every query shares one deadline, so the waiting ones
expire in arrival order. They queue in a deque and one sweep, every ``DEADLINE_SLOT``
seconds while any query waits, answers those past their deadline (so SERVFAIL comes at most
one slot late, never early). A query whose plugin set its own ``request.deadline`` (a zone
transfer) gets a timer of its own instead. Answered ones are only marked and dropped when the sweep
reaches them; the sweep stops as soon as nothing waits, and ``stop()`` ends it for good.

Draining (a listener stopping): ``drained()`` fires once no query waits, so the listener can
stop reading, let the waiting queries be answered (by their chain or the deadline), and only
then close. It costs the query path nothing: the waiters are looked at only when the last
waiting query settles.

Nothing a query or a plugin does escapes ``handle``: a listener never dies of a query.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_dns import wire
from twisted_dns.interfaces import NO_CLIENT_WRITE
from twisted_dns.request import DEFAULT_UDP_SIZE, FormError, Request, ShortPacket
from twisted_dns.wire import (
    BADVERS,
    CLASS_IN,
    FORMERR,
    NOTIMP,
    OPCODE_NOTIFY,
    OPCODE_QUERY,
    QR,
    REFUSED,
    SERVFAIL,
)

log = Logger(namespace="server")

#: seconds between deadline sweeps while queries wait (how late a deadline SERVFAIL can be)
DEADLINE_SLOT = 0.1

#: ``make_writer(request) -> writer``: the transport's writer for one query
WriterFactory = Callable[[Request], Any]
#: called once per finished query with (request, writer); ``request.zone`` is None when the
#: query was answered by the server itself without reaching a block
Observer = Callable[[Request, Any], None]
class QueryHandler:
    """Routes each query to its block's chain and makes sure it gets exactly one answer."""

    def __init__(self, router: Any, reactor: Any = None, deadline: float = 5.0,
                 udp_size: int = DEFAULT_UDP_SIZE, deadline_slot: float = DEADLINE_SLOT) -> None:
        if reactor is None:
            from twisted.internet import reactor
        #: a ZoneRouter; replace it to switch configurations (reload)
        self.router = router
        self.reactor = reactor
        self.deadline = deadline
        self.udp_size = udp_size
        #: whole-server observers (metrics); kept empty costs one truth test per query
        self.observers: list[Observer] = []
        self.deadline_slot = deadline_slot
        self._seconds = reactor.seconds
        #: queries waiting on their chain, oldest first (answered ones too, until swept)
        self._waiting: deque[_Pending] = deque()
        #: queries waiting with a deadline of their own (each has a timer)
        self._own_deadline: set[_Pending] = set()
        #: how many queries (in ``_waiting`` or ``_own_deadline``) are not answered yet
        self._live = 0
        self._sweeper: Any = None
        #: fired (see drained) when the last waiting query settles
        self._drain_waiters: list[defer.Deferred] = []

    def handle(self, data: bytes, client: tuple, server: tuple, proto: str,
               make_writer: WriterFactory) -> defer.Deferred | None:
        """Answer one message. Returns None when done, or a Deferred firing when done."""
        try:
            request = Request.from_wire(data, client, server, proto, self.udp_size)
        except ShortPacket:
            return None
        except FormError as e:
            if not e.flags & QR:
                self._unreadable(data, client, server, proto, make_writer, e.request)
            return None
        except Exception:
            log.failure("cannot read a query from {client}", client=client)
            return None
        flags = request.flags
        if flags & QR:
            return None
        request.start = self._seconds()
        writer = make_writer(request)
        try:
            opcode = (flags >> 11) & 0xF
            if opcode != OPCODE_QUERY and opcode != OPCODE_NOTIFY:
                return self._answer(request, writer, wire.header_reply(request.id, flags, NOTIMP))
            if (request.qdcount != 1 or request.ancount > 1 or request.nscount > 1
                    or request.arcount > 2):
                return self._answer(request, writer,
                                    wire.header_reply(request.id, flags & 0x87FF, FORMERR))
            router = self.router
            if request.qclass != CLASS_IN and not router.allow_chaos:
                return self._answer(request, writer, wire.reply(request, REFUSED))
            if request.edns_version:
                return self._answer(request, writer, wire.reply(request, BADVERS), BADVERS)
            route = router.route(request.qname_lower, request.qtype)
            if route is None:
                return self._answer(request, writer, wire.reply(request, REFUSED))
            zone, block = route
            chain = block.chain
            if chain is None:
                return self._answer(request, writer, wire.reply(request, REFUSED))
            request.zone = zone
        except Exception:
            log.failure("answering {request!r} failed", request=request)
            return None
        try:
            request.plugin = chain.Name()
            result = chain.ServeDNS(request, writer)
        except Exception:
            self._failed(request, writer, chain, Failure())
            return None
        if isinstance(result, int):
            if result in NO_CLIENT_WRITE and not writer.written:
                self._answer(request, writer, wire.reply(request, result))
            elif self.observers:
                self._notify(request, writer)
            return None
        return self._wait(request, writer, chain, result)

    def _answer(self, request: Request, writer: Any, reply: bytes,
                rcode: int | None = None) -> None:
        """Write a reply the server made itself (never raises); ``rcode`` if above 15."""
        try:
            writer.write(reply)
            if rcode is not None:
                writer.rcode = rcode
        except Exception:
            log.failure("writing the reply to {request!r} failed", request=request)
        if self.observers:
            self._notify(request, writer)

    def _unreadable(self, data: bytes, client: tuple, server: tuple, proto: str,
                    make_writer: WriterFactory, request: Request | None) -> None:
        """FORMERR (NOTIMP for an unknown opcode) for a query whose body cannot be read;
        ``request`` is the query as far as it was read, when its question was."""
        if request is None:
            request = Request.header_only(data, client, server, proto, self.udp_size)
        request.start = self._seconds()
        writer = make_writer(request)
        opcode = (request.flags >> 11) & 0xF
        if opcode != OPCODE_QUERY and opcode != OPCODE_NOTIFY:
            reply = wire.header_reply(request.id, request.flags, NOTIMP)
        elif request.qdcount == 1:
            reply = wire.reply(request, FORMERR)
        else:
            reply = wire.header_reply(request.id, request.flags & 0x87FF, FORMERR)
        self._answer(request, writer, reply)

    def _failed(self, request: Request, writer: Any, chain: Any, failure: Failure) -> None:
        if failure.check(FormError) and failure.value.request is request:
            # the query itself does not decode: the client's error, not the plugin's
            log.debug("{request!r}: {error}", request=request, error=failure.value)
            rcode = FORMERR
        else:
            name = _plugin_name(request, chain)
            Logger(namespace=name).failure(
                "plugin/{plugin}: error serving {qname} {qtype}", failure,
                plugin=name, qname=request.qname, qtype=request.qtype)
            rcode = SERVFAIL
        if writer.written:
            if self.observers:
                self._notify(request, writer)
        else:
            self._answer(request, writer, wire.reply(request, rcode))

    def _notify(self, request: Request, writer: Any) -> None:
        for observer in self.observers:
            try:
                observer(request, writer)
            except Exception:
                log.failure("query observer {observer!r} failed", observer=observer)

    def _wait(self, request: Request, writer: Any, chain: Any,
              result: Any) -> defer.Deferred | None:
        """The slow path: the chain returned a Deferred or a coroutine.

        Returns the chain's own Deferred, which fires with None once the query is answered
        (by the chain or by the deadline), for connection bookkeeping.
        """
        if isinstance(result, defer.Deferred):
            d = result
        elif isinstance(result, Coroutine):
            d = defer.ensureDeferred(result)
        else:
            self._failed(request, writer, chain, Failure(TypeError(
                f"ServeDNS returned {result!r}, not an rcode, Deferred or coroutine")))
            return None
        pending = _Pending(self, request, writer, chain, d)
        d.addBoth(pending.finished)
        if pending.done:
            return None
        self._live += 1
        if request.deadline is not None:
            pending.expires = request.start + request.deadline
            pending.timer = self.reactor.callLater(
                max(0.0, pending.expires - self._seconds()), pending.expire, True)
            self._own_deadline.add(pending)
            return d
        pending.expires = request.start + self.deadline
        self._waiting.append(pending)
        if self._sweeper is None:
            self._sweeper = self.reactor.callLater(self.deadline_slot, self._sweep)
        return d

    def _sweep(self) -> None:
        """Answer the waiting queries whose deadline passed; again in a slot if any wait."""
        self._sweeper = None
        now = self._seconds()
        waiting = self._waiting
        while waiting:
            pending = waiting[0]
            if pending.done:
                waiting.popleft()
            elif pending.expires <= now:
                waiting.popleft()
                pending.expire(answer=True)
            else:
                break
        if self._live and self._sweeper is None:
            self._sweeper = self.reactor.callLater(self.deadline_slot, self._sweep)

    def _settled(self, pending: _Pending) -> None:
        """One waiting query is answered; with none left, the sweep stops (and a drain ends)."""
        timer = pending.timer
        if timer is not None:
            pending.timer = None
            self._own_deadline.discard(pending)
            if timer.active():
                timer.cancel()
        self._live -= 1
        if not self._live:
            self._waiting.clear()
            sweeper, self._sweeper = self._sweeper, None
            if sweeper is not None and sweeper.active():
                sweeper.cancel()
            if self._drain_waiters:
                waiters, self._drain_waiters = self._drain_waiters, []
                for d in waiters:
                    d.callback(None)

    @property
    def waiting(self) -> int:
        """How many queries wait on their chain (not answered yet)."""
        return self._live

    def drained(self) -> defer.Deferred:
        """A Deferred firing once no query waits on its chain (at once if none does).

        Each waiting query is answered by its chain or, at the latest, by the deadline sweep;
        cancelling the Deferred only stops waiting.
        """
        if not self._live:
            return defer.succeed(None)
        waiters = self._drain_waiters

        def cancel(d: defer.Deferred) -> None:
            if d in waiters:
                waiters.remove(d)

        d: defer.Deferred = defer.Deferred(cancel)
        waiters.append(d)
        return d

    def stop(self) -> None:
        """The listener is gone: give up on the waiting queries (no reply can be sent now:
        their writers are closed and their chains cancelled) and stop the sweep."""
        waiting = [*self._waiting, *self._own_deadline]
        for pending in waiting:
            if not pending.done:
                pending.expire(answer=False)
        self._waiting.clear()


class _Pending:
    """One query waiting on its chain, racing the deadline; whichever comes first answers."""

    __slots__ = ("chain", "deferred", "done", "expires", "handler", "request", "timer",
                 "writer")

    def __init__(self, handler: QueryHandler, request: Request, writer: Any, chain: Any,
                 deferred: defer.Deferred) -> None:
        self.handler = handler
        self.request = request
        self.writer = writer
        self.chain = chain
        self.deferred: defer.Deferred | None = deferred
        self.done = False
        #: when the deadline passes; None while not queued (answered as the chain returned)
        self.expires: float | None = None
        #: the timer of a query with its own deadline
        self.timer: Any = None

    def finished(self, result: Any) -> None:
        if self.done:
            return None  # too late: the deadline answered already; swallow result or failure
        self.done = True
        handler, request, writer = self.handler, self.request, self.writer
        try:
            if isinstance(result, Failure):
                handler._failed(request, writer, self.chain, result)
            elif not isinstance(result, int):
                handler._failed(request, writer, self.chain, Failure(TypeError(
                    f"ServeDNS's Deferred fired with {result!r}, not an rcode")))
            elif result in NO_CLIENT_WRITE and not writer.written:
                handler._answer(request, writer, wire.reply(request, result))
            elif handler.observers:
                handler._notify(request, writer)
        except Exception:
            log.failure("finishing {request!r} failed", request=request)
        if self.expires is not None:  # it was queued: count it out, let go of the query
            self.request = self.writer = self.deferred = None
            handler._settled(self)
        return None

    def expire(self, answer: bool) -> None:
        """Give up on the chain: SERVFAIL if ``answer`` and nothing was written, then
        cancel the chain's Deferred (which then fires with None)."""
        self.done = True
        handler, request, writer, d = self.handler, self.request, self.writer, self.deferred
        self.request = self.writer = self.deferred = None
        handler._settled(self)
        if answer:
            log.debug("plugin/{plugin}: no answer for {qname} within {deadline}s",
                      plugin=_plugin_name(request, self.chain), qname=request.qname,
                      deadline=handler.deadline)
            if not writer.written:
                handler._answer(request, writer, wire.reply(request, SERVFAIL))
            elif handler.observers:
                handler._notify(request, writer)
        writer.close()
        try:
            d.cancel()  # let the plugin stop what it still waits on
        except Exception:
            log.failure("cancelling the chain's Deferred failed")


def _plugin_name(request: Request, chain: Any) -> str:
    if request.plugin:
        return request.plugin
    try:
        return str(chain.Name())
    except Exception:
        return repr(chain)
