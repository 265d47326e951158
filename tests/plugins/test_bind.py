"""The *bind* plugin: addresses and interfaces to listen on, with ``except``."""

from __future__ import annotations

import ifaddr
from twisted.internet import defer
from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.plugins.bind.setup import setup
from twisted_dns.testing import check_examples, configure, default_registry, start_server

#: what the fake host's interfaces look like (ifaddr's own types)
ADAPTERS = [
    ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo"),
                                ifaddr.IP(("::1", 0, 0), 128, "lo")]),
    ifaddr.Adapter("eth0", "eth0", [ifaddr.IP("192.0.2.2", 24, "eth0"),
                                    ifaddr.IP("169.254.1.1", 16, "eth0"),
                                    ifaddr.IP(("2001:db8::2", 0, 0), 64, "eth0"),
                                    ifaddr.IP(("fe80::2", 0, 4), 64, "eth0")]),
    ifaddr.Adapter("down0", "down0", []),
]


def hosts(body: str) -> list[str]:
    return configure(setup, "bind", f". {{\n{body}\n}}\n").block.listen_hosts


def error(body: str) -> str:
    try:
        hosts(body)
    except ConfigError as exc:
        return str(exc)
    raise AssertionError("no ConfigError")


class FakeInterfaces(unittest.TestCase):
    def setUp(self) -> None:
        self.patch(ifaddr, "get_adapters", lambda: ADAPTERS)


class AddressTests(FakeInterfaces):
    def test_one(self) -> None:
        self.assertEqual(hosts("    bind 127.0.0.1"), ["127.0.0.1"])

    def test_entry_point(self) -> None:
        self.assertIs(default_registry().setup_for("bind"), setup)

    def test_several(self) -> None:
        self.assertEqual(hosts("    bind 127.0.0.1 ::1"), ["127.0.0.1", "::1"])

    def test_lines_accumulate(self) -> None:
        self.assertEqual(hosts("    bind 127.0.0.1\n    bind ::1 10.0.0.1"),
                         ["127.0.0.1", "::1", "10.0.0.1"])

    def test_normalised_and_deduplicated(self) -> None:
        self.assertEqual(hosts("    bind 0:0::1 ::1 127.0.0.1\n    bind 127.0.0.1"),
                         ["::1", "127.0.0.1"])

    def test_scoped_link_local(self) -> None:
        self.assertEqual(hosts("    bind fe80::1%eth0"), ["fe80::1%eth0"])

    def test_no_chain_link(self) -> None:
        config = configure(setup, "bind", ". {\n    bind 127.0.0.1\n}\n")
        self.assertEqual((config.block.factories, config.chain), ([], None))


class InterfaceTests(FakeInterfaces):
    def test_interface(self) -> None:
        self.assertEqual(hosts("    bind lo"), ["127.0.0.1", "::1"])

    def test_link_local(self) -> None:
        # an IPv6 link-local address gets the interface as zone, as in CoreDNS
        self.assertEqual(hosts("    bind eth0"),
                         ["192.0.2.2", "169.254.1.1", "2001:db8::2", "fe80::2%eth0"])

    def test_except_link_local(self) -> None:
        self.assertEqual(hosts("    bind eth0 {\n        except fe80::2%eth0 169.254.1.1\n    }"),
                         ["192.0.2.2", "2001:db8::2"])

    def test_interface_and_address(self) -> None:
        self.assertEqual(hosts("    bind lo 192.0.2.2 eth0"),
                         ["127.0.0.1", "::1", "192.0.2.2", "169.254.1.1", "2001:db8::2",
                          "fe80::2%eth0"])

    def test_except_address(self) -> None:
        self.assertEqual(hosts("    bind lo {\n        except 127.0.0.1\n    }"), ["::1"])

    def test_except_interface(self) -> None:
        self.assertEqual(hosts("    bind lo eth0 10.0.0.1 {\n        except eth0\n    }"),
                         ["127.0.0.1", "::1", "10.0.0.1"])

    def test_except_compares_addresses(self) -> None:
        self.assertEqual(hosts("    bind lo {\n        except 0:0:0::1\n    }"), ["127.0.0.1"])

    def test_except_only_its_line(self) -> None:
        self.assertEqual(hosts("    bind lo {\n        except 127.0.0.1\n    }\n"
                               "    bind 127.0.0.1"), ["::1", "127.0.0.1"])

    def test_several_except_lines(self) -> None:
        self.assertEqual(hosts("    bind lo eth0 {\n        except 127.0.0.1\n"
                               "        except eth0\n    }"), ["::1"])

    def test_one_line_block(self) -> None:
        self.assertEqual(hosts("    bind lo { except ::1 }"), ["127.0.0.1"])

    def test_empty_interface_beside_others(self) -> None:
        self.assertEqual(hosts("    bind down0\n    bind 127.0.0.1"), ["127.0.0.1"])


