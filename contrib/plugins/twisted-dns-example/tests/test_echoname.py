"""echoname's tests, on twisted-dns's test kit (``twisted_dns.testing``): the handler called
with real Requests, its setup run through the real parser and Controller, the README's
examples checked against the installed directives and served on loopback.

The plugin need not be installed for these to run (from a checkout, with the package on
``sys.path``): the kit adds it beside the installed plugins.
"""

from __future__ import annotations

import importlib.metadata
import os
import re

import dns.flags
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet import defer
from twisted.trial import unittest
from twisted_dns_example.plugin import EchoName, setup
from zope.interface.verify import verifyObject

from twisted_dns.errors import ConfigError
from twisted_dns.interfaces import IPlugin
from twisted_dns.registry import GROUP, Registry
from twisted_dns.testing import (
    CaptureWriter,
    NextPlugin,
    check_examples,
    configure,
    make_request,
    reply_of,
    start_server,
)

#: resolved at import: trial runs the tests from its own _trial_temp directory
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "README.md")


def serve(plugin: EchoName, name: str, rdtype: str = "TXT", rdclass: str = "IN",
          proto: str = "udp"):
    """Ask ``plugin`` as the server would: (the request, the rcode, the writer)."""
    request = make_request(name, rdtype, rdclass, proto=proto)
    writer = CaptureWriter(request)
    return request, plugin.ServeDNS(request, writer), writer


class HandlerTests(unittest.TestCase):
    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IPlugin, EchoName()))
        self.assertEqual(EchoName().Name(), "echoname")

    def test_txt(self) -> None:
        request, rcode, writer = serve(EchoName(ttl=30), "Example.ORG.")
        self.assertEqual(rcode, dns.rcode.NOERROR)
        reply = reply_of(writer)  # as the client decodes it
        self.assertEqual(reply.id, request.id)
        self.assertEqual(reply.question, request.message().question)
        [rrset] = reply.answer
        self.assertEqual(rrset.name.to_text(), "Example.ORG.")  # the case as sent
        self.assertEqual((rrset.rdtype, rrset.ttl), (dns.rdatatype.TXT, 30))
        self.assertEqual([rdata.strings for rdata in rrset], [(b"Example.ORG.",)])

    def test_class_follows_question(self) -> None:
        _, _, writer = serve(EchoName(), "version.bind.", rdclass="CH")
        [rrset] = reply_of(writer).answer
        self.assertEqual((rrset.rdclass, rrset.ttl), (dns.rdataclass.CH, 0))

    def test_long_name_is_split(self) -> None:
        """A name whose text is over 255 bytes (escapes) fills several TXT strings; over UDP
        that does not fit 512 bytes (TC: the client asks again over TCP)."""
        label = "\\032" * 63
        qname = ".".join([label] * 3) + "."
        _, _, writer = serve(EchoName(), qname)
        truncated = reply_of(writer)
        self.assertEqual((truncated.flags & dns.flags.TC, truncated.answer), (dns.flags.TC, []))
        _, _, writer = serve(EchoName(), qname, proto="tcp")
        strings = reply_of(writer).answer[0][0].strings
        self.assertEqual(b"".join(strings), qname.encode())
        self.assertTrue(all(len(s) <= 255 for s in strings))
        self.assertGreater(len(strings), 1)

    def test_other_types_go_to_next(self) -> None:
        following = NextPlugin(dns.rcode.NXDOMAIN)
        request, rcode, writer = serve(EchoName(next_plugin=following), "example.org.", "A")
        self.assertEqual(rcode, dns.rcode.NXDOMAIN)
        self.assertEqual(following.requests, [request])
        self.assertEqual(request.plugin, "next")  # its errors and metrics are its own
        self.assertEqual(writer.sent, [])

    def test_other_types_without_next(self) -> None:
        _, rcode, writer = serve(EchoName(), "example.org.", "AAAA")
        self.assertEqual(rcode, dns.rcode.SERVFAIL)  # nothing written: the server answers
        self.assertEqual(writer.sent, [])


class SetupTests(unittest.TestCase):
    def plugin(self, corefile: str) -> EchoName:
        following = NextPlugin()
        configured = configure(setup, "echoname", corefile, next_plugin=following)
        self.assertEqual([plugin.Name() for plugin in configured.plugins], ["echoname", "next"])
        self.assertIs(configured.chain.next, following)
        return configured.chain

    def error(self, corefile: str) -> ConfigError:
        return self.assertRaises(ConfigError, configure, setup, "echoname", corefile)

    def test_default_ttl(self) -> None:
        self.assertEqual(self.plugin(". {\n    echoname\n    whoami\n}\n").ttl, 0)

    def test_ttl(self) -> None:
        self.assertEqual(self.plugin(". {\n    echoname 3600\n}\n").ttl, 3600)

    def test_bad_ttl(self) -> None:
        for bad in ("-1", "1h", "2147483648", "\u0663"):
            error = self.error(f". {{\n    echoname {bad}\n}}\n")
            self.assertEqual(str(error), f"Corefile:2: invalid TTL '{bad}': expected seconds, "
                                         "0 to 2147483647")

    def test_too_many_args(self) -> None:
        self.assertEqual(str(self.error(". {\n    echoname 1 2\n}\n")),
                         "Corefile:2: too many arguments: expected 'echoname [TTL]', got 2")

    def test_block(self) -> None:
        error = self.error(". {\n    echoname {\n        fallthrough\n    }\n}\n")
        self.assertEqual(str(error), "Corefile:3: unknown property 'fallthrough'")

    def test_empty_block(self) -> None:
        self.assertEqual(self.plugin(". {\n    echoname 5 { }\n}\n").ttl, 5)

    def test_twice(self) -> None:
        error = self.error(". {\n    echoname\n    whoami\n    echoname 5\n}\n")
        self.assertEqual(str(error),
                         "Corefile:4: this plugin can only be used once per Server Block")


class ReadmeTests(unittest.TestCase):
    def test_examples_parse_and_set_up(self) -> None:
        for example in check_examples(self, "echoname", 2, readme=README):
            configured = configure(setup, "echoname", example, filename="README.md")
            self.assertIsInstance(configured.chain, EchoName)

    @defer.inlineCallbacks
    def test_first_example_serves(self):
        """The first example, on a free port: TXT echoed over UDP and TCP, the rest to whoami."""
        example = check_examples(self, "echoname", readme=README)[0]
        server = yield start_server(re.sub(r":1053\b", "", example),
                                    plugins={"echoname": setup})
        self.addCleanup(server.stop)
        for proto in ("udp", "tcp"):
            reply = yield server.query("Example.ORG", "TXT", proto=proto)
            self.assertEqual(reply.answer[0][0].strings, (b"Example.ORG.",))
            other = yield server.query("example.org", "A", proto=proto)
            self.assertEqual((other.answer, other.additional[0].rdtype), ([], dns.rdatatype.A))


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
