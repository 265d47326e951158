"""The packaged plugin.cfg keeps CoreDNS's order: compared with the plugin.cfg of the CoreDNS
module the test peers are built from (``go install github.com/coredns/coredns@VERSION``)."""

from __future__ import annotations

import os
import shutil
import subprocess

from twisted.trial import unittest

from twisted_dns.registry import packaged_order, parse_order

#: the CoreDNS release the test peers are built from (.ci/run installs it)
COREDNS_VERSION = "v1.14.7"


def coredns_source() -> str | None:
    """The CoreDNS module's source directory in Go's module cache, or None."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go")
                                else None)
    if go is None:
        return None
    cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True,
                           check=False).stdout.strip()
    path = os.path.join(cache, "github.com", "coredns", f"coredns@{COREDNS_VERSION}")
    return path if os.path.isdir(path) else None


def coredns_order(source: str) -> list[str]:
    """CoreDNS's plugin.cfg (``name:package`` lines) as directive names, in order."""
    with open(os.path.join(source, "plugin.cfg"), encoding="utf-8") as handle:
        lines = [line.split("#", 1)[0].split(":", 1)[0] for line in handle]
    return parse_order("\n".join(lines), "coredns/plugin.cfg")


class CoreDNSOrderTests(unittest.TestCase):
    def setUp(self) -> None:
        self.source = coredns_source()
        if self.source is None:
            if os.environ.get("CI"):
                self.fail(f"CoreDNS {COREDNS_VERSION} is not in Go's module cache: .ci/run "
                          "installs it")
            raise unittest.SkipTest(f"CoreDNS {COREDNS_VERSION} is not in Go's module cache")

    def test_same_order_for_every_name_both_know(self) -> None:
        ours, theirs = packaged_order(), coredns_order(self.source)
        both = set(ours) & set(theirs)
        self.assertEqual([name for name in ours if name in both],
                         [name for name in theirs if name in both])

    def test_every_coredns_name_is_listed(self) -> None:
        """A CoreDNS plugin installed from PyPI later finds its place already reserved."""
        self.assertEqual(sorted(set(coredns_order(self.source)) - set(packaged_order())), [])
