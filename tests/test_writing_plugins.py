"""docs/writing-plugins.md's test module runs and passes, so the plugin author's guide cannot
rot: it is extracted (the ``python test`` block) and run with trial in a fresh process."""

from __future__ import annotations

import importlib.util
import os
import sys

from twisted.internet import defer, utils
from twisted.trial import unittest

from twisted_dns.testing import fenced_blocks

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs",
                   "writing-plugins.md")


class TestingSectionTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_example_test_module_passes(self):
        if importlib.util.find_spec("twisted_dns_example") is None:
            raise unittest.SkipTest("twisted-dns-example is not importable (tox installs it)")
        [module] = fenced_blocks(DOC, "python test")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "test_echoname_doc.py"), "w") as handle:
            handle.write(module)
        out, err, code = yield utils.getProcessOutputAndValue(
            sys.executable, ["-m", "twisted.trial", "test_echoname_doc"], path=directory,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([directory, *sys.path])})
        output = (out + err).decode()
        self.assertEqual(code, 0, output)
        self.assertIn(f"PASSED (successes={module.count('    def test_')})", output)
