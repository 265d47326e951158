"""Every built-in plugin's README examples, served by CoreDNS and by pydns, asked the same
queries, the replies compared.

An example is made runnable on loopback by :func:`on_loopback`, the same way for both servers:
server ports are dropped (both listen on a port of their own), forwarders point to one Unbound
(the shared upstream), zone and hosts files come from a directory of test files, and the HTTP
listeners (prometheus, health, ready) get free addresses of their own. The examples that cannot
run here are in :data:`NOT_RUN` with the reason, and every other one runs: a new README example
is compared as soon as it is written.
"""

from __future__ import annotations

import os
import re
import shutil

import dns.name
from twisted.internet import defer
from twisted.trial import unittest

from tests.differential.harness import Known, Query, both_ways, free_address, serve_both
from tests.differential.test_zones import KNOWN as ZONE_KNOWN
from twisted_dns.testing import corefile_examples, plugin_readme
from twisted_dns.testing.peers import UnboundServer

ZONES_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "integration", "zones")
PLUGINS = sorted(name for name in os.listdir(os.path.dirname(os.path.dirname(
    plugin_readme("whoami")))) if os.path.exists(plugin_readme(name)))

#: (plugin, example index) -> why it is not compared
NOT_RUN = {
    ("forward", 4): "a DNS-over-TLS upstream with a public name (tests/integration/"
                    "test_forward_unbound.py covers tls:// against Unbound)",
    ("forward", 5): "the same",
    ("loadbalance", 1): "weighted: a random choice per reply",
    ("bind", 4): "needs a second address on lo to exclude 127.0.0.1 from",
}

#: (plugin, example index) -> the heading in docs/differences.md of why only one of the two
#: servers refuses the example
ONE_REFUSES = {
    ("file", 1): "A zone file without the SOA of an origin it is loaded for",
    ("file", 2): "A zone file without the SOA of an origin it is loaded for",
    ("log", 5): "Options CoreDNS v1.14.7 does not have",
}

#: what the shared upstream (Unbound) answers; everything else is NXDOMAIN
UPSTREAM = {
    "example.org.": ["300 A 192.0.2.10", "300 AAAA 2001:db8::10", "300 MX 10 mail.example.org.",
                     '300 TXT "from upstream"'],
    "www.example.org.": ["300 A 192.0.2.11", "300 A 192.0.2.12", "300 A 192.0.2.13"],
    "example.net.": ["300 A 192.0.2.20"],
    "www.example.com.": ["300 A 192.0.2.30"],
    "google.com.": ["300 A 192.0.2.40"],
    "lab.example.local.": ["300 A 10.20.0.5"],
    "x.example.local.": ["300 A 10.0.0.5"],
}

HOSTS = """127.0.0.1 localhost
192.0.2.50 www.example.org example.org
192.0.2.51 mail.example.net
2001:db8::50 www.example.org
"""

#: asked of every example, where a block serves the name
NAMES = [
    ("example.org.", ["A", "AAAA", "MX", "TXT", "SOA", "NS", "ANY"]),
    ("www.example.org.", ["A", "AAAA", "MX", "TXT"]),
    ("nx.example.org.", ["A", "TXT"]),
    ("WwW.ExAmPlE.OrG.", ["A"]),
    ("example.net.", ["A", "SOA"]),
    ("mail.example.net.", ["A"]),
    ("www.example.com.", ["A", "AAAA"]),
    ("x.example.com.", ["A"]),
    ("localhost.", ["A", "AAAA"]),
    ("ip-10-1-2-3.example.", ["A", "MX"]),
    ("ip0a010203.example.", ["A"]),
    ("1.2.3.10.ext.example.", ["A"]),
    ("ip-10-4-5-6.dc.example.", ["A"]),
    ("3.2.1.10.in-addr.arpa.", ["PTR"]),
    ("foogle.com.", ["A"]),
    ("example.com.dc1.example.com.", ["A"]),
    ("x.invalid.", ["A"]),
    ("lab.example.local.", ["A"]),
    ("x.example.local.", ["A"]),
    ("internal.example.org.", ["A"]),
    ("engineering.coredns.io.", ["SOA", "NS", "A"]),
]
CHAOS = ["version.bind.", "version.server.", "hostname.bind.", "id.server.", "authors.bind."]

KNOWN = [
    *ZONE_KNOWN,
    Known("The authors.bind answer", ("answer",), labels=r"^authors\.bind\. "),
    Known("Extended DNS errors to clients without EDNS", ("edns", "edns options"),
          labels=r"^x\.invalid\. IN A ", when=lambda field, ours, theirs: ours in ("none", None)),
]

_KEY_LINE = re.compile(r"^(\S[^{]*)\{\s*$")
_HTTP = re.compile(r"^(\s*)(prometheus|health|ready)\b([ \t]+[^\s{]+)?")
_FORWARD = re.compile(r"^(\s*forward\s+\S+)((?:\s+[^\s{]+)+)")
_PATH_DIRECTIVE = re.compile(r"^(\s*(?:file|hosts|root|directory)\s+)(\S+)")
_DEFAULT_ADDRESS = {"prometheus": "localhost:9153", "health": ":8080", "ready": ":8181"}


