"""Zone files for the tests of *file* and the plugins built on it (*auto*): an example zone,
a signed one, and :class:`Folder`, a test case with a fresh folder to write zone files in."""

from __future__ import annotations

import os

import dns.rdatatype
from twisted.trial import unittest

ZONE = """\
$TTL 3600
@       IN SOA  ns hostmaster {serial} 7200 3600 1209600 300
        IN NS   ns
ns      IN A    192.0.2.53
www     IN A    {address}
alias   IN CNAME www
loop1   IN CNAME loop2
loop2   IN CNAME loop1
mx      IN MX   10 mail
mail    IN A    192.0.2.25
"""

A, NS, CNAME, SOA, MX, TXT = (dns.rdatatype.A, dns.rdatatype.NS, dns.rdatatype.CNAME,
                              dns.rdatatype.SOA, dns.rdatatype.MX, dns.rdatatype.TXT)


def zone_text(serial: int = 1, address: str = "192.0.2.80") -> str:
    return ZONE.format(serial=serial, address=address)


SIGNED = """\
$TTL 3600
@        IN SOA   ns hostmaster 1 7200 3600 1209600 300
         IN NS    ns
         IN RRSIG SOA 13 2 3600 20300101000000 20200101000000 1 example.org. AAAA
         IN RRSIG NS 13 2 3600 20300101000000 20200101000000 1 example.org. AAAA
         IN NSEC  *.example.org. SOA NS RRSIG NSEC
         IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 1 example.org. AAAA
*        IN A     192.0.2.9
         IN RRSIG A 13 2 3600 20300101000000 20200101000000 1 example.org. BBBB
         IN NSEC  ns.example.org. A RRSIG NSEC
         IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 1 example.org. BBBB
ns       IN A     192.0.2.53
         IN RRSIG A 13 3 3600 20300101000000 20200101000000 1 example.org. CCCC
         IN NSEC  sub.example.org. A RRSIG NSEC
         IN RRSIG NSEC 13 3 300 20300101000000 20200101000000 1 example.org. CCCC
sub      IN NS    ns.sub
         IN DS    1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
         IN RRSIG DS 13 3 3600 20300101000000 20200101000000 1 example.org. DDDD
         IN NSEC  example.org. NS DS RRSIG NSEC
         IN RRSIG NSEC 13 3 300 20300101000000 20200101000000 1 example.org. DDDD
ns.sub   IN A     192.0.2.54
"""


class Folder(unittest.TestCase):
    """A test case with a fresh folder of zone files."""

    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        # a rewrite within the same clock tick must still look changed
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9 * len(text)))
        return path

