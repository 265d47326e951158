"""The *debug* plugin: it sets the block's debug flag and nothing else."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.plugins.debug.setup import setup
from twisted_dns.testing import (
    configure,
    corefile_examples,
    default_registry,
    plugin_readme,
    start_server,
)


class SetupTests(unittest.TestCase):
    def test_sets_debug(self) -> None:
        config = configure(setup, "debug", ". {\n    debug\n}\n")
        self.assertTrue(config.block.debug)
        # a setup-only plugin: nothing in the chain
        self.assertEqual((config.block.factories, config.chain), ([], None))

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("debug"), setup)

    def test_argument(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "debug",
                                ". {\n    debug on\n}\n")
        self.assertEqual(str(exc), "Corefile:2: wrong argument count or unexpected line "
                                   "ending after 'on'")

    def test_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "debug",
                                ". {\n    debug {\n        level 3\n    }\n}\n")
        self.assertEqual(str(exc), "Corefile:3: unknown property 'level'")


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_only_its_block(self):
        server = yield start_server("a.example {\n    debug\n    whoami\n}\n"
                                    "b.example {\n    whoami\n}\n")
        self.addCleanup(server.stop)
        debug = {tuple(block.zones): block.debug for block in server.configuration.blocks}
        self.assertEqual(debug, {("a.example.",): True, ("b.example.",): False})

    @defer.inlineCallbacks
    def test_readme_example(self):
        examples = corefile_examples(plugin_readme("debug"))
        self.assertEqual(len(examples), 1)
        parser.parse(examples[0], "README.md", directives=default_registry().names())
        server = yield start_server(examples[0])
        self.addCleanup(server.stop)
        self.assertTrue(server.configuration.blocks[0].debug)
