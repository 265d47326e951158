"""*autopath* with a resolv.conf, CoreDNS and pydns side by side: hits on each search element
(file, hosts and template answering), NODATA, NXDOMAIN on every element, other types, mixed
case, names outside the zones or not under the first element, the first element itself, and
``@PLUGIN`` naming a plugin the block does not have."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.differential.harness import Query, both_ways, free_address, serve_both
from tests.differential.test_zones import KNOWN
from tests.plugins.test_autopath import ZONE
from twisted_dns.pkg import metrics
from twisted_dns.plugins.autopath.setup import setup
from twisted_dns.testing import registry_with
from twisted_dns.testing import server as testing_server

COREFILE = """. {
    autopath example.org {$DIR}/resolv.conf
    hosts {
        10.0.0.9 x.test
        fallthrough
    }
    template IN TXT svc.test {
        answer "{{ .Name }} 60 IN TXT \\"tmpl\\""
    }
    file {$DIR}/db.example.org example.org
}
"""

NAMES = [
    # the first element (a.example.org): a hit, a NODATA that wins over b's TXT
    ("www.a.example.org.", ["A", "AAAA", "TXT", "MX"]),
    # the second (b.example.org): A, CNAME chain, MX, wildcard, NODATA
    ("only.a.example.org.", ["A", "AAAA", "MX"]),
    ("alias.a.example.org.", ["A", "AAAA"]),
    ("mx.a.example.org.", ["MX", "A"]),
    ("x.wild.a.example.org.", ["A"]),
    # the third (example.org), and the last ("": the base name itself), from hosts, template
    ("ns.a.example.org.", ["A", "AAAA"]),
    ("x.test.a.example.org.", ["A", "AAAA"]),
    ("db.svc.test.a.example.org.", ["TXT", "A"]),
    # NXDOMAIN everywhere
    ("nx.a.example.org.", ["A", "TXT"]),
    ("deep.nx.a.example.org.", ["A"]),
    # mixed case
    ("Only.A.Example.ORG.", ["A"]),
    ("WWW.a.EXAMPLE.org.", ["A"]),
    ("NX.A.Example.ORG.", ["A"]),
    # not under the first element, outside the zones, the first element itself
    ("www.b.example.org.", ["A", "TXT"]),
    ("www.example.org.", ["A"]),
    ("example.org.", ["SOA", "NS"]),
    ("x.test.", ["A"]),
    ("db.svc.test.", ["TXT"]),
    ("a.example.org.", ["A", "TXT"]),
    ("A.Example.Org.", ["A"]),
]


class AutoPathTests(unittest.TestCase):
    timeout = 120

    def setUp(self) -> None:
        # until the installed package's metadata lists autopath (a no-op after)
        self.patch(testing_server, "_registry", registry_with({"autopath": setup}))
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.write("db.example.org", ZONE)

    def write(self, name: str, text: str) -> None:
        with open(os.path.join(self.directory, name), "w", encoding="utf-8") as handle:
            handle.write(text)

    @defer.inlineCallbacks
    def compare(self, corefile: str, names: list[tuple[str, list[str]]],
                per_server: Callable[[], dict[str, str]] | None = None) -> defer.Deferred:
        pair = yield serve_both(self, corefile, environ={"DIR": self.directory},
                                per_server=per_server, probe=("example.org.", "SOA"))
        self.assertEqual(pair.failures, (None, None))
        queries = [Query.make(name, rdtype, use_edns=0, payload=1232)
                   for name, types in names for rdtype in types]
        queries += [Query.make(name, types[0]) for name, types in names]  # without EDNS
        report = yield pair.compare(both_ways(queries), KNOWN)
        report = [line for line in report if "no longer seen" not in line]
        self.assertEqual(report, [], f"{len(report)} differences:\n" + "\n".join(report))

    def test_search_list(self) -> defer.Deferred:
        self.write("resolv.conf", "nameserver 192.0.2.53\n"
                                  "search A.example.org b.example.org. example.org\n"
                                  "options ndots:5\n")
        return self.compare(COREFILE, NAMES)

    def test_domain_line_and_foreign_elements(self) -> defer.Deferred:
        """``domain`` after ``search`` wins: the path is that one name, then the root."""
        self.write("resolv.conf", "search x.invalid y.invalid\ndomain a.example.org\n")
        corefile = COREFILE.replace("autopath example.org", "autopath")
        names = [("ns.a.example.org.", ["A"]), ("www.a.example.org.", ["A"]),
                 ("x.test.a.example.org.", ["A"]), ("nx.a.example.org.", ["A"])]
        return self.compare(corefile, names)

    def test_no_search_line(self) -> defer.Deferred:
        """No search path: the root alone, so every name is asked as it is."""
        self.write("resolv.conf", "nameserver 192.0.2.53\n")
        return self.compare(COREFILE, NAMES)

    def test_foreign_search_path(self) -> defer.Deferred:
        """A search path under none of autopath's zones: nothing changes."""
        self.write("resolv.conf", "search x.invalid example.org\n")
        return self.compare(COREFILE, NAMES)

    def test_plugin_not_in_the_block(self) -> defer.Deferred:
        """``@kubernetes`` without kubernetes: both start, and do no autopath."""
        return self.compare(COREFILE.replace("{$DIR}/resolv.conf", "@kubernetes"), NAMES)

    @defer.inlineCallbacks
    def test_success_counter(self) -> defer.Deferred:
        """``coredns_autopath_success_total`` counts the same queries."""
        self.write("resolv.conf", "search a.example.org b.example.org example.org\n")
        metrics.fresh()  # pydns's counters are the process's
        addresses: list[str] = []  # pydns's, then CoreDNS's

        def per_server() -> dict[str, str]:
            addresses.append(free_address())
            return {"METRICS": addresses[-1]}

        corefile = COREFILE.replace("    file", "    prometheus {$METRICS}\n    file")
        yield self.compare(corefile, NAMES, per_server)
        ours, theirs = yield threads.deferToThread(lambda: [successes(a) for a in addresses])
        self.assertEqual(ours, theirs)
        self.assertGreater(ours, 0)


def successes(address: str) -> float:
    """The sum of a server's ``coredns_autopath_success_total`` series (blocking)."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("coredns_autopath_success_total{"))
