"""Unit tests for echoname: the handler with a fake request and writer, and its setup
through twisted-dns's own Corefile parser and Controller. Serving real queries through a
running server is left to twisted-dns's integration tests.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from types import SimpleNamespace
from typing import Any

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.trial import unittest
from twisted_dns_example.plugin import EchoName, setup
from zope.interface.verify import verifyObject

from twisted_dns.config import BlockConfig, Controller
from twisted_dns.corefile import parser
from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.registry import GROUP, Registry

#: resolved at import: trial runs the tests from its own _trial_temp directory
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "README.md")


class FakeRequest:
    """What the handler uses of ``twisted_dns.request.Request``."""

    def __init__(self, qname: str, rdtype: str = "TXT", rdclass: str = "IN") -> None:
        self.query = dns.message.make_query(qname, rdtype, rdclass)
        self.qname = qname
        self.qtype = dns.rdatatype.from_text(rdtype)

    def message(self) -> dns.message.Message:
        return self.query


class RecordingWriter:
    def __init__(self) -> None:
        self.replies: list[dns.message.Message] = []

    def write(self, reply: dns.message.Message) -> None:
        self.replies.append(reply)


class NextPlugin:
    """The rest of the chain: records what it was handed."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def ServeDNS(self, request: Any, writer: Any) -> int:  # noqa: N802 - IPlugin
        self.requests.append(request)
        return dns.rcode.NXDOMAIN


class HandlerTests(unittest.TestCase):
    def serve(self, request: FakeRequest, plugin: EchoName) -> tuple[int, RecordingWriter]:
        writer = RecordingWriter()
        return plugin.ServeDNS(request, writer), writer

    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IPlugin, EchoName()))
        self.assertEqual(EchoName().Name(), "echoname")

    def test_txt(self) -> None:
        request = FakeRequest("Example.ORG.")
        rcode, writer = self.serve(request, EchoName(ttl=30))
        self.assertEqual(rcode, dns.rcode.NOERROR)
        [reply] = writer.replies
        self.assertEqual(reply.id, request.query.id)
        self.assertEqual(reply.question, request.query.question)
        [rrset] = reply.answer
        self.assertEqual(rrset.name.to_text(), "Example.ORG.")  # the case as sent
        self.assertEqual((rrset.rdtype, rrset.ttl), (dns.rdatatype.TXT, 30))
        self.assertEqual([rdata.strings for rdata in rrset], [(b"Example.ORG.",)])
        # and it goes on the wire
        parsed = dns.message.from_wire(reply.to_wire())
        self.assertEqual(parsed.answer[0][0].strings, (b"Example.ORG.",))

    def test_class_follows_question(self) -> None:
        _, writer = self.serve(FakeRequest("version.bind.", rdclass="CH"), EchoName())
        self.assertEqual(writer.replies[0].answer[0].rdclass, dns.rdataclass.CH)
        self.assertEqual(writer.replies[0].answer[0].ttl, 0)

    def test_long_name_is_split(self) -> None:
        """A name whose text is over 255 bytes (escapes) fills several TXT strings."""
        label = "\\032" * 63
        qname = ".".join([label] * 3) + "."
        _, writer = self.serve(FakeRequest(qname), EchoName())
        strings = writer.replies[0].answer[0][0].strings
        self.assertEqual(b"".join(strings), qname.encode())
        self.assertTrue(all(len(s) <= 255 for s in strings))
        self.assertGreater(len(strings), 1)
        writer.replies[0].to_wire()

    def test_other_types_go_to_next(self) -> None:
        following = NextPlugin()
        request = FakeRequest("example.org.", "A")
        rcode, writer = self.serve(request, EchoName(next_plugin=following))
        self.assertEqual(rcode, dns.rcode.NXDOMAIN)
        self.assertEqual(following.requests, [request])
        self.assertEqual(writer.replies, [])

    def test_other_types_without_next(self) -> None:
        rcode, writer = self.serve(FakeRequest("example.org.", "AAAA"), EchoName())
        self.assertEqual(rcode, dns.rcode.SERVFAIL)
        self.assertEqual(writer.replies, [])


