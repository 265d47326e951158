"""A mutation fuzzer over real Corefiles: a bad configuration never shows a traceback.

Each case takes a real Corefile (every example in the READMEs and docs/corefile.md, a Kubernetes
cluster's, an integration test's), breaks it a little (tokens deleted, duplicated, swapped or
replaced by junk, braces dropped, quotes left open, lines deleted or doubled, stray and non-UTF-8
bytes) and loads it the way start-up and ``--validate`` do: read from a file, parsed, every
plugin's setup run with the installed plugins. It must either load, or fail with a ConfigError
that is one line starting ``FILE:LINE: ``. Anything else (another exception, a message on two
lines or without a line number, a plugin's setup failing with a bug) fails the test, and
hypothesis shrinks it to the smallest Corefile that shows it.

Derandomized, so CI runs the same cases every time; ``COREFILE_MUTATIONS=20000`` runs more.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import task
from twisted.trial import unittest

from tests.corefile.test_docs import DOC, ENVIRON
from tests.integration.test_metrics_cache import COREFILE as CACHE_METRICS_COREFILE
from twisted_dns.config import Source
from twisted_dns.errors import ConfigError
from twisted_dns.testing import corefile_examples, default_registry, plugin_readme

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ZONES = os.path.join(ROOT, "tests", "integration", "zones")

#: CoreDNS's default for a Kubernetes cluster, with hosts where kubernetes would be
CLUSTER_COREFILE = """\
.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    hosts {
        10.96.0.10 kube-dns.kube-system.svc.cluster.local
        fallthrough
    }
    prometheus :9153
    forward . /etc/resolv.conf {
        max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
"""


def seeds() -> list[str]:
    """Every real Corefile the fuzzer starts from."""
    readmes = sorted(glob.glob(plugin_readme("*")))
    found = [CLUSTER_COREFILE, CACHE_METRICS_COREFILE]
    for path in [*readmes, DOC, os.path.join(ROOT, "README.md")]:
        found += corefile_examples(path)
    return found


SEEDS = seeds()
#: what mutations put in: structure, names too long or not IDNA, huge and odd numbers,
#: durations, addresses, ports, schemes, paths, patterns, templates, types, control bytes
JUNK = [
    b"{", b"}", b'"', b"#", b",", b":", b"::", b"*", b"\\", b"import", b"(snippet)",
    b"{$UNSET}", b'""', b"a" * 64 + b".example.", b"a." * 128, b"xn--a.example.",
    b"ex..ample.", "\u00e9.example.".encode(), "a\u00a9.example.".encode(), b"\xff.example.",
    b"-", b".", b"..",
    b"99999999999999999999", b"18446744073709551616", b"-1", b"0", b"65536", b"1e400",
    b"nan", b"0x10", b"1s", b"-5s", b"0s", b"99999999999h", b"1.5ms", b"10%", b"101%",
    b"tls://.", b"https://example.org:443", b"udp://.", b"10.0.0.0/33", b"::/0", b":99999",
    b"127.0.0.1:abc", b"[::1]:53", b"999.1.1.1", b"127.0.0.1:0", b"/nonexistent",
    b"db.example.org", b"zones", b"(", b"[", b"{{", b"{{ .Name", b"NXDOMAIN", b"ANY",
    b"TYPE65536", b"CLASS99999", b"IN", b"except", b"fallthrough", b"\x00", b"\t",
]

Data = bytes
Draw = Callable[[st.SearchStrategy], object]
_WORD = re.compile(rb"\S+")
_BRACE = re.compile(rb"(?<!\S)[{}](?!\S)")


def _spans(pattern: re.Pattern[bytes], data: Data) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(data)]


def _junk(draw: Draw) -> Data:
    return draw(st.one_of(st.sampled_from(JUNK),
                          st.text(st.characters(exclude_categories=["Cs"]), min_size=1,
                                  max_size=6).map(str.encode)))


def _token_mutation(draw: Draw, data: Data) -> Data:
    spans = _spans(_WORD, data)
    if not spans:
        return data
    start, end = draw(st.sampled_from(spans))
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "glue", "argument",
                                 "quote"]))
    if kind == "delete":
        return data[:start] + data[end:]
    if kind == "duplicate":
        return data[:end] + b" " + data[start:end] + data[end:]
    if kind == "swap":
        other_start, other_end = draw(st.sampled_from(spans))
        (a, b), (c, d) = sorted([(start, end), (other_start, other_end)])
        if b > c:
            return data
        return data[:a] + data[c:d] + data[b:c] + data[a:b] + data[d:]
    if kind == "replace":
        return data[:start] + _junk(draw) + data[end:]
    if kind == "glue":
        return data[:end] + _junk(draw) + data[end:]
    if kind == "argument":
        return data[:end] + b" " + _junk(draw) + data[end:]
    return data[:start] + b'"' + data[start:]  # quote: most likely never closed


def _brace_mutation(draw: Draw, data: Data) -> Data:
    spans = _spans(_BRACE, data)
    if not spans:
        return data
    start, end = draw(st.sampled_from(spans))
    return data[:start] + data[end:]


def _line_mutation(draw: Draw, data: Data) -> Data:
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    index = draw(st.integers(0, len(lines) - 1))
    if draw(st.booleans()):
        del lines[index]
    else:
        lines.insert(index, lines[index])
    return b"".join(lines)


def _byte_mutation(draw: Draw, data: Data) -> Data:
    at = draw(st.integers(0, len(data)))
    inserted = draw(st.one_of(st.binary(min_size=1, max_size=3),
                              st.integers(0x80, 0xFF).map(lambda byte: bytes([byte]))))
    return data[:at] + inserted + data[at:]


#: mostly a word at a time, so that most cases get past the parser into the plugins' setups
MUTATIONS = [*[_token_mutation] * 8, _brace_mutation, _line_mutation, _byte_mutation]


@st.composite
def mutated_corefiles(draw: Draw) -> Data:
    data = draw(st.sampled_from(SEEDS)).encode()
    for _ in range(draw(st.integers(1, 2))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data)
    return data


#: FILE:LINE: message, on one line (FILE is the Corefile, an imported file or a zone file)
ONE_LINE = r"\A[^\n:]+:[0-9]+: [^\n]*\Z"


#: the files the seeds name, beside the integration tests' zone files
FILES = {
    "common.conf": "errors\n",
    "zones/a.conf": "whoami\n",
    "db.example.com": "@ 3600 IN SOA ns hostmaster 1 7200 3600 1209600 3600\n"
                      "@ 3600 IN NS ns\nns 3600 IN A 100.64.1.1\n"
                      "www 3600 IN A 100.64.1.1\nwww 3600 IN A 100.64.1.2\n",
    "db.example.com.weights": "www.example.com\n100.64.1.1 3\n100.64.1.2 1\n",
    "my-resolv.conf": "search example.org example.com\nnameserver 192.0.2.53\n",
}


class LoadingTestCase(unittest.TestCase):
    def setUp(self) -> None:
        """A directory with the files the seeds name, as the working directory."""
        self.directory = os.path.abspath(self.mktemp())
        shutil.copytree(ZONES, self.directory)
        os.makedirs(os.path.join(self.directory, "zones"))
        for name, text in FILES.items():
            with open(os.path.join(self.directory, name), "w") as handle:
                handle.write(text)
        self.path = os.path.join(self.directory, "Corefile")
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.directory)

    def load(self, data: Data) -> ConfigError | None:
        """Load ``data`` from a file as start-up does: None when it loads, else the error."""
        with open(self.path, "wb") as corefile:
            corefile.write(data)
        source = Source(default_registry(), path=self.path, default_port=0,
                                 reactor=task.Clock(), environ=ENVIRON)
        try:
            source.load()
        except ConfigError as exc:
            return exc
        return None


class MutatedCorefileTests(LoadingTestCase):
    def test_seeds_load(self) -> None:
        """Nearly every seed loads, so mutations reach the plugins' setups."""
        failed = [str(error) for error in map(self.load, (s.encode() for s in SEEDS)) if error]
        self.assertGreater(len(SEEDS), 80)
        self.assertLessEqual(len(failed), 4, failed)

    @settings(max_examples=int(os.environ.get("COREFILE_MUTATIONS", 400)), deadline=None,
              derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated_corefiles())
    def test_mutations(self, data: Data) -> None:
        error = self.load(data)
        if error is None:
            return
        message = str(error)
        self.assertRegex(message, ONE_LINE, data)
        self.assertNotIn("setup failed", message, data)  # a plugin's bug, not the user's


class FoundByTheFuzzerTests(LoadingTestCase):
    """What the fuzzer found, each a one-line error at the line to fix."""

    def assertError(self, corefile: bytes, message: str, line: int = 2,
                    file: str = "") -> None:
        error = self.load(corefile)
        self.assertIsNotNone(error, corefile)
        self.assertEqual(str(error), f"{file or self.path}:{line}: {message}")

    def test_not_utf8(self) -> None:
        self.assertError(b". {\n    whoami\n    log caf\xe9\n}\n",
                         "not UTF-8: byte 0xe9 at column 12", line=3)

    def test_not_utf8_import(self) -> None:
        imported = os.path.join(self.directory, "bad.conf")
        with open(imported, "wb") as handle:
            handle.write(b"\n\xff\n")
        self.assertError(b". {\n    import bad.conf\n}\n", "not UTF-8: byte 0xff at column 1",
                         file=imported)

    def test_nul(self) -> None:
        self.assertError(b". {\n    forward . a\x00b\n}\n", "NUL character in the Corefile")

    def test_bad_zone_origin(self) -> None:
        for origin, why in [("ex..ample.", "A DNS label is empty."),
                            ("a" * 64 + ".example.", "A DNS label is > 63 octets long."),
                            ("a\u00a9.example.", "IDNA processing exception: Codepoint U+00A9 "
                                                 "at position 2 of 'a\u00a9' not allowed")]:
            self.assertError(f"example.org {{\n    file db.example.org {origin}\n}}\n".encode(),
                             f"zone is not a valid domain name: {origin} ({why})")

    def test_file_name_that_is_no_zone_name(self) -> None:
        """*auto* skips it (with a warning) instead of failing on its origin."""
        os.makedirs("auto")
        shutil.copy("db.example.org", os.path.join("auto", "db.ex..ample"))
        self.assertIsNone(self.load(b". {\n    auto {\n        directory auto\n    }\n}\n"))

    def test_zone_file_without_a_line(self) -> None:
        self.assertError(b"example.net {\n    file db.example.org\n}\n",
                         f"plugin/file: {self.directory}/db.example.org: no SOA record for "
                         f"origin example.net.")
        self.assertError(b"example.org {\n    file .\n}\n",
                         f"plugin/file: {self.directory}: Is a directory")

    def test_quoted_line_breaks_stay_on_one_line(self) -> None:
        self.assertError(b'. {\n    "who\nami"\n}\n', "unknown directive 'who\\nami'")

    def test_type_out_of_range(self) -> None:
        self.assertError(b". {\n    template IN TYPE65536\n}\n", "invalid query type TYPE65536")

    def test_empty_prefetch_percentage(self) -> None:
        self.assertError(b'. {\n    cache {\n        prefetch 10 1m ""\n    }\n}\n',
                         "last character of percentage should be `%`, but is: ''", line=3)

    def test_scheme_without_transport(self) -> None:
        """``--validate`` rejects it, instead of start-up failing with a traceback."""
        self.assertError(b".:53 {\n    whoami\n}\ntls://example.org {\n    whoami\n}\n",
                         "cannot serve 'tls://example.org': no tls:// transport yet (served: "
                         "dns://)", line=4)

    def test_http_port(self) -> None:
        """Checked at setup (so by ``--validate``), not only when the endpoint starts."""
        for directive in ("health", "ready", "prometheus"):
            self.assertError(f". {{\n    {directive} :99999\n}}\n".encode(),
                             "invalid port '99999'")
            self.assertError(f". {{\n    {directive} localhost:nosuchservice\n}}\n".encode(),
                             "unknown port 'nosuchservice'")
