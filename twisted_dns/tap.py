"""``twistd pydns``: command-line options and the service they describe."""

from __future__ import annotations

import os
import sys

from twisted.python import usage

from twisted_dns import __version__
from twisted_dns.errors import ConfigError
from twisted_dns.registry import Registry, format_plugins
from twisted_dns.server import instance

#: Served when there is neither ``-c`` nor ``./Corefile`` (CoreDNS's default, on -p's port).
DEFAULT_COREFILE = """\
. {
    whoami
    log
}
"""


class Options(usage.Options):
    synopsis = "[-c FILE] [-p PORT] [--plugin-cfg FILE] [--plugins] [--validate] [--version]"
    longdesc = "Serve DNS as configured by a CoreDNS Corefile."
    optFlags = [
        ["plugins", None, "List every available plugin with its distribution and position."],
        ["validate", None, "Parse and set up the configuration, print errors or OK, and exit."],
        ["version", None, "Print the version and exit."],
    ]
    optParameters = [
        ["conf", "c", None, "The Corefile (default: ./Corefile, else a built-in whoami server)."],
        ["dns-port", "p", 53, "Default port for dns:// blocks that name none.", int],
        ["plugin-cfg", None, None, "A plugin order file replacing the packaged plugin.cfg."],
    ]

    def opt_version(self) -> None:
        print(f"twisted-dns {__version__}")
        sys.exit(0)

    def corefile(self) -> tuple[str, str]:
        """The configuration text and the name errors should point at."""
        path = self["conf"]
        if path is None and os.path.exists("Corefile"):
            path = "Corefile"
        if path is None:
            return DEFAULT_COREFILE, "<default Corefile>"
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), path
        except OSError as exc:
            raise ConfigError(f"cannot read Corefile: {exc.strerror}", path) from exc


def _fail(message: str) -> None:
    print(f"pydns: {message}", file=sys.stderr)
    raise SystemExit(1)


def makeService(options: Options) -> instance.DNSService:  # noqa: N802 - twistd's name
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
    try:
        text, filename = options.corefile()
        setup = instance.load(text, filename, registry, default_port=options["dns-port"])
    except ConfigError as exc:
        _fail(str(exc))
    if options["validate"]:
        print("OK")
        raise SystemExit(0)
    return instance.DNSService(setup)
