"""Run BIND's ``named`` as a peer for tests: authoritative for given zone files on loopback.

    server = NamedServer(tmpdir, {"example.org.": "/path/db.example.org"}, port=0)
    yield server.start()        # Deferred: fires once named answers SOA for every zone
    ... dns.query.udp(q, "127.0.0.1", port=server.port) ...
    yield server.stop()

``port=0`` picks a free port (UDP and TCP) before starting. ``extra_options`` and
``extra_zone_options`` are named.conf statements added to ``options { }`` and to every
``zone { }`` (e.g. ``"allow-transfer { any; };"`` to let tests AXFR from BIND). Each zone
file is copied into ``directory``, which is named's working directory, so a relative
``$INCLUDE`` is read from there; name the included files in ``includes`` to copy them too.

``secondaries`` (origin -> (host, port) of a primary, e.g. a pydns server) makes named a
secondary that transfers those zones in; ``start()`` then also waits until each one is
transferred (it answers its SOA). ``named`` runs in the foreground (``-g``); its log is in
``server.output``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Mapping

import dns.exception
import dns.message
import dns.query
from twisted.internet import defer, error, protocol, threads

from twisted_dns.testing import free_port

NAMED = "/usr/sbin/named"


def named_path() -> str | None:
    """The ``named`` binary, or None when BIND is not installed."""
    return shutil.which("named") or (NAMED if os.access(NAMED, os.X_OK) else None)




class _Output(protocol.ProcessProtocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's API
        self.data += data

    errReceived = outReceived

    def processEnded(self, reason) -> None:  # noqa: N802 - Twisted's API
        self.ended.callback(reason.value)


class NamedServer:
    """One ``named`` process serving ``zones`` (origin -> zone file path) on 127.0.0.1."""

    host = "127.0.0.1"

    def __init__(self, directory: str, zones: Mapping[str, str], port: int = 0,
                 extra_options: str = "", extra_zone_options: str = "",
                 includes: Iterable[str] = (),
                 secondaries: Mapping[str, tuple[str, int]] | None = None,
                 reactor=None) -> None:
        self.directory = directory
        self.zones = dict(zones)
        self.secondaries = dict(secondaries or {})
        self.port = port or free_port()
        self.extra_options = extra_options
        self.extra_zone_options = extra_zone_options
        self.includes = list(includes)
        self._reactor = reactor
        self._process = None
        self._output = _Output()

    @property
    def output(self) -> str:
        """What named printed so far (its log)."""
        return self._output.data.decode("utf-8", "replace")

    def config(self) -> str:
        """The named.conf text."""
        zones = []
        for index, origin in enumerate(self.zones):
            zones.append(f'zone "{origin}" {{ type primary; file "zone{index}.db";'
                         f" {self.extra_zone_options} }};")
        for index, (origin, (host, port)) in enumerate(self.secondaries.items()):
            zones.append(f'zone "{origin}" {{ type secondary; file "secondary{index}.db";'
                         f" primaries {{ {host} port {port}; }};"
                         f" {self.extra_zone_options} }};")
        return "\n".join([
            "options {",
            f'    directory "{self.directory}";',
            f'    pid-file "{self.directory}/named.pid";',
            f'    session-keyfile "{self.directory}/session.key";',
            f"    listen-on port {self.port} {{ 127.0.0.1; }};",
            "    listen-on-v6 { none; };",
            "    recursion no;",
            "    minimal-responses no;",
            "    dnssec-validation no;",
            "    notify no;",
            f"    {self.extra_options}",
            "};",
            'controls { };',
            *zones,
            "",
        ])

    def start(self, timeout: float = 20.0) -> defer.Deferred:
        """Write the config, start named, fire once it answers for every zone."""
        from twisted.internet import reactor as default_reactor

        reactor = self._reactor or default_reactor
        binary = named_path()
        if binary is None:
            return defer.fail(FileNotFoundError("named is not installed"))
        for index, path in enumerate(self.zones.values()):
            shutil.copyfile(path, os.path.join(self.directory, f"zone{index}.db"))
        for path in self.includes:
            shutil.copyfile(path, os.path.join(self.directory, os.path.basename(path)))
        conf = os.path.join(self.directory, "named.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(self.config())
        args = [binary, "-g", "-c", conf, "-n", "1"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        self._process = reactor.spawnProcess(self._output, binary, args, env=dict(os.environ),
                                             path=self.directory)
        return threads.deferToThread(self._wait_ready, timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Poll (in a thread) until every zone answers its SOA, or fail with named's log."""
        deadline = time.monotonic() + timeout
        pending = [*self.zones, *self.secondaries]
        while pending:
            if self._output.ended.called:
                raise RuntimeError(f"named exited:\n{self.output}")
            if "not loaded due to errors" in self.output:
                raise RuntimeError(f"named did not load a zone:\n{self.output}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"named not ready after {timeout}s:\n{self.output}")
            query = dns.message.make_query(pending[0], "SOA")
            try:
                reply = dns.query.udp(query, self.host, port=self.port, timeout=0.2)
            except (dns.exception.Timeout, OSError):
                continue
            if reply.rcode() == 0 and reply.answer:
                pending.pop(0)
            else:
                time.sleep(0.05)  # loaded but this zone not yet: poll again shortly

    def stop(self) -> defer.Deferred:
        """Terminate named; fires once it exited."""
        if self._process is None or self._output.ended.called:
            return defer.succeed(None)
        with contextlib.suppress(error.ProcessExitedAlready):
            self._process.signalProcess("TERM")
        return self._output.ended.addBoth(lambda _: None)
