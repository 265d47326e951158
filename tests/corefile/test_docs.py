"""Every Corefile example in docs/corefile.md parses, so the reference cannot rot."""

from __future__ import annotations

import os
import re

from twisted.trial import unittest

from twisted_dns.corefile.keys import parse_key
from twisted_dns.corefile.parser import parse

DOC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "docs", "corefile.md")
EXAMPLE = re.compile(r"^~~~ corefile\n(.*?)^~~~$", re.S | re.M)
ENVIRON = {"ZONE": "example.org", "PORT": "1053", "UPSTREAM": "9.9.9.9", "LOG_CLASS": "error"}


class DocExampleTests(unittest.TestCase):
    def test_examples_parse(self) -> None:
        with open(DOC, encoding="utf-8") as doc:
            examples = EXAMPLE.findall(doc.read())
        self.assertGreaterEqual(len(examples), 10)
        root = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(root, "zones"))
        with open(os.path.join(root, "common.conf"), "w") as common:
            common.write("errors\n")
        for example in examples:
            blocks = parse(example, os.path.join(root, "Corefile"), environ=ENVIRON)
            self.assertTrue(blocks, example)
            for block in blocks:
                self.assertTrue(block.keys, example)
                for key in block.keys:
                    self.assertTrue(parse_key(key), example)
