"""``twistd pydns``: command-line options and the service they describe."""

from __future__ import annotations

import gc
import os
import platform
import sys

from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure

from twisted_dns import __version__
from twisted_dns import logging as json_logging
from twisted_dns.config import Source
from twisted_dns.errors import ConfigError
from twisted_dns.registry import CONFLICT, DUPLICATE, FAILED, OK, PluginInfo, Registry
from twisted_dns.server.service import DNSService

log = Logger(namespace="pydns")

#: Served when there is neither ``-c`` nor ``./Corefile`` (CoreDNS's default, on -p's port).
DEFAULT_COREFILE = """\
. {
    whoami
    log
}
"""
DEFAULT_NAME = "<default Corefile>"
#: ``-c -``: the Corefile comes from standard input
STDIN = "-"

#: the environment variable giving ``--log-format``'s default
LOG_FORMAT_ENV = "TWISTED_DNS_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
JSON_OBSERVER = "twisted_dns.logging.json_observer"


class Options(usage.Options):
    synopsis = ("[-c FILE] [-p PORT] [--plugin-cfg FILE] [--log-format text|json] [--plugins] "
                "[--validate] [--version]")
    longdesc = ("Serve DNS as configured by a CoreDNS Corefile. SIGUSR1 reloads the Corefile; "
                "SIGTERM stops after the health plugin's lame duck period.")
    optFlags = [
        ["plugins", None, "List every available plugin with its distribution and position."],
        ["validate", None, "Parse and set up the configuration, print errors or OK, and exit."],
        ["version", None, "Print the version and exit."],
        ["announce", None, "Once serving, print each zone and port, then the version "
         "(CoreDNS's start-up lines; the pydns command does unless -quiet)."],
    ]
    optParameters = [
        ["conf", "c", None, "The Corefile, - for standard input (default: ./Corefile, else a "
         "built-in whoami server)."],
        ["dns-port", "p", 53, "Default port for dns:// blocks that name none.", int],
        ["plugin-cfg", None, None, "A plugin order file replacing the packaged plugin.cfg."],
        ["log-format", None, None,
         f"text (twistd's) or json (one object per line); default ${LOG_FORMAT_ENV} or text."],
    ]

    def opt_version(self) -> None:
        print(f"twisted-dns {__version__}")
        sys.exit(0)

    def postOptions(self) -> None:  # noqa: N802 - Twisted's name
        if self["log-format"] is None:
            self["log-format"] = os.environ.get(LOG_FORMAT_ENV) or "text"
        if self["log-format"] not in LOG_FORMATS:
            raise usage.UsageError(f"--log-format must be one of {', '.join(LOG_FORMATS)}, "
                                   f"not {self['log-format']!r}")
        if self["log-format"] == "json":
            self._use_json_logs()

    def _use_json_logs(self) -> None:
        """Make twistd log through the JSON observer, as ``--logger`` would (which it turns
        into the callable after this runs); an explicit ``--logger`` wins."""
        twistd = getattr(self, "parent", None)
        if twistd is None or twistd.get("logger") is not None:
            return
        twistd["logger"] = JSON_OBSERVER
        logfile = twistd.get("logfile")
        if logfile and logfile != "-":
            json_logging.output_path = logfile
        elif not logfile and not twistd.get("nodaemon"):
            json_logging.output_path = "twistd.log"  # where a daemon's text log would go

    def corefile_path(self) -> str | None:
        """``-c``, else ``./Corefile`` when there is one, else None (the built-in default)."""
        path = self["conf"]
        if path is None and os.path.exists("Corefile"):
            path = "Corefile"
        return path

    def source(self, registry: Registry) -> Source:
        """Where the configuration is read from, at start and at every reload."""
        path = self.corefile_path()
        if path is None:
            return Source(registry, text=DEFAULT_COREFILE, filename=DEFAULT_NAME,
                          default_port=self["dns-port"])
        if path == STDIN:  # read once: a reload serves the same text again, as CoreDNS's does
            return Source(registry, text=sys.stdin.read(), filename="stdin",
                          default_port=self["dns-port"])
        return Source(registry, path=path, default_port=self["dns-port"])


