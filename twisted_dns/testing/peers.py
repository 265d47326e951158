"""Real DNS servers as test peers: BIND's ``named``, Unbound and CoreDNS, on loopback, no network.

    server = NamedServer(directory, {"example.org.": "/path/db.example.org"})
    yield server.start()        # fires once it answers; fails with its log if it cannot
    ... dns.query.udp(q, server.host, port=server.port) ...
    yield server.stop()

Both are a :class:`PeerProcess`: a program run in the foreground in ``directory`` (created
if missing) on a free port (UDP and TCP) of 127.0.0.1, with its config written there. Its
output is :attr:`~PeerProcess.output`; a peer that exits, or says it failed, before it answers
fails ``start()`` at once with that log. :meth:`~PeerProcess.prepare` writes the files and
returns the command line without starting anything (the benchmarks start it themselves).
A test calls :meth:`~PeerProcess.require` (or :func:`require_program` for a client such as
``kdig``) first: it skips the test when the program is not installed, except under CI (the
``CI`` environment variable set), where a missing peer fails the test: CI must have it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Mapping
from typing import Any

import dns.exception
import dns.message
import dns.query
from twisted.internet import defer, error, protocol
from twisted.trial import unittest

from twisted_dns.testing.server import free_port
from twisted_dns.testing.timing import eventually


def find_program(program: str, *directories: str) -> str | None:
    """``program``'s path: on PATH, else in one of ``directories`` (/usr/sbin by default)."""
    found = shutil.which(program)
    for directory in directories or ("/usr/sbin",):
        candidate = os.path.join(directory, program)
        if found is None and os.access(candidate, os.X_OK):
            found = candidate
    return found


def go_bin_directories() -> list[str]:
    """Where ``go install`` puts programs: $GOBIN, $GOPATH/bin, ~/go/bin."""
    gopath = os.environ.get("GOPATH")
    directories = [os.environ.get("GOBIN"), gopath and os.path.join(gopath, "bin"),
                   os.path.expanduser("~/go/bin")]
    return [directory for directory in directories if directory]


def require_program(program: str, path: str | None = None) -> str:
    """``path`` (``program``'s, found by :func:`find_program` when None); when there is none the
    test skips, or fails under CI, whose ``.ci/run`` installs every peer the tests use."""
    found = path or find_program(program)
    if found is None:
        if os.environ.get("CI"):
            raise AssertionError(f"{program} is not installed, and CI must have it "
                                 "(.ci/run installs it)")
        raise unittest.SkipTest(f"{program} is not installed")
    return found


