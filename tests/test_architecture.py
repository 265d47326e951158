"""The import grain ARCHITECTURE.md promises, checked on every run: plugins -> pkg -> core.

- the core (``server``, ``config``, ``corefile``, ``registry``, ``request``, ``response``,
  ``wire``, ``names``, ``addresses``, ``interfaces``, ``errors``) imports no plugin, nothing of
  ``pkg`` and nothing of the test kit;
- ``pkg`` imports the core and itself only (never ``server``, a plugin or the test kit);
- a plugin reaches the server only through the Controller (``twisted_dns.config``) and
  ``twisted_dns.interfaces``: never ``server`` or ``corefile``; and another plugin only
  through its package's face (``twisted_dns.plugins.file``, never ``...file.zone``).
"""

from __future__ import annotations

import ast
import os

from twisted.trial import unittest

import twisted_dns

ROOT = os.path.dirname(twisted_dns.__file__)
CORE = ("server", "config", "corefile", "registry", "request", "response", "wire", "names",
        "addresses", "interfaces", "errors")
#: what a plugin may not import at all: the server side goes through the Controller
AROUND_THE_CONTROLLER = ("twisted_dns.server", "twisted_dns.corefile")


def modules() -> dict[str, str]:
    """Every module of the package: dotted name -> path."""
    found = {}
    for directory, _, files in os.walk(ROOT):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(directory, file)
                relative = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                found[relative.removesuffix(".__init__")] = path
    return found


def imports(module: str, path: str, known: dict[str, str]) -> list[tuple[int, str]]:
    """(line, module imported) for every import in the file, wherever it stands (inside a
    function or under TYPE_CHECKING too); ``from a import b`` counts as ``a.b`` when b is a
    module."""
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names
                      if f"{base}.{alias.name}" in known]
    return [(line, name) for line, name in found if name.startswith("twisted_dns")]


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in CORE:
        return "core"
    return parts[1]  # pkg, plugins, testing, tap, logging


def violations() -> list[str]:
    known = modules()
    found = []
    for module, path in sorted(known.items()):
        where = os.path.relpath(path, os.path.dirname(ROOT))
        mine = layer(module)
        for line, target in imports(module, path, known):
            theirs = layer(target)
            if mine == "core" and theirs in ("pkg", "plugins", "testing", "tap"):
                found.append(f"{where}:{line}: the core imports {target}")
            elif mine == "pkg" and (theirs in ("plugins", "testing", "tap")
                                    or target.startswith("twisted_dns.server")):
                found.append(f"{where}:{line}: pkg imports {target}")
            elif mine == "plugins" and len(module.split(".")) > 2:
                own = module.split(".")[2]
                if target.startswith(AROUND_THE_CONTROLLER):
                    found.append(f"{where}:{line}: a plugin imports {target} "
                                 f"(use the Controller)")
                elif (theirs == "plugins" and len(target.split(".")) > 3
                      and target.split(".")[2] != own):
                    found.append(f"{where}:{line}: a plugin imports another plugin's private "
                                 f"module {target} (use its package's face)")
    return found


class ImportGrainTests(unittest.TestCase):
    def test_no_import_against_the_grain(self) -> None:
        self.assertEqual(violations(), [])

    def test_the_check_sees_a_violation(self) -> None:
        """The scan itself works: it resolves relative imports and finds real modules."""
        known = modules()
        path = known["twisted_dns.plugins.auto.auto"]
        targets = {target for _, target in imports("twisted_dns.plugins.auto.auto", path, known)}
        self.assertIn("twisted_dns.plugins.file", targets)
        self.assertEqual(layer("twisted_dns.server.handler"), "core")
        self.assertEqual(layer("twisted_dns.pkg.metrics"), "pkg")