def format_plugins(registry: Registry) -> str:
    """The ``twistd pydns --plugins`` listing: one line a plugin, in chain order.

    Usable plugins are numbered by their place in a chain; unusable ones show ``-`` and why.
    No trailing newline: made for ``print``.
    """
    rows = []
    usable = 0
    for info in registry.describe():
        usable += info.status == OK
        place = str(usable) if info.status == OK else "-"
        rows.append((place, info.name, info.label, _note(info)))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    lines = [f"{place:>{widths[0]}}  {name:<{widths[1]}}  {label:<{widths[2]}}  {note}".rstrip()
             for place, name, label, note in rows]
    return "\n".join(lines)


def _note(info: PluginInfo) -> str:
    if info.status == FAILED:
        return f"(failed: {type(info.error).__name__}: {info.error})"
    if info.status == DUPLICATE:
        return f"(duplicate: also registered by {', '.join(info.duplicates)})"
    if info.status == CONFLICT:
        return f"(conflict: {info.problem})"
    if info.listed:
        return ""
    declared = [f"before {', '.join(info.before)}"] if info.before else []
    declared += [f"after {', '.join(info.after)}"] if info.after else []
    return f"({'; '.join(declared)})" if declared else "(not in the plugin order: at the end)"


def _fail(message: str) -> None:
    print(f"pydns: {message}", file=sys.stderr)
    raise SystemExit(1)


class StartError(Exception, SystemExit):
    """The service cannot start; its reason is logged already.

    An Exception, so that twistd cleans up after it (removes the pid file, tells a daemon's
    waiting parent, which prints it), and a SystemExit, so that Python then exits with
    status 1 instead of printing a traceback.
    """

    code = 1


class Service(DNSService):
    """The service twistd runs: when it cannot start (a port in use, a plugin's startup hook
    failing at once), the process logs one line and exits with status 1, as CoreDNS does,
    instead of a traceback or a server half up."""

    #: print CoreDNS's start-up lines once serving (``--announce``)
    announce = False

    def startService(self) -> None:  # noqa: N802 - Twisted's name
        try:
            super().startService()
        except ConfigError as exc:  # nothing listens: the listeners opened were closed
            log.error("cannot start: {error}", error=str(exc))
            raise StartError(str(exc)) from None
        failed: list[Failure] = []
        self.started.addErrback(failed.append)  # the service has logged it already
        if failed:
            raise StartError(str(failed[0].value))
        if self.announce:
            # raw on the process's standard output, as CoreDNS prints them (twistd's log
            # would prefix each with a timestamp)
            self.started.addCallback(lambda _: print(startup_lines(self), end="", flush=True,
                                                     file=sys.__stdout__))


def startup_lines(service: DNSService) -> str:
    """What CoreDNS prints once serving: ``zone:port`` for each zone of each listener (``on
    HOST`` under *bind*, a scheme prefix but for ``dns``), sorted, then the version."""
    lines = []
    for (scheme, host, _), listener in sorted(service.listeners.items()):
        prefix = "" if scheme == "dns" else f"{scheme}://"
        where = f" on {host}" if host else ""
        lines += sorted(f"{prefix}{zone}:{listener.port}{where}" for zone in listener.router.zones)
    return "".join(f"{line}\n" for line in lines) + (
        f"twisted-dns-{__version__}\n{sys.platform}, Python {platform.python_version()}\n")


def makeService(options: Options) -> DNSService:  # noqa: N802 - twistd's name
    try:
        registry = Registry.discover(plugin_cfg=options["plugin-cfg"])
    except ConfigError as exc:
        _fail(str(exc))
    if options["plugins"]:
        try:
            print(format_plugins(registry), flush=True)
        except BrokenPipeError:  # `twistd pydns --plugins | head`
            sys.stdout = None
        raise SystemExit(0)
    source = options.source(registry)
    try:
        setup = source.load()
    except ConfigError as exc:
        _fail(str(exc))
    if options["validate"]:
        print("OK")
        raise SystemExit(0)
    # Long-lived objects (modules, configuration) leave the collector's view, and young
    # collections run less often: per-query garbage is freed by reference counting anyway.
    gc.freeze()
    gc.set_threshold(10000, 50, 100)
    service = Service(setup, source=source, reload_signal=True)
    service.announce = options["announce"]
    return service