class _Output(protocol.ProcessProtocol):
    """Collects the process's stdout and stderr; ``ended`` fires when it exits."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's API
        self.data += data

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:  # noqa: N802 - Twisted's API
        self.ended.callback(reason.value)


class PeerProcess:
    """One server program on 127.0.0.1:``port``; subclasses say how to configure and probe it."""

    host = "127.0.0.1"
    #: the program's name, looked up on PATH and then in /usr/sbin
    program = ""

    def __init__(self, directory: str, port: int = 0, reactor: Any = None) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = os.path.abspath(directory)
        self.port = port or free_port()
        self._reactor = reactor
        self._process: Any = None
        self._output = _Output()

    @classmethod
    def binary(cls) -> str | None:
        """The program's path, or None when it is not installed."""
        return find_program(cls.program)

    @classmethod
    def require(cls) -> str:
        """The program's path; skips the calling test when it is missing (fails under CI)."""
        return require_program(cls.program, cls.binary())

    @property
    def output(self) -> str:
        """What the program printed so far (its log)."""
        return self._output.data.decode("utf-8", "replace")

    def config(self) -> str:
        """The config file's text."""
        raise NotImplementedError

    def arguments(self, config: str) -> list[str]:
        """The command line after the binary, for the config file at ``config``."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The program's environment variables (this process's, by default)."""
        return dict(os.environ)

    def probes(self) -> list[dns.message.Message]:
        """The queries that must all be answered before the peer counts as started."""
        raise NotImplementedError

    def answered(self, reply: dns.message.Message) -> bool:
        """Whether a probe's reply shows the peer ready (any reply, by default)."""
        return True

    def failure(self) -> str | None:
        """What the log says went wrong before it answered (a zone not loaded...), or None."""
        return None

    def prepare(self) -> list[str]:
        """Write the config (and whatever else it reads) into the directory; the argv."""
        binary = self.binary()
        if binary is None:
            raise FileNotFoundError(f"{self.program} is not installed")
        path = os.path.join(self.directory, f"{self.program}.conf")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.config())
        return [binary, *self.arguments(path)]

    def start(self, timeout: float = 20.0) -> defer.Deferred:
        """Start the program; fires once every probe is answered, fails with its log if it
        exits or fails first, or is not answering after ``timeout`` seconds."""
        from twisted.internet import reactor as default_reactor

        try:
            argv = self.prepare()
        except OSError as exc:
            return defer.fail(exc)
        self._process = (self._reactor or default_reactor).spawnProcess(
            self._output, argv[0], argv, env=self.environment(), path=self.directory)
        return eventually(self._ready, timeout, in_thread=True,
                          message=lambda: f"{self.program} not answering on port {self.port}"
                                          f":\n{self.output}")

    def _ready(self) -> bool:
        """Whether every probe is answered now (blocking: runs in a thread); raises when the
        program exited or failed, so that start() does not wait for nothing."""
        if self._output.ended.called:
            raise RuntimeError(f"{self.program} exited:\n{self.output}")
        failed = self.failure()
        if failed is not None:
            raise RuntimeError(f"{self.program}: {failed}:\n{self.output}")
        for query in self.probes():
            try:
                reply = dns.query.udp(query, self.host, port=self.port, timeout=0.2)
            except (dns.exception.Timeout, OSError):
                return False
            if not self.answered(reply):
                return False
        return True

    def signal(self, name: str) -> None:
        """Send the signal ``name`` ("TERM", "USR1"...) unless the program has exited."""
        if self._process is not None:
            with contextlib.suppress(error.ProcessExitedAlready):
                self._process.signalProcess(name)

    def exited(self) -> defer.Deferred:
        """Fires once the program has exited."""
        done = defer.Deferred()
        self._output.ended.addBoth(lambda result: (done.callback(None), result)[1])
        return done

    def stop(self) -> defer.Deferred:
        """Terminate the program; fires once it exited."""
        if self._process is None or self._output.ended.called:
            return defer.succeed(None)
        self.signal("TERM")
        return self.exited()


class NamedServer(PeerProcess):
    """BIND's ``named``, authoritative for ``zones`` (origin -> zone file path).

    ``extra_options`` and ``extra_zone_options`` are named.conf statements added to
    ``options { }`` and to every ``zone { }`` (e.g. ``"allow-transfer { any; };"`` to let
    tests AXFR from BIND). Each zone file is copied into the directory, named's working
    directory, so a relative ``$INCLUDE`` is read from there; name the included files in
    ``includes`` to copy them too. ``secondaries`` (origin -> (host, port) of a primary, a
    pydns server say) makes named a secondary that transfers those zones in. ``start()`` waits
    until every zone, primary or secondary, answers its SOA.
    """

    program = "named"

    def __init__(self, directory: str, zones: Mapping[str, str], port: int = 0,
                 extra_options: str = "", extra_zone_options: str = "",
                 includes: Iterable[str] = (),
                 secondaries: Mapping[str, tuple[str, int]] | None = None,
                 reactor: Any = None) -> None:
        super().__init__(directory, port, reactor)
        self.zones = dict(zones)
        self.secondaries = dict(secondaries or {})
        self.extra_options = extra_options
        self.extra_zone_options = extra_zone_options
        self.includes = list(includes)

    def config(self) -> str:
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

    def prepare(self) -> list[str]:
        for index, path in enumerate(self.zones.values()):
            shutil.copyfile(path, os.path.join(self.directory, f"zone{index}.db"))
        for path in self.includes:
            shutil.copyfile(path, os.path.join(self.directory, os.path.basename(path)))
        return super().prepare()

    def arguments(self, config: str) -> list[str]:
        # -g: foreground, log to stderr; as root, stay root (no "named" user here)
        return ["-g", "-c", config, "-n", "1", *(["-u", "root"] if os.geteuid() == 0 else [])]

    def probes(self) -> list[dns.message.Message]:
        return [dns.message.make_query(origin, "SOA") for origin in [*self.zones,
                                                                     *self.secondaries]]

    def answered(self, reply: dns.message.Message) -> bool:
        return reply.rcode() == 0 and bool(reply.answer)

    def failure(self) -> str | None:
        return "a zone did not load" if "not loaded due to errors" in self.output else None


