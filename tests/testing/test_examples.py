"""README examples (``twisted_dns.testing.examples``): extracted, and checked against the
installed directives."""

from __future__ import annotations

import os

from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.testing import check_examples, corefile_examples, fenced_blocks, plugin_readme

README = """\
# demo

~~~ txt
demo ARG
~~~

~~~ corefile
. {
    whoami
}
~~~

```corefile
example.org {
    any
}
```

````markdown
```corefile
not.an.example {
}
```
````

~~~
plain
~~~
"""


class CorefileExamplesTests(unittest.TestCase):
    def test_extracts_corefile_blocks_only(self) -> None:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(README)
        self.assertEqual(corefile_examples(path), [". {\n    whoami\n}\n",
                                                   "example.org {\n    any\n}\n"])

    def test_fenced_blocks_by_info_words(self) -> None:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("```python\nshown = 1\n```\n\n```Python test extra\nrun = 2\n```\n")
        self.assertEqual(fenced_blocks(path, "python test"), ["run = 2\n"])
        self.assertEqual(fenced_blocks(path, "python"), ["shown = 1\n", "run = 2\n"])
        self.assertEqual(fenced_blocks(path, "corefile"), [])

    def test_plugin_readme(self) -> None:
        self.assertTrue(plugin_readme("whoami").endswith("twisted_dns/plugins/whoami/README.md"))
        self.assertEqual(len(corefile_examples(plugin_readme("bind"))), 5)


class CheckExamplesTests(unittest.TestCase):
    def readme(self, *examples: str) -> str:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("# demo\n\n" + "".join(f"~~~ corefile\n{e}~~~\n\n" for e in examples))
        return path

    def test_a_third_party_readme(self) -> None:
        """The plugin need not be installed; the other directives must be."""
        path = self.readme(". {\n    demo 30\n    whoami\n}\n", "example.org {\n    demo\n}\n")
        self.assertEqual(check_examples(self, "demo", 2, readme=path),
                         [". {\n    demo 30\n    whoami\n}\n", "example.org {\n    demo\n}\n"])

    def test_a_built_in_plugin(self) -> None:
        self.assertEqual(check_examples(self, "bind", 5), corefile_examples(plugin_readme("bind")))

    def test_misspelt_directive_fails(self) -> None:
        path = self.readme(". {\n    demo\n    whoamii\n}\n")
        exc = self.assertRaises(ConfigError, check_examples, self, "demo", readme=path)
        self.assertEqual(str(exc), "README.md:3: unknown directive 'whoamii'")

    def test_a_document_about_no_plugin(self) -> None:
        path = self.readme(". {\n    whoami\n}\n", "example.org {\n    import extra\n}\n")
        root = os.path.abspath(self.mktemp())
        os.makedirs(root)
        with open(os.path.join(root, "extra"), "w", encoding="utf-8") as handle:
            handle.write("chaos\n")
        self.assertEqual(len(check_examples(self, None, 2, readme=path,
                                            filename=os.path.join(root, "Corefile"))), 2)
        with open(os.path.join(root, "extra"), "w", encoding="utf-8") as handle:
            handle.write("chaoss\n")
        exc = self.assertRaises(ConfigError, check_examples, self, None, readme=path,
                                filename=os.path.join(root, "Corefile"))
        self.assertEqual(str(exc), f"{os.path.join(root, 'extra')}:1: unknown directive 'chaoss'")

    def test_environment(self) -> None:
        path = self.readme("{$ZONE} {\n    demo\n}\n")
        [example] = check_examples(self, "demo", readme=path, environ={"ZONE": "example.org"})
        self.assertIn("{$ZONE}", example)

    def test_failures(self) -> None:
        cases = {
            "count": (self.readme(". {\n    demo\n}\n"), 2),
            "first block without the plugin": (self.readme(". {\n    whoami\n}\n"), None),
            "no example": (self.readme(), None),
        }
        for what, (path, count) in cases.items():
            with self.subTest(what):
                self.assertRaises(self.failureException, check_examples, self, "demo", count,
                                  readme=path)
