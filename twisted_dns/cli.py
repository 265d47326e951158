"""``pydns``: CoreDNS's command line, so a CoreDNS container's arguments work unchanged.

    pydns -conf /etc/coredns/Corefile -dns.port 1053
    pydns -conf stdin < Corefile
    pydns -plugins | -version | -validate -conf Corefile

It takes CoreDNS's flags (Go's ``flag`` syntax: ``-name value``, ``-name=value``, ``--name``;
``-p`` is ``-dns.port``) and runs the same service as ``twistd -n pydns`` in the foreground:
no pid file unless ``-pidfile`` names one, logs to standard output. ``-validate`` is ours
(``twistd pydns --validate``). Arguments that are not flags are an error, as in CoreDNS.
"""

from __future__ import annotations

import argparse
import sys

from twisted.scripts import twistd

from twisted_dns.tap import STDIN


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pydns", allow_abbrev=False,
        description="Serve DNS as configured by a CoreDNS Corefile (CoreDNS's flags).")
    parser.add_argument("-conf", "--conf", default=None, metavar="FILE",
                        help='Corefile to load (default "Corefile"); "stdin" reads it from '
                             "standard input")
    parser.add_argument("-dns.port", "--dns.port", "-p", dest="port", default="53",
                        help="Default port (default 53)")
    parser.add_argument("-pidfile", "--pidfile", default="", metavar="FILE",
                        help="Path to write pid file")
    for flag, text in BOOLEANS.items():
        parser.add_argument(f"-{flag}", f"--{flag}", action="store_true", help=text)
    return parser


#: CoreDNS's boolean flags (and ours, validate)
BOOLEANS = {"plugins": "List installed plugins", "version": "Show version",
            "quiet": "Quiet mode (no initialization output)",
            "validate": "Check the configuration, print OK or the error, and exit"}
_TRUE, _FALSE = ("1", "t", "T", "true", "TRUE", "True"), ("0", "f", "F", "false", "FALSE", "False")


def _go_booleans(argv: list[str]) -> list[str]:
    """Go's ``-flag=true``/``-flag=false`` for the boolean flags, as argparse takes them."""
    out = []
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name in BOOLEANS and value:
            if value in _TRUE:
                out.append(f"-{name}")
                continue
            if value in _FALSE:
                continue
        out.append(arg)
    return out


def twistd_args(argv: list[str]) -> list[str]:
    """The ``twistd`` command line that runs what CoreDNS's flags ``argv`` ask for; exits
    with a usage message (status 2) on a bad one."""
    parser = _parser()
    flags, extra = parser.parse_known_args(_go_booleans(argv))
    if extra:
        parser.error(f"extra command line arguments: {extra}")
    if not flags.port.isdigit():
        parser.error(f'invalid value "{flags.port}" for flag -dns.port')
    args = ["twistd", "-n", f"--pidfile={flags.pidfile}", "pydns", "-p", flags.port]
    if flags.conf is not None:
        args += ["-c", STDIN if flags.conf == "stdin" else flags.conf]
    args += [f"--{name}" for name in ("plugins", "validate", "version")
             if getattr(flags, name)]
    if not flags.quiet:
        args.append("--announce")
    return args


def main(argv: list[str] | None = None) -> None:
    """The ``pydns`` console script."""
    sys.argv = twistd_args(sys.argv[1:] if argv is None else argv)
    twistd.run()