class ErrorTests(FakeInterfaces):
    def test_no_argument(self) -> None:
        self.assertEqual(error("    bind"),
                         "Corefile:2: at least one address or interface name is expected")

    def test_not_an_address(self) -> None:
        self.assertEqual(error("    bind 127.0.0.1 example.org"),
                         'Corefile:2: not a valid IP address or interface name: "example.org"')

    def test_bad_address_in_except(self) -> None:
        self.assertEqual(error("    bind lo {\n        except 127.0.0.300\n    }"),
                         'Corefile:3: not a valid IP address or interface name: '
                         '"127.0.0.300"')

    def test_except_without_argument(self) -> None:
        self.assertEqual(error("    bind lo {\n        except\n    }"),
                         "Corefile:3: at least one address or interface must be given to "
                         "except subdirective")

    def test_unknown_option(self) -> None:
        self.assertEqual(error("    bind lo {\n        only 127.0.0.1\n    }"),
                         'Corefile:3: invalid option "only"')

    def test_everything_excluded(self) -> None:
        self.assertEqual(error("    bind 127.0.0.1 {\n        except lo\n    }"),
                         "Corefile:4: no address to bind to: the interfaces have none or "
                         "every one is excluded")

    def test_interface_without_address(self) -> None:
        self.assertEqual(error("    bind down0"),
                         "Corefile:2: no address to bind to: the interfaces have none or "
                         "every one is excluded")

    def test_interface_lookup_fails(self) -> None:
        def broken():
            raise OSError("getifaddrs failed")
        self.patch(ifaddr, "get_adapters", broken)
        self.assertEqual(error("    bind eth0"),
                         'Corefile:2: failed to get the IP addresses of the interface "eth0": '
                         "getifaddrs failed")


class RealInterfaceTests(unittest.TestCase):
    """This host's loopback interface, read for real."""

    def test_loopback(self) -> None:
        addresses = hosts("    bind lo")
        self.assertIn("127.0.0.1", addresses)
        self.assertTrue(all(a.startswith("127.") or a == "::1" for a in addresses), addresses)


class ServerTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_listens_on_address(self):
        server = yield start_server(". {\n    bind 127.0.0.1\n    whoami\n}\n")
        self.addCleanup(server.stop)
        self.assertEqual([key[1] for key in server.service.listeners], ["127.0.0.1"])
        for proto in ("udp", "tcp"):
            reply = yield server.query("example.org", proto=proto)
            self.assertEqual(len(reply.additional), 2)

    @defer.inlineCallbacks
    def test_readme_examples(self):
        examples = check_examples(self, "bind", 5)
        for example in examples:
            server = yield start_server(example)
            try:
                hosts = {key[1] for key in server.service.listeners}
                self.assertTrue(hosts)
                self.assertTrue(hosts <= {"127.0.0.1", "::1"}, hosts)
            finally:
                yield server.stop()
