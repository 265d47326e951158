"""Error logging for the chain below: every exception becomes one log line and a SERVFAIL.

A plugin reports an error the Python way, by raising (or failing its Deferred); *errors*
logs it as CoreDNS does, ``plugin/errors: RCODE NAME TYPE: MESSAGE`` at level error, and
returns the rcode so the server answers it (SERVFAIL, or the exception's ``rcode`` attribute
when it has one). Errors matching a ``consolidate`` pattern are counted instead, and one
``N errors like 'REGEXP' occurred in last DURATION`` line is logged per period, timed by the
reactor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import dns.rdatatype
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin
from twisted_dns.pkg.chain import as_deferred, client_wrote, next_or_failure
from twisted_dns.pkg.durations import Duration
from twisted_dns.wire import SERVFAIL

log = Logger(namespace="errors")

#: consolidate LEVEL names -> twisted.logger levels
LEVELS = {
    "warning": LogLevel.warn,
    "warn": LogLevel.warn,  # older CoreDNS READMEs spell it so
    "error": LogLevel.error,
    "info": LogLevel.info,
    "debug": LogLevel.debug,
}


@dataclass(eq=False)
class Pattern:
    """One ``consolidate DURATION REGEXP [LEVEL] [show_first]`` line and its running count."""

    period: Duration
    regexp: re.Pattern
    level: LogLevel = LogLevel.error
    show_first: bool = False
    count: int = 0
    timer: Any = None


def error_text(error: BaseException) -> str:
    """The message CoreDNS would print for ``error`` (its type name when it says nothing)."""
    return str(error) or type(error).__name__


@implementer(IPlugin)
class ErrorHandler:
    """The *errors* plugin's chain link."""

    def __init__(self, next_plugin: Any, patterns: list[Pattern], reactor: Any,
                 stacktrace: bool = False) -> None:
        self.next = next_plugin
        self.patterns = patterns
        self.reactor = reactor
        #: log each error's traceback too
        self.stacktrace = stacktrace
        self.stopped = False

    def Name(self) -> str:  # noqa: N802
        return "errors"

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802
        try:
            result = next_or_failure("errors", self.next, request, writer)
        except Exception:
            return self._failed(Failure(), request, writer)
        if isinstance(result, int):
            return result
        return as_deferred(result).addErrback(self._failed, request, writer)

    def _failed(self, failure: Failure, request: Any, writer: Any) -> int:
        error = failure.value
        rcode = getattr(error, "rcode", SERVFAIL)
        if not isinstance(rcode, int):
            rcode = SERVFAIL
        text = error_text(error)
        for pattern in self.patterns:
            if pattern.regexp.search(text):
                if self._count(pattern, request, rcode, text, failure):
                    return self._outcome(rcode, writer)
                break
        self._log(LogLevel.error, request, rcode, text, failure)
        return self._outcome(rcode, writer)

    @staticmethod
    def _outcome(rcode: int, writer: Any) -> int:
        # A plugin that wrote and then failed already answered: do not make the server write
        # a second reply.
        if getattr(writer, "written", False) and not client_wrote(rcode):
            return int(getattr(writer, "rcode", None) or 0)
        return int(rcode)

    def _log(self, level: LogLevel, request: Any, rcode: int, text: str,
             failure: Failure | None = None) -> None:
        fmt = "plugin/errors: {rcode} {name} {type}: {error}"
        fields = {"rcode": rcode, "name": request.qname_lower,
                  "type": dns.rdatatype.to_text(request.qtype), "error": text}
        if self.stacktrace and failure is not None:
            log.failure(fmt, failure, level, **fields)
        else:
            log.emit(level, fmt, **fields)

    def _count(self, pattern: Pattern, request: Any, rcode: int, text: str,
               failure: Failure) -> bool:
        """Count an error for ``pattern``; False once stopped (log it on its own then)."""
        if self.stopped:
            return False
        pattern.count += 1
        if pattern.count == 1:
            if pattern.show_first:
                self._log(pattern.level, request, rcode, text, failure)
            pattern.timer = self.reactor.callLater(pattern.period.seconds, self._flush, pattern)
        return True

    def _flush(self, pattern: Pattern) -> None:
        count, pattern.count, pattern.timer = pattern.count, 0, None
        if count > (1 if pattern.show_first else 0):
            log.emit(pattern.level,
                     "plugin/errors: {count} errors like '{pattern}' occurred in last {period}",
                     count=count, pattern=pattern.regexp.pattern, period=str(pattern.period))

    def stop(self) -> None:
        """The shutdown hook: log what the running periods counted, count no more."""
        self.stopped = True
        for pattern in self.patterns:
            timer = pattern.timer
            if timer is not None and timer.active():
                timer.cancel()
                self._flush(pattern)
