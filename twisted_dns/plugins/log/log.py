"""The query log: one line per query, in a format made of CoreDNS placeholders.

The handler wraps the writer in a :class:`~twisted_dns.response.Recorder`, lets the rest of
the chain answer, and formats the line once the answer is known: at once when the chain
returned an rcode, when the Deferred fires otherwise (also when it fails: the line then shows
what was written, usually nothing). Lines go to ``twisted.logger`` at level info in namespace
``log``; the event's ``log_line`` is the line and also its whole formatted message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.logger import Logger
from zope.interface import implementer

from twisted_dns.interfaces import IPlugin
from twisted_dns.names import is_subdomain
from twisted_dns.pkg.chain import as_deferred, next_or_failure
from twisted_dns.pkg.durations import Duration
from twisted_dns.pkg.replacer import EMPTY_VALUE, compile_format
from twisted_dns.pkg.response import Class, classify, typify
from twisted_dns.response import Recorder

log = Logger(namespace="log")

#: CoreDNS's Common Log Format
COMMON_LOG_FORMAT = (
    "{remote}:{port} " + EMPTY_VALUE + ' {>id} "{type} {class} {name} {proto} {size} {>do} '
    '{>bufsize}" {rcode} {>rflags} {rsize} {duration}'
)
#: the Common Log Format with the query opcode
COMBINED_LOG_FORMAT = COMMON_LOG_FORMAT + ' "{>opcode}"'
DEFAULT_LOG_FORMAT = COMMON_LOG_FORMAT
#: ``minDuration`` without a value
DEFAULT_MIN_DURATION = "100ms"


@dataclass
class Rule:
    """Log queries for names under ``name_scope`` whose answer is in ``classes``.

    An answer of another class is still logged when it took longer than ``min_duration``
    (when that is set).
    """

    name_scope: str = "."
    format: str = DEFAULT_LOG_FORMAT
    classes: frozenset[Class] = field(default_factory=lambda: frozenset({Class.ALL}))
    min_duration: Duration = field(default_factory=lambda: Duration(0))

    def matches(self, name: str) -> bool:
        """Whether the (lower-case) query name is at or below the scope."""
        return is_subdomain(name, self.name_scope)


@implementer(IPlugin)
class QueryLog:
    """The *log* plugin's chain link."""

    def __init__(self, next_plugin: Any, rules: list[Rule], reactor: Any) -> None:
        self.next = next_plugin
        self.rules = rules
        self.reactor = reactor
        self._formats = [compile_format(rule.format) for rule in rules]

    def Name(self) -> str:  # noqa: N802
        return "log"

    def ServeDNS(self, request: Any, writer: Any) -> Any:  # noqa: N802
        name = request.qname_lower
        for index, rule in enumerate(self.rules):
            if not rule.matches(name):
                continue
            recorder = Recorder(writer)
            try:
                result = next_or_failure("log", self.next, request, recorder)
            except Exception:
                self._emit(index, request, recorder)
                raise
            if isinstance(result, int):
                self._emit(index, request, recorder)
                return result

            def logged(outcome: Any, index: int = index, recorder: Recorder = recorder) -> Any:
                self._emit(index, request, recorder)
                return outcome

            return as_deferred(result).addBoth(logged)
        return next_or_failure("log", self.next, request, writer)

    def _emit(self, index: int, request: Any, recorder: Recorder) -> None:
        rule = self.rules[index]
        now = self.reactor.seconds()
        if Class.ALL not in rule.classes:
            wanted = classify(typify(recorder.reply, now)) in rule.classes
            if not wanted and not (rule.min_duration > 0
                                   and now - recorder.start > rule.min_duration.seconds):
                return
        line = self._formats[index].render(request, recorder, now)
        log.info("{log_line}", log_line=line)