def configure(corefile: str) -> tuple[BlockConfig, Any]:
    """Parse ``corefile`` (one block) and run echoname's setup through a real Controller."""
    [block] = parser.parse(corefile, "Corefile", directives={"echoname", "whoami", "log"})
    config = BlockConfig(keys=[])
    setup(Controller("echoname", block.directives["echoname"], config,
                     SimpleNamespace(shared={}, startup_hooks=[], shutdown_hooks=[])))
    return config, block


class SetupTests(unittest.TestCase):
    def plugin(self, corefile: str) -> EchoName:
        config, _block = configure(corefile)
        [(name, factory)] = config.factories
        self.assertEqual(name, "echoname")
        following = NextPlugin()
        plugin = factory(following)
        self.assertIs(plugin.next, following)
        return plugin

    def error(self, corefile: str) -> ConfigError:
        return self.assertRaises(ConfigError, configure, corefile)

    def test_default_ttl(self) -> None:
        self.assertEqual(self.plugin(". {\n    echoname\n    whoami\n}\n").ttl, 0)

    def test_ttl(self) -> None:
        self.assertEqual(self.plugin(". {\n    echoname 3600\n}\n").ttl, 3600)

    def test_bad_ttl(self) -> None:
        for bad in ("-1", "1h", "2147483648", "\u0663"):
            error = self.error(f". {{\n    echoname {bad}\n}}\n")
            self.assertEqual(str(error).split(": ", 1),
                             ["Corefile:2", f"invalid TTL '{bad}': expected seconds, "
                                            "0 to 2147483647"])

    def test_too_many_args(self) -> None:
        error = self.error(". {\n    echoname 1 2\n}\n")
        self.assertEqual(error.line, 2)
        self.assertIn("too many arguments", str(error))

    def test_block(self) -> None:
        error = self.error(". {\n    echoname {\n        fallthrough\n    }\n}\n")
        self.assertEqual(str(error), "Corefile:3: unknown property 'fallthrough'")

    def test_empty_block(self) -> None:
        self.assertEqual(self.plugin(". {\n    echoname 5 { }\n}\n").ttl, 5)

    def test_twice(self) -> None:
        error = self.error(". {\n    echoname\n    whoami\n    echoname 5\n}\n")
        self.assertEqual((error.file, error.line), ("Corefile", 4))
        self.assertIn("only be used once", str(error))

    def test_readme_examples(self) -> None:
        """Every Corefile example of the README parses and sets up."""
        with open(README, encoding="utf-8") as f:
            examples = re.findall(r"~~~ corefile\n(.*?)~~~", f.read(), re.S)
        self.assertEqual(len(examples), 2)
        for example in examples:
            config, _block = configure(example)
            self.assertEqual([name for name, _factory in config.factories], ["echoname"])


class PlacementTests(unittest.TestCase):
    def test_declared_place(self) -> None:
        """Not in plugin.cfg, so its declaration puts it right before template."""
        self.assertEqual(setup.twisted_dns_before, ("template",))
        self.assertEqual(setup.twisted_dns_after, ())
        ours = importlib.metadata.EntryPoint(
            "echoname", "twisted_dns_example.plugin:setup", GROUP)
        others = [importlib.metadata.EntryPoint(name, "twisted_dns_example.plugin:setup", GROUP)
                  for name in ("template", "cache", "forward")]
        registry = Registry.discover([ours, *others])
        self.assertEqual(registry.order(), ["cache", "echoname", "template", "forward"])

    def test_installed(self) -> None:
        """Installed with pip, twisted-dns finds it through the entry point."""
        try:
            importlib.metadata.distribution("twisted-dns-example")
        except importlib.metadata.PackageNotFoundError as exc:
            raise unittest.SkipTest("twisted-dns-example is not installed") from exc
        registry = Registry.discover()
        self.assertIs(registry.setup_for("echoname"), setup)
