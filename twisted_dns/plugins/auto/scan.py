"""Keep a :class:`~twisted_dns.plugins.file.Zones` in step with a directory of zone files.

A file whose name matches the regexp becomes a zone whose origin is the template filled with
the regexp's groups (CoreDNS's ``walk.go``). The first scan runs at setup; then every
``interval`` seconds a scan adds new zones, drops zones whose file is gone and re-reads
changed files through :class:`~twisted_dns.plugins.file.ZoneFile` (swapped in when
the serial increases). Parsing after setup runs in a thread so the reactor keeps answering.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer, threads
from twisted.logger import Logger

from twisted_dns.names import is_subdomain, normalize
from twisted_dns.pkg import filestat
from twisted_dns.pkg.periodic import Periodic
from twisted_dns.plugins.file import Zone, ZoneError, ZoneFile, Zones

log = Logger(namespace="auto")

DEFAULT_PATTERN = r"db\.(.*)"
DEFAULT_TEMPLATE = "{1}"
_FIELD = re.compile(r"\{(\w+)\}")


def origin_of(pattern: re.Pattern[str], template: str, filename: str) -> str | None:
    """The origin a file name gives (``{1}`` is the first group, ``{name}`` a named one).

    The regexp is searched for anywhere in the name, as Go's ``FindStringSubmatchIndex``;
    a group that did not take part (or does not exist) expands to nothing.
    """
    found = pattern.search(filename)
    if found is None:
        return None

    def field(match: re.Match[str]) -> str:
        key = match.group(1)
        try:
            return found.group(int(key) if key.isdigit() else key) or ""
        except IndexError:
            return ""

    origin = _FIELD.sub(field, template)
    return normalize(origin) if origin else None


def walk(directory: str) -> Iterable[tuple[str, str]]:
    """``(path, file name)`` of every file below ``directory``, in lexical order as Go's
    ``filepath.Walk``: symlinked files are followed, symlinked folders are not entered (but
    ``directory`` itself may be a symlink)."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as e:
        log.warn("error reading {path}: {error}", path=directory, error=e.strerror)
        return
    for entry in entries:
        try:
            is_dir, is_file = entry.is_dir(follow_symlinks=False), entry.is_file()
        except OSError as e:  # e.g. a link we may not follow: skipped, as Go's Walk does
            log.warn("error reading {path}: {error}", path=entry.path, error=e.strerror)
            continue
        if is_dir:
            yield from walk(entry.path)
        elif is_file:
            yield os.path.normpath(entry.path), entry.name


class Scanner:
    """The zone files of one ``auto`` directive and the :class:`Zones` they fill."""

    def __init__(self, directory: str | None, pattern: re.Pattern[str], template: str,
                 origins: list[str], zones: Zones, interval: float, reactor: Any = None,
                 run: Callable[..., defer.Deferred] = threads.deferToThread) -> None:
        self.directory = directory
        self.pattern = pattern
        self.template = template
        self.origins = origins
        self.zones = zones
        self.interval = interval
        self.reactor = reactor
        #: how a parse is run after setup: in a thread (tests pass ``defer.maybeDeferred``)
        self.run = run
        #: origin -> the file it is read from
        self.files: dict[str, ZoneFile] = {}
        self._poll = Periodic(self.scan, "auto scan loop")
        self._scanning: defer.Deferred | None = None

    def wanted(self, origin: str) -> bool:
        """True when queries can reach the zone: it is at, below or above a served origin.

        CoreDNS loads every matching file and just never asks the others; they are not read.
        """
        return any(is_subdomain(origin, o) or is_subdomain(o, origin) for o in self.origins)

    def find(self) -> dict[str, str]:
        """origin -> path of the zone files in the directory now (the first file wins)."""
        found: dict[str, str] = {}
        if not self.directory:
            return found
        for path, name in walk(os.path.realpath(self.directory)):
            origin = origin_of(self.pattern, self.template, name)
            if origin is None or not self.wanted(origin):
                continue
            previous = found.get(origin)
            if previous is not None:
                log.warn("Multiple zone files match origin {origin}: using {previous} instead"
                         " of {path}", origin=origin, previous=previous, path=path)
                continue
            found[origin] = path
        return found

    def load(self) -> None:
        """The first scan, at setup: read every zone file now (a bad one is logged, skipped)."""
        for origin, path in self.find().items():
            zone_file = ZoneFile(path, origin, self.zones, self.interval, self.reactor,
                                 self.run)
            try:
                zone_file.load()
            except ZoneError as e:
                log.warn("Parse zone {origin}: {error}", origin=origin, error=e)
                continue
            self.files[origin] = zone_file
            log.info("Inserting zone {origin} from: {path}", origin=origin, path=path)

    def scan(self) -> defer.Deferred:
        """One rescan: drop zones whose file is gone, re-read changed files, add new zones.

        Fires when every parse it started is done; a scan asked for while one runs waits
        for that one instead of starting another.
        """
        if self._scanning is not None:
            return self._scanning
        found = self.find()
        for origin in [o for o in self.files if o not in found]:
            del self.files[origin]
            self.zones.remove(origin)
            log.info("Deleting zone {origin}", origin=origin)
        pending = []
        for origin, path in found.items():
            zone_file = self.files.get(origin)
            if zone_file is None:
                pending.append(self._add(origin, path))
                continue
            if zone_file.path != path:
                zone_file.path = path
                zone_file.loaded_signature = None
            pending.append(zone_file.check())
        done = self._scanning = defer.DeferredList(pending, consumeErrors=True)
        done.addBoth(self._scanned)
        return done

    def _scanned(self, result: Any) -> Any:
        self._scanning = None
        return result

    def _add(self, origin: str, path: str) -> defer.Deferred:
        """Parse a new zone file (in a thread) and serve it once it parsed."""
        signature = filestat.signature(path)
        d = self.run(Zone.from_file, path, origin)

        def parsed(zone: Zone) -> None:
            zone_file = ZoneFile(path, origin, self.zones, self.interval, self.reactor,
                                 self.run)
            zone_file.loaded_signature = signature
            self.files[origin] = zone_file
            self.zones.replace(zone)
            log.info("Inserting zone {origin} from: {path}", origin=origin, path=path)

        def failed(failure: Any) -> None:
            if failure.check(ZoneError):
                log.warn("Parse zone {origin}: {error}", origin=origin, error=failure.value)
            else:
                log.failure("Loading zone {origin}", failure, origin=origin)

        return d.addCallbacks(parsed, failed)

    def start(self) -> None:
        """Rescan every interval (never when the interval is 0)."""
        self._poll.start(self.interval, self.reactor)

    def stop(self) -> None:
        self._poll.stop()