class UnboundServer(PeerProcess):
    """Debian's ``unbound``, answering only ``records`` (owner -> RR texts), never the network.

    ``records`` maps an owner name to its records as zone-file text after the owner
    (``"[TTL] [CLASS] TYPE RDATA"``); each becomes one ``local-data`` line. The whole tree is
    a ``static`` local zone (``local_zone_type``), so any other name gets NXDOMAIN/NODATA from
    unbound itself. ``tls=(cert_pem, key_pem)`` also serves DNS over TLS on ``tls_port``;
    ``extra`` is added to the ``server:`` clause (e.g. ``"val-log-level: 2"``). It runs as the
    current user, without chroot or syslog.
    """

    program = "unbound"

    def __init__(self, directory: str, records: Mapping[str, str | Iterable[str]],
                 port: int = 0, tls: tuple[str, str] | None = None,
                 local_zone_type: str = "static", extra: str = "", reactor: Any = None) -> None:
        super().__init__(directory, port, reactor)
        self.records = {name: [rrs] if isinstance(rrs, str) else list(rrs)
                        for name, rrs in records.items()}
        self.tls = tuple(os.path.abspath(path) for path in tls) if tls else None
        self.tls_port = free_port() if tls else None
        self.local_zone_type = local_zone_type
        self.extra = extra

    def config(self) -> str:
        lines = [
            "server:",
            f"    interface: {self.host}@{self.port}",
            f"    port: {self.port}",
            f'    directory: "{self.directory}"',
            f'    pidfile: "{self.directory}/unbound.pid"',
            '    chroot: ""',
            '    username: ""',
            "    do-daemonize: no",
            "    use-syslog: no",
            '    logfile: ""',
            "    verbosity: 1",
            "    num-threads: 1",
            "    do-ip6: no",
            "    so-reuseport: no",
            '    module-config: "iterator"',
            "    access-control: 127.0.0.0/8 allow",
            f'    local-zone: "." {self.local_zone_type}',
        ]
        if self.tls:
            cert, key = self.tls
            lines += [f"    interface: {self.host}@{self.tls_port}",
                      f"    tls-port: {self.tls_port}",
                      f'    tls-service-pem: "{cert}"',
                      f'    tls-service-key: "{key}"']
        for name, rrs in self.records.items():
            lines += [f"    local-data: {_quoted(f'{name} {rr}')}" for rr in rrs]
        if self.extra:
            lines.append(f"    {self.extra}")
        lines += ["remote-control:", "    control-enable: no", ""]
        return "\n".join(lines)

    def arguments(self, config: str) -> list[str]:
        return ["-d", "-c", config]

    def probes(self) -> list[dns.message.Message]:
        return [dns.message.make_query(".", "NS")]


def _quoted(text: str) -> str:
    """A value for unbound.conf: double quotes unless the text holds some (TXT rdata)."""
    return f"'{text}'" if '"' in text else f'"{text}"'


class CoreDNSServer(PeerProcess):
    """CoreDNS (``go install github.com/coredns/coredns@VERSION``) serving ``corefile``.

    The Corefile text is used as it is; server blocks without a port listen on :attr:`port`
    (``-dns.port``), so ``". { whoami }"`` in, ``server.port`` out. Relative paths in it
    (``file db.example.org``) are read from ``directory``, CoreDNS's working directory.
    ``environ`` adds variables for its ``{$NAME}`` substitutions. ``start()`` waits until a
    query for ``probe`` (name, type) gets any reply: CoreDNS only listens once every plugin
    is set up, so that is when it serves.
    """

    program = "coredns"
    #: the release .ci/run installs (the tests compare with it)
    version = "1.14.7"

    def __init__(self, directory: str, corefile: str, port: int = 0,
                 environ: Mapping[str, str] | None = None, probe: tuple[str, str] = (".", "SOA"),
                 reactor: Any = None) -> None:
        super().__init__(directory, port, reactor)
        self.corefile = corefile
        self.environ = dict(environ or {})
        self.probe = probe

    @classmethod
    def binary(cls) -> str | None:
        """On PATH, else where ``go install`` puts it."""
        return find_program(cls.program, *go_bin_directories())

    def config(self) -> str:
        return self.corefile

    def arguments(self, config: str) -> list[str]:
        return ["-conf", config, "-dns.port", str(self.port)]

    def environment(self) -> dict[str, str]:
        """CoreDNS's environment: this one, ``environ``, and GOMAXPROCS=1 (one core, as pydns)."""
        return {**os.environ, "GOMAXPROCS": "1", **self.environ}

    def probes(self) -> list[dns.message.Message]:
        return [dns.message.make_query(*self.probe)]