def on_loopback(example: str) -> str:
    """The example with ports, upstreams, files and HTTP addresses made local (see module)."""
    lines = []
    for line in example.splitlines():
        key = _KEY_LINE.match(line)
        if key and not line.startswith("("):
            line = re.sub(r":\d+", "", key.group(1)) + "{"
        http = _HTTP.match(line)
        if http:
            address = (http.group(3) or _DEFAULT_ADDRESS[http.group(2)]).strip()
            variable = "HTTP_" + re.sub(r"\W", "_", f"{http.group(2)}_{address}").upper()
            line = f"{http.group(1)}{http.group(2)} {{${variable}}}" + line[http.end():]
        forward = _FORWARD.match(line)
        if forward:
            line = forward.group(1) + " {$UPSTREAM}" + line[forward.end():]
        path = _PATH_DIRECTIVE.match(line)
        if path and path.group(2) != "/etc/hosts" and not path.group(2).startswith("{"):
            name = os.path.basename(path.group(2).rstrip("/"))
            if path.group(1).strip() in ("root", "directory"):
                name = ""
            line = path.group(1) + "{$ZONES}/" + name + line[path.end():]
        lines.append(line)
    return "\n".join(lines) + "\n"


def http_variables(corefile: str) -> dict[str, str]:
    """A free address for every {$HTTP_...} the Corefile names (called once per server)."""
    return {name: free_address() for name in set(re.findall(r"\{\$(HTTP_\w+)\}", corefile))}


def served_zones(corefile: str) -> list[dns.name.Name]:
    zones = []
    for line in corefile.splitlines():
        key = _KEY_LINE.match(line)
        if key and not line.startswith("("):
            zones += [dns.name.from_text(word.split("://")[-1]) for word in key.group(1).split()]
    return zones


def queries_for(corefile: str) -> list[Query]:
    zones = served_zones(corefile)
    queries = []
    for name, types in NAMES:
        if any(dns.name.from_text(name).is_subdomain(zone) for zone in zones):
            queries += [Query.make(name, rdtype) for rdtype in types]
    for name in CHAOS:
        if any(dns.name.from_text(name).is_subdomain(zone) for zone in zones):
            queries.append(Query.make(name, "TXT", "CH"))
    return both_ways(queries)


class ExampleTests(unittest.TestCase):
    timeout = 300

    @defer.inlineCallbacks
    def setUp(self):
        UnboundServer.require()
        self.zones = os.path.abspath(self.mktemp())
        os.makedirs(self.zones)
        shutil.copyfile(os.path.join(ZONES_DIR, "db.example.org"),
                        os.path.join(self.zones, "db.example.org"))
        with open(os.path.join(self.zones, "db.example.com"), "w", encoding="utf-8") as out:
            out.write("$ORIGIN example.com.\n@ 3600 IN SOA ns hostmaster 1 3600 600 86400 60\n"
                      "@ 3600 IN NS ns\nns 3600 IN A 192.0.2.2\nwww 3600 IN A 192.0.2.3\n"
                      "www 3600 IN A 192.0.2.4\n")
        for name in ("example.hosts", "hosts"):
            with open(os.path.join(self.zones, name), "w", encoding="utf-8") as out:
                out.write(HOSTS)
        self.upstream = UnboundServer(self.mktemp(), UPSTREAM)
        self.addCleanup(self.upstream.stop)
        yield self.upstream.start()

    @defer.inlineCallbacks
    def check_plugin(self, plugin: str):
        examples = corefile_examples(plugin_readme(plugin))
        self.assertGreater(len(examples), 0)
        report = []
        for index, example in enumerate(examples):
            if (plugin, index) in NOT_RUN:
                continue
            corefile = on_loopback(example)
            pair = yield serve_both(
                self, corefile,
                environ={"UPSTREAM": f"127.0.0.1:{self.upstream.port}", "ZONES": self.zones},
                per_server=lambda corefile=corefile: http_variables(corefile))
            where = f"{plugin} example {index + 1}"
            if pair.pydns is None or pair.coredns is None:
                if (plugin, index) in ONE_REFUSES:
                    continue
                if pair.failures[0] is None or pair.failures[1] is None:
                    report.append(f"{where}: only one refused it: pydns {pair.failures[0]!r}, "
                                  f"CoreDNS {pair.failures[1]!r}\n{corefile}")
                continue
            # two caches filled a moment apart may count a TTL down a second apart
            slack = 1 if re.search(r"^\s*cache\b", corefile, re.MULTILINE) else 0
            lines = yield pair.compare(queries_for(corefile), KNOWN, ttl_slack=slack)
            # a Known difference need not show in every example
            report += [f"{where}: {line}" for line in lines if "no longer seen" not in line]
            yield pair.stop()
        self.assertEqual(report, [], f"{len(report)} differences:\n" + "\n".join(report))


def _test(plugin: str):
    def test(self):
        return self.check_plugin(plugin)
    test.__name__ = f"test_{plugin}"
    test.__doc__ = f"The {plugin} README's examples answer as CoreDNS does."
    return test


for _plugin in PLUGINS:
    setattr(ExampleTests, f"test_{_plugin}", _test(_plugin))
