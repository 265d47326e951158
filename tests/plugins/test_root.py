"""The *root* plugin: it sets the block's root directory."""

from __future__ import annotations

import os

from twisted.internet import defer
from twisted.logger import LogLevel, capturedLogs
from twisted.trial import unittest

from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.root.setup import setup
from twisted_dns.testing import (
    configure,
    corefile_examples,
    default_registry,
    plugin_readme,
    start_server,
)


class SetupTests(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    def root(self, args: str) -> str:
        return configure(setup, "root", f". {{\n    root {args}\n}}\n").block.root

    def test_directory(self) -> None:
        self.assertEqual(self.root(self.dir), self.dir)

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("root"), setup)

    def test_relative_to_working_directory(self) -> None:
        os.makedirs(os.path.join(self.dir, "zones"))
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.dir)
        self.assertEqual(self.root("zones"), os.path.join(self.dir, "zones"))

    def test_last_line_counts(self) -> None:
        other = os.path.abspath(self.mktemp())
        os.makedirs(other)
        config = configure(setup, "root", f". {{\n    root {self.dir}\n    root {other}\n}}\n")
        self.assertEqual(config.block.root, other)

    def test_missing_is_a_warning(self) -> None:
        missing = os.path.join(self.dir, "not-yet")
        with capturedLogs() as events:
            self.assertEqual(self.root(missing), missing)
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["log_namespace"], "root")
        self.assertEqual(warnings[0]["path"], missing)

    def test_not_a_directory(self) -> None:
        path = os.path.join(self.dir, "file")
        open(path, "w").close()
        exc = self.assertRaises(ConfigError, self.root, path)
        self.assertEqual(str(exc), f"Corefile:2: root path '{path}' is not a directory")

    def test_not_accessible(self) -> None:
        path = os.path.join(self.dir, "file")
        open(path, "w").close()
        below = os.path.join(path, "zones")
        exc = self.assertRaises(ConfigError, self.root, below)
        self.assertEqual(str(exc),
                         f"Corefile:2: unable to access root path '{below}': Not a directory")

    def test_no_argument(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "root", ". {\n    root\n}\n")
        self.assertEqual(str(exc), "Corefile:2: wrong argument count or unexpected line "
                                   "ending after 'root'")

    def test_two_arguments(self) -> None:
        exc = self.assertRaises(ConfigError, self.root, f"{self.dir} /tmp")
        self.assertEqual(str(exc), "Corefile:2: wrong argument count or unexpected line "
                                   "ending after '/tmp'")

    def test_block(self) -> None:
        exc = self.assertRaises(ConfigError, self.root, f"{self.dir} {{\n        x\n    }}")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'x'")


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_readme_example(self):
        examples = corefile_examples(plugin_readme("root"))
        self.assertEqual(len(examples), 1)
        parser.parse(examples[0], "README.md", directives=default_registry().names())
        server = yield start_server(examples[0])
        self.addCleanup(server.stop)
        self.assertEqual(server.configuration.blocks[0].root, "/etc/coredns/zones")
