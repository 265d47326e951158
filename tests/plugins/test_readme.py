"""The README example extractor the plugin tests use (``tests.plugins.readme``)."""

from __future__ import annotations

from twisted.trial import unittest

from tests.plugins.readme import corefile_examples, plugin_readme

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

    def test_plugin_readme(self) -> None:
        self.assertTrue(plugin_readme("whoami").endswith("twisted_dns/plugins/whoami/README.md"))
        self.assertEqual(len(corefile_examples(plugin_readme("bind"))), 5)
