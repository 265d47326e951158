"""Run Debian's ``unbound`` as a peer for tests: answers only from ``local-data``, no network.

    server = UnboundServer(self.mktemp(), {"www.example.org.": ["A 192.0.2.1", "TXT 'hi'"]})
    yield server.start()        # Deferred: fires once unbound answers on its port
    ... dns.query.udp(q, "127.0.0.1", port=server.port) ...
    yield server.stop()

``records`` maps an owner name to its records as zone-file text after the owner
(``"[TTL] [CLASS] TYPE RDATA"``); each becomes one ``local-data`` line. The whole tree is a
``static`` local zone (``local_zone_type``), so any other name gets NXDOMAIN/NODATA from unbound
itself and it never asks the network. ``port=0`` picks a free port (UDP and TCP);
``tls=(cert_pem, key_pem)`` also serves DNS over TLS on ``server.tls_port``. ``extra`` is added
to the ``server:`` clause (e.g. ``"val-log-level: 2"``). unbound runs in the foreground, as the
current user, without chroot or syslog, in ``directory`` (created if missing); its log is
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

from twisted_dns.pkg.named import free_port


def unbound_path() -> str | None:
    """The ``unbound`` binary, or None when it is not installed."""
    return shutil.which("unbound") or (
        "/usr/sbin/unbound" if os.access("/usr/sbin/unbound", os.X_OK) else None)


class _Output(protocol.ProcessProtocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.data += data

    errReceived = outReceived

    def processEnded(self, reason) -> None:
        self.ended.callback(reason.value)


def _quoted(text: str) -> str:
    """A value for unbound.conf: double quotes unless the text holds some (TXT rdata)."""
    return f"'{text}'" if '"' in text else f'"{text}"'


class UnboundServer:
    """One ``unbound`` process on 127.0.0.1 answering ``records`` (owner -> RR texts)."""

    host = "127.0.0.1"

    def __init__(self, directory: str, records: Mapping[str, str | Iterable[str]],
                 port: int = 0, tls: tuple[str, str] | None = None,
                 local_zone_type: str = "static", extra: str = "", reactor=None) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = os.path.abspath(directory)
        self.records = {name: [rrs] if isinstance(rrs, str) else list(rrs)
                        for name, rrs in records.items()}
        self.port = port or free_port()
        self.tls = tuple(os.path.abspath(path) for path in tls) if tls else None
        self.tls_port = free_port() if tls else None
        self.local_zone_type = local_zone_type
        self.extra = extra
        self._reactor = reactor
        self._process = None
        self._output = _Output()

    @property
    def output(self) -> str:
        """What unbound printed so far (its log)."""
        return self._output.data.decode("utf-8", "replace")

    def config(self) -> str:
        """The unbound.conf text."""
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

    def start(self, timeout: float = 20.0) -> defer.Deferred:
        """Write the config, start unbound, fire once it answers over UDP."""
        from twisted.internet import reactor as default_reactor

        reactor = self._reactor or default_reactor
        binary = unbound_path()
        if binary is None:
            return defer.fail(FileNotFoundError("unbound is not installed"))
        conf = os.path.join(self.directory, "unbound.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(self.config())
        args = [binary, "-d", "-c", conf]
        self._process = reactor.spawnProcess(self._output, binary, args, env=dict(os.environ),
                                             path=self.directory)
        return threads.deferToThread(self._wait_ready, timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Poll (in a thread) until unbound answers ``. NS``, or fail with its log."""
        deadline = time.monotonic() + timeout
        query = dns.message.make_query(".", "NS")
        while True:
            if self._output.ended.called:
                raise RuntimeError(f"unbound exited:\n{self.output}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"unbound not ready after {timeout}s:\n{self.output}")
            try:
                dns.query.udp(query, self.host, port=self.port, timeout=0.2)
                return
            except (dns.exception.Timeout, OSError):
                continue

    def stop(self) -> defer.Deferred:
        """Terminate unbound; fires once it exited."""
        if self._process is None or self._output.ended.called:
            return defer.succeed(None)
        with contextlib.suppress(error.ProcessExitedAlready):
            self._process.signalProcess("TERM")
        return self._output.ended.addBoth(lambda _: None)
