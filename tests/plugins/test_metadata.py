"""The *metadata* plugin: providers label a query, log's ``{/label}`` and template's
``.Meta`` read the labels, lazily, only for the plugin's zones."""

from __future__ import annotations

from typing import Any

import dns.rcode
from twisted.internet import defer
from twisted.trial import unittest
from zope.interface import implementer

from tests.plugins.test_log import log_lines
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IMetadataProvider, IPlugin
from twisted_dns.pkg.chain import next_or_failure
from twisted_dns.plugins.metadata.metadata import Metadata
from twisted_dns.plugins.metadata.setup import setup
from twisted_dns.testing import (
    NextPlugin,
    check_examples,
    configure,
    make_request,
    plugin_readme,
    start_server,
)

#: how often the test provider's value function ran (it must run only when read)
calls: list[str] = []


@implementer(IPlugin, IMetadataProvider)
class Labeller:
    """A test provider: labels ``test/qname`` with the query name, ``test/type`` with its
    type number."""

    def __init__(self, next_plugin: Any) -> None:
        self.next = next_plugin

    def Name(self) -> str:
        return "labeller"

    def Metadata(self, request: Any) -> None:
        def qname() -> str:
            calls.append(request.qname_lower)
            return request.qname_lower

        request.set_metadata("test/qname", qname)
        request.set_metadata("test/type", lambda: str(request.qtype))

    def ServeDNS(self, request: Any, writer: Any) -> Any:
        return next_or_failure("labeller", self.next, request, writer)


def labeller_setup(c: Any) -> None:
    c.no_args()
    c.add_plugin(Labeller)


class SetupTests(unittest.TestCase):
    def test_zones_default_to_the_block(self) -> None:
        self.assertEqual(configure(setup, "metadata", "example.org {\n    metadata\n}\n")
                         .chain.zones, ["example.org."])

    def test_zones_given(self) -> None:
        link = configure(setup, "metadata", ". {\n    metadata a.example B.example\n}\n").chain
        self.assertEqual(link.zones, ["a.example.", "b.example."])

    def test_no_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "metadata",
                                ". {\n    metadata {\n        x\n    }\n}\n")
        self.assertEqual(str(exc), "Corefile:3: wrong argument count or unexpected line ending "
                                   "after 'x'")

    def test_once_per_block(self) -> None:
        exc = self.assertRaises(ConfigError, configure, setup, "metadata",
                                ". {\n    metadata\n    metadata\n}\n")
        self.assertEqual(str(exc), "Corefile:3: this plugin can only be used once per Server "
                                   "Block")

    def test_readme_examples(self) -> None:
        check_examples(self, "metadata", readme=plugin_readme("metadata"))


class LinkTests(unittest.TestCase):
    def test_labels_only_in_its_zones_and_lazily(self) -> None:
        link = Metadata(["example.org."], NextPlugin())
        link.collect_providers([link, Labeller(None), NextPlugin()])
        inside, outside = make_request("www.example.org"), make_request("example.net")
        link.ServeDNS(inside, None)
        link.ServeDNS(outside, None)
        self.assertIsNone(outside.metadata)
        self.assertEqual(inside.metadata_value("test/type"), "1")
        self.assertEqual(calls.count("www.example.org."), 0)  # not read yet: not computed
        self.assertEqual(inside.metadata_value("test/qname"), "www.example.org.")
        self.assertIsNone(inside.metadata_value("test/none"))


class ServerTests(unittest.TestCase):
    """End to end: a real server, the label read by log and by template."""

    COREFILE = """example.org {{
    {metadata}
    log . "{{name}} {{/test/qname}} {{/test/type}} {{/test/none}}"
    template IN TXT example.org {{
        answer "{{{{ .Name }}}} 60 IN TXT \\"{{{{ .Meta \\"test/qname\\" }}}}\\""
    }}
    labeller
}}
"""

    @defer.inlineCallbacks
    def serve(self, metadata: str) -> Any:
        server = yield start_server(self.COREFILE.format(metadata=metadata),
                                    plugins={"labeller": labeller_setup})
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_log_and_template_read_the_labels(self) -> None:
        lines = log_lines(self)
        server = yield self.serve("metadata")
        reply = yield server.query("a.example.org", "TXT")
        self.assertEqual(reply.rcode(), dns.rcode.NOERROR)
        self.assertEqual([rd.strings for rd in reply.answer[0]], [(b"a.example.org.",)])
        self.assertEqual(lines, ["a.example.org. a.example.org. 16 -"])

    @defer.inlineCallbacks
    def test_without_the_plugin_labels_are_empty(self) -> None:
        lines = log_lines(self)
        server = yield self.serve("")
        reply = yield server.query("a.example.org", "TXT")
        self.assertEqual([rd.strings for rd in reply.answer[0]], [(b"",)])
        self.assertEqual(lines, ["a.example.org. - - -"])
