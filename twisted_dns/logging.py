"""JSON log lines for log shippers: one object per line with stable keys.

Every line has ``time`` (RFC 3339, UTC, milliseconds), ``level`` (debug, info, warn, error,
critical), ``namespace`` (the plugin or subsystem, e.g. ``log``, ``reload``, ``server``) and
``message`` (the event formatted as the text log shows it); ``traceback`` when the event
carries a failure; then the event's own fields that JSON can represent (the *log* plugin's
query lines carry ``log_line``). Twisted's bookkeeping keys (``log_format``, ``log_source``,
...) are left out. Twisted's own ``jsonFileLogObserver`` writes its internal event format
(record separators, ``log_format`` templates), which is for replaying events, not for reading.

twistd installs it with ``twistd --logger twisted_dns.logging.json_observer -n pydns ...`` or,
through ``twistd pydns --log-format json`` (or ``TWISTED_DNS_LOG_FORMAT=json``), by
:mod:`twisted_dns.tap`.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timezone
from typing import IO, Any

from twisted.logger import ILogObserver, LogLevel, formatEvent
from zope.interface import implementer

#: what Twisted (and its legacy ``twisted.python.log``) puts in events for itself
_TWISTED_KEYS = frozenset({
    "log_failure", "log_flattened", "log_format", "log_io", "log_legacy", "log_level",
    "log_logger", "log_namespace", "log_source", "log_system", "log_text", "log_time",
    "log_timestamp", "log_trace",
    "message", "format", "isError", "system", "time", "why", "failure", "printed",
})
_SCALARS = (str, int, float, bool, type(None))

#: where :func:`json_observer` writes (None: standard output); set by ``twistd pydns``
output_path: str | None = None


def rfc3339(timestamp: float) -> str:
    """``2026-11-28T01:36:14.123Z``."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return not isinstance(value, float) or math.isfinite(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def event_as_record(event: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of one event (a dict ready for ``json.dumps``)."""
    level = event.get("log_level", LogLevel.info)
    record: dict[str, Any] = {
        "time": rfc3339(event.get("log_time", 0.0)),
        "level": getattr(level, "name", str(level)),
        "namespace": event.get("log_namespace", ""),
        "message": formatEvent(event),
    }
    failure = event.get("log_failure")
    if failure is not None:
        record["traceback"] = failure.getTraceback()
    for key, value in event.items():
        if key not in _TWISTED_KEYS and key not in record and _jsonable(value):
            record[key] = value
    return record


@implementer(ILogObserver)
class JSONLineObserver:
    """Writes each event to ``stream`` as one JSON line (flushed, so pipes see it at once)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event_as_record(event), ensure_ascii=False)
        self.stream.write(line + "\n")
        self.stream.flush()


def json_observer() -> JSONLineObserver:
    """The observer factory for twistd's ``--logger``: standard output, or ``output_path``."""
    if output_path is None:
        return JSONLineObserver(sys.stdout)
    return JSONLineObserver(open(output_path, "a", encoding="utf-8"))
