"""Tests for twisted_dns.registry.

Entry points come from ``FakeDistribution``: a ``importlib.metadata.Distribution`` held in
memory, implementing the class's two documented abstract methods (``read_text`` and
``locate_file``). Its ``entry_points`` are real ``EntryPoint`` objects whose ``dist`` is set
by importlib itself, the same way on Python 3.10 to 3.13, without the private
``EntryPoint._for``. Their values point at the setup callables below.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import os
import random
import sys

from twisted.trial import unittest

from twisted_dns.errors import ConfigError
from twisted_dns.registry import (
    CONFLICT,
    DUPLICATE,
    FAILED,
    GROUP,
    OK,
    PluginInfo,
    Registry,
    packaged_order,
    parse_order,
    position,
    read_order_file,
)
from twisted_dns.tap import format_plugins

HERE = __name__


def setup_plain(c) -> None:
    """A setup callable with no declared place."""


@position(after="cache")
def setup_after_cache(c) -> None:
    pass


@position(before="whoami")
def setup_before_whoami(c) -> None:
    pass


@position(after="forward", before="whoami")
def setup_between(c) -> None:
    pass


@position(after="whoami", before="cache")
def setup_impossible(c) -> None:
    pass


@position(before="beta")
def setup_alpha_before_beta(c) -> None:
    pass


@position(before="alpha")
def setup_beta_before_alpha(c) -> None:
    pass


@position(after="alpha")
def setup_after_alpha(c) -> None:
    pass


@position(before="self_ref")
def setup_before_self_ref(c) -> None:
    pass


@position(after="no_such_plugin")
def setup_after_unknown(c) -> None:
    pass


class FakeDistribution(importlib.metadata.Distribution):
    """An installed distribution without files: metadata and entry_points.txt in memory."""

    def __init__(self, name: str, version: str, entry_points: dict[str, str],
                 group: str = GROUP) -> None:
        lines = "".join(f"{ep} = {value}\n" for ep, value in entry_points.items())
        self._files = {
            "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            "entry_points.txt": f"[{group}]\n{lines}",
        }

    def read_text(self, filename):
        return self._files.get(str(filename))

    def locate_file(self, path):
        raise FileNotFoundError(path)


def eps(name: str, version: str = "1.0", **entry_points: str):
    """Entry points of a fake distribution; values name callables in this module."""
    values = {ep: value if ":" in value else f"{HERE}:{value}"
              for ep, value in entry_points.items()}
    return list(FakeDistribution(name, version, values).entry_points)


def builtins(*names: str):
    """Entry points as twisted-dns itself registers its built-ins (no declared place)."""
    return eps("twisted-dns", "0.1.0", **{name: "setup_plain" for name in names})


class OrderFileMixin:
    def order_file(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path


class PackagedOrderTests(unittest.TestCase):
    def test_order_follows_plugin_cfg_not_registration(self) -> None:
        """Whatever order the entry points come in, the chain is plugin.cfg's."""
        names = ["whoami", "cache", "root", "forward", "errors"]
        expected = [name for name in packaged_order() if name in names]
        self.assertEqual(expected, ["root", "errors", "cache", "forward", "whoami"])
        for permutation in itertools.permutations(names):
            registry = Registry.discover(builtins(*permutation))
            self.assertEqual(registry.order(), expected)
        self.assertEqual(registry.warnings, [])

    def test_setup_for(self) -> None:
        registry = Registry.discover(builtins("whoami"))
        self.assertIs(registry.setup_for("whoami"), setup_plain)

    def test_unknown_directive(self) -> None:
        registry = Registry.discover(builtins("whoami"))
        error = self.assertRaises(ConfigError, registry.setup_for, "nosuch")
        self.assertIn("unknown directive 'nosuch'", str(error))

    def test_other_groups_ignored(self) -> None:
        other = list(FakeDistribution("x", "1", {"whoami": f"{HERE}:setup_plain"},
                                      group="console_scripts").entry_points)
        self.assertEqual(Registry.discover(other).names(), frozenset())

    def test_packaged_plugin_cfg_is_valid(self) -> None:
        order = packaged_order()
        self.assertEqual(order[0], "root")
        self.assertIn("whoami", order)


class DeclaredPositionTests(unittest.TestCase):
    def test_after(self) -> None:
        """'after cache' goes right after cache, ahead of the rest that follows it."""
        registry = Registry.discover(
            builtins("cache", "forward", "errors") + eps("ext", mine="setup_after_cache"))
        self.assertEqual(registry.order(), ["errors", "cache", "mine", "forward"])

    def test_before(self) -> None:
        """'before whoami' goes right before whoami, behind everything ahead of it."""
        registry = Registry.discover(
            builtins("cache", "forward", "whoami") + eps("ext", mine="setup_before_whoami"))
        self.assertEqual(registry.order(), ["cache", "forward", "mine", "whoami"])

    def test_after_and_before(self) -> None:
        registry = Registry.discover(
            builtins("forward", "whoami") + eps("ext", mine="setup_between"))
        self.assertEqual(registry.order(), ["forward", "mine", "whoami"])

    def test_anchor_not_installed(self) -> None:
        """A name in the order file marks a place even when that plugin is not installed."""
        registry = Registry.discover(
            builtins("errors", "whoami") + eps("ext", mine="setup_after_cache"))
        self.assertEqual(registry.order(), ["errors", "mine", "whoami"])

    def test_undeclared_goes_last(self) -> None:
        registry = Registry.discover(
            eps("ext", zeta="setup_plain", mine="setup_plain") + builtins("whoami", "cache"))
        self.assertEqual(registry.order(), ["cache", "whoami", "mine", "zeta"])
        info = {i.name: i for i in registry.describe()}
        self.assertFalse(info["mine"].listed)
        self.assertTrue(info["cache"].listed)

    def test_unknown_neighbour_ignored(self) -> None:
        """A declaration naming a plugin nobody knows places nothing: the end, no error."""
        registry = Registry.discover(builtins("whoami") + eps("ext", mine="setup_after_unknown"))
        self.assertEqual(registry.order(), ["whoami", "mine"])
        self.assertEqual(registry.warnings, [])

    def test_among_unlisted_plugins(self) -> None:
        """Declarations between unlisted plugins are honoured; ties go by name."""
        registry = Registry.discover(
            builtins("cache", "forward")
            + eps("ext", alpha="setup_after_cache", zed="setup_after_alpha",
                  beta="setup_after_alpha", gamma="setup_alpha_before_beta"))
        # alpha right after cache; beta and zed after alpha (by name); gamma before beta
        # only, so as late as that allows: right before beta, in the same place
        self.assertEqual(registry.order(),
                         ["cache", "alpha", "gamma", "beta", "zed", "forward"])

    def test_before_an_unlisted_plugin(self) -> None:
        """'before beta', with beta after cache: it goes right before beta, not at the end."""
        registry = Registry.discover(
            builtins("cache", "forward", "whoami")
            + eps("ext", beta="setup_after_cache", gamma="setup_alpha_before_beta"))
        self.assertEqual(registry.order(), ["cache", "gamma", "beta", "forward", "whoami"])

    def test_listed_plugin_ignores_its_declaration(self) -> None:
        """The order file is the authority for the names it lists."""
        registry = Registry.discover(eps("ext", whoami="setup_after_cache") + builtins("cache"))
        self.assertEqual(registry.order(), ["cache", "whoami"])

    def test_cycle(self) -> None:
        registry = Registry.discover(
            builtins("whoami")
            + eps("ext", alpha="setup_alpha_before_beta", beta="setup_beta_before_alpha",
                  other="setup_before_whoami"))
        self.assertEqual(registry.order(), ["other", "whoami", "alpha", "beta"])
        for name in ("alpha", "beta"):
            error = self.assertRaises(ConfigError, registry.setup_for, name)
            self.assertIn("'alpha', 'beta'", str(error))
            self.assertIn("cyclic", str(error))
        self.assertEqual(len(registry.warnings), 2)
        statuses = {i.name: i.status for i in registry.describe()}
        self.assertEqual(statuses, {"alpha": CONFLICT, "beta": CONFLICT, "other": OK,
                                    "whoami": OK})

    def test_downstream_of_cycle_still_placed(self) -> None:
        """A plugin after a cyclic one loses that neighbour, not its own place."""
        registry = Registry.discover(
            eps("ext", alpha="setup_alpha_before_beta", beta="setup_beta_before_alpha",
                after_alpha="setup_after_alpha", self_ref="setup_before_self_ref"))
        self.assertEqual(registry.order(), ["after_alpha", "alpha", "beta", "self_ref"])
        self.assertTrue(registry.setup_for("after_alpha"))
        error = self.assertRaises(ConfigError, registry.setup_for, "self_ref")
        self.assertIn("plugin 'self_ref' declares its place (@position) relative to itself",
                      str(error))

    def test_contradiction(self) -> None:
        """'after whoami, before cache' has no place: an error naming it and both anchors."""
        registry = Registry.discover(
            builtins("cache", "whoami") + eps("ext", mine="setup_impossible"))
        self.assertEqual(registry.order(), ["cache", "whoami", "mine"])
        error = self.assertRaises(ConfigError, registry.setup_for, "mine")
        self.assertIn("'mine'", str(error))
        self.assertIn("after 'whoami'", str(error))
        self.assertIn("before 'cache'", str(error))

    def test_contradiction_through_another_plugin(self) -> None:
        """beta must follow alpha (after cache) yet precede errors: neither has a place."""
        registry = Registry.discover(
            builtins("errors", "cache")
            + eps("ext", alpha="setup_after_cache", beta="setup_before_errors_after_alpha",
                  gamma="setup_after_alpha"))
        self.assertEqual(registry.order(), ["errors", "cache", "gamma", "alpha", "beta"])
        for name in ("alpha", "beta"):
            error = self.assertRaises(ConfigError, registry.setup_for, name)
            self.assertIn(f"plugin '{name}' cannot be placed", str(error))
            self.assertIn("after 'cache' (declared by 'alpha')", str(error))
            self.assertIn("before 'errors' (declared by 'beta')", str(error))

    def test_position_decorator(self) -> None:
        @position(before=["a", "b"], after="c")
        def setup(c) -> None:
            pass

        self.assertEqual(setup.twisted_dns_before, ("a", "b"))
        self.assertEqual(setup.twisted_dns_after, ("c",))
        self.assertRaises(ValueError, position, before="a", after=("a",))
        self.assertRaises(ValueError, position, before=[""])


@position(after="alpha", before="errors")
def setup_before_errors_after_alpha(c) -> None:
    pass


class UserOrderFileTests(OrderFileMixin, unittest.TestCase):
    def test_replaces_packaged_order(self) -> None:
        """The user's file is the whole order; built-ins it omits go to the end."""
        path = self.order_file("# mine\nwhoami\ncache\n")
        registry = Registry.discover(builtins("cache", "forward", "whoami"), plugin_cfg=path)
        self.assertEqual(registry.order(), ["whoami", "cache", "forward"])

    def test_lists_a_third_party_plugin(self) -> None:
        path = self.order_file("mine\ncache\nwhoami\n")
        registry = Registry.discover(
            builtins("cache", "whoami") + eps("ext", mine="setup_before_whoami"),
            plugin_cfg=path)
        self.assertEqual(registry.order(), ["mine", "cache", "whoami"])

    def test_declarations_against_the_user_order(self) -> None:
        path = self.order_file("whoami\ncache\n")
        registry = Registry.discover(
            builtins("cache", "whoami") + eps("ext", mine="setup_before_whoami"),
            plugin_cfg=path)
        self.assertEqual(registry.order(), ["mine", "whoami", "cache"])

    def test_bad_user_file(self) -> None:
        path = self.order_file("cache\nwhoami forward\n")
        error = self.assertRaises(ConfigError, Registry.discover, builtins(), plugin_cfg=path)
        self.assertEqual((error.file, error.line), (path, 2))

    def test_missing_user_file(self) -> None:
        path = self.mktemp()
        error = self.assertRaises(ConfigError, Registry.discover, builtins(), plugin_cfg=path)
        self.assertEqual(error.file, path)
        self.assertIn("cannot read plugin order file", str(error))


class ReadOrderFileTests(OrderFileMixin, unittest.TestCase):
    def test_comments_and_blank_lines(self) -> None:
        path = self.order_file("# header\n\nroot\n   \n  cache  # inline\n#whoami\nforward")
        self.assertEqual(read_order_file(path), ["root", "cache", "forward"])

    def test_path_like(self) -> None:
        from pathlib import Path
        self.assertEqual(read_order_file(Path(self.order_file("a\n"))), ["a"])

    def test_bad_line(self) -> None:
        path = self.order_file("root\n\ncache forward\n")
        error = self.assertRaises(ConfigError, read_order_file, path)
        self.assertEqual((error.file, error.line), (path, 3))
        self.assertTrue(str(error).startswith(f"{path}:3: "))
        self.assertIn("'cache forward'", str(error))

    def test_coredns_format_hint(self) -> None:
        error = self.assertRaises(ConfigError, parse_order, "cache:cache\n", "my.cfg")
        self.assertEqual(str(error).split(":")[:2], ["my.cfg", "1"])
        self.assertIn("name:package", str(error))

    def test_listed_twice(self) -> None:
        error = self.assertRaises(ConfigError, parse_order, "cache\nroot\ncache\n", "x.cfg")
        self.assertEqual(error.line, 3)
        self.assertIn("line 1", str(error))


class BrokenPluginTests(unittest.TestCase):
    def test_duplicate_across_distributions(self) -> None:
        registry = Registry.discover(
            builtins("whoami")
            + eps("alpha-dns", "1.0", fancy="setup_plain")
            + eps("beta-dns", "2.5", fancy="setup_after_cache"))
        self.assertEqual(registry.order(), ["whoami", "fancy"])
        self.assertEqual(registry.setup_for("whoami"), setup_plain)
        error = self.assertRaises(ConfigError, registry.setup_for, "fancy")
        self.assertIn("'fancy'", str(error))
        self.assertIn("alpha-dns==1.0", str(error))
        self.assertIn("beta-dns==2.5", str(error))
        self.assertEqual(len(registry.warnings), 1)
        self.assertIn("beta-dns==2.5", registry.warnings[0])
        info = registry.describe()[-1]
        self.assertEqual((info.name, info.status, info.position), ("fancy", DUPLICATE, 1))
        self.assertEqual(info.duplicates, ("beta-dns==2.5",))
        self.assertIn("(duplicate: also registered by beta-dns==2.5)", format_plugins(registry))

    def test_duplicate_of_a_builtin(self) -> None:
        """A third party reusing a built-in's name is a duplicate too, named as such."""
        registry = Registry.discover(builtins("cache") + eps("ext", cache="setup_plain"))
        error = self.assertRaises(ConfigError, registry.setup_for, "cache")
        self.assertIn("twisted-dns==0.1.0", str(error))
        self.assertIn("ext==1.0", str(error))

    def test_same_distribution_twice(self) -> None:
        """A second copy of one dist-info on sys.path is the same plugin, not a conflict."""
        registry = Registry.discover(
            eps("Ext_Dist", "1.0", mine="setup_plain")
            + eps("ext-dist", "1.0", mine="setup_plain")
            + eps("ext.dist", "0.9", mine="setup_after_cache"))
        self.assertEqual(registry.warnings, [])
        self.assertIs(registry.setup_for("mine"), setup_plain)
        self.assertEqual(registry.describe()[0].label, "Ext_Dist==1.0")

    def test_failed_import_unused(self) -> None:
        """A plugin that cannot load is only a warning while no Corefile uses it."""
        registry = Registry.discover(
            builtins("whoami") + eps("broken-dist", "3.1", broken="no_such_module_xyz:setup"))
        self.assertEqual(registry.order(), ["whoami", "broken"])
        self.assertEqual(len(registry.warnings), 1)
        for part in ("'broken'", "broken-dist==3.1", "ModuleNotFoundError", "no_such_module_xyz"):
            self.assertIn(part, registry.warnings[0])
        listing = format_plugins(registry)
        self.assertRegex(listing.splitlines()[1],
                         r"^-  broken  broken-dist==3.1 +\(failed: ModuleNotFoundError: ")

    def test_failed_import_used(self) -> None:
        registry = Registry.discover(eps("broken-dist", "3.1", broken=f"{HERE}:no_such_attr"))
        error = self.assertRaises(ConfigError, registry.setup_for, "broken")
        for part in ("'broken'", "broken-dist==3.1", "AttributeError", "no_such_attr"):
            self.assertIn(part, str(error))
        self.assertIsInstance(error.__cause__, AttributeError)
        self.assertEqual(registry.describe()[0].status, FAILED)

    def test_failed_listed_plugin_keeps_its_place(self) -> None:
        """A broken built-in stays where plugin.cfg puts it, so a caller reaches its error."""
        registry = Registry.discover(
            builtins("whoami", "errors") + eps("twisted-dns", "0.1.0", cache="no_such_mod:f"))
        self.assertEqual(registry.order(), ["errors", "cache", "whoami"])
        self.assertEqual(registry.names(), frozenset({"whoami", "cache", "errors"}))
        self.assertEqual(format_plugins(registry).splitlines()[1:],
                         ["-  cache   twisted-dns==0.1.0  (failed: ModuleNotFoundError: "
                          "No module named 'no_such_mod')",
                          "2  whoami  twisted-dns==0.1.0"])

    def test_not_callable(self) -> None:
        registry = Registry.discover(eps("ext", mine=f"{HERE}:HERE"))
        error = self.assertRaises(ConfigError, registry.setup_for, "mine")
        self.assertIn("not callable", str(error))

    def test_entry_point_without_distribution(self) -> None:
        bare = importlib.metadata.EntryPoint("mine", f"{HERE}:setup_plain", GROUP)
        registry = Registry.discover([bare])
        self.assertIs(registry.setup_for("mine"), setup_plain)
        self.assertIn("(no distribution)", format_plugins(registry))


class FormatPluginsTests(unittest.TestCase):
    def test_listing(self) -> None:
        registry = Registry.discover(
            builtins("cache", "whoami")
            + eps("twisted-dns-example", "0.2", mine="setup_before_whoami", last="setup_plain"))
        self.assertEqual(format_plugins(registry).splitlines(), [
            "1  cache   twisted-dns==0.1.0",
            "2  mine    twisted-dns-example==0.2  (before whoami)",
            "3  whoami  twisted-dns==0.1.0",
            "4  last    twisted-dns-example==0.2  (not in the plugin order: at the end)",
        ])
        self.assertEqual([(i.name, i.position) for i in registry.describe()],
                         [("cache", 0), ("mine", 1), ("whoami", 2), ("last", 3)])

    def test_empty(self) -> None:
        self.assertEqual(format_plugins(Registry.discover([])), "")


class InstalledDiscoveryTests(unittest.TestCase):
    def test_builtins_installed(self) -> None:
        """discover() with no arguments finds the built-ins of an installed twisted-dns."""
        try:
            dist = importlib.metadata.distribution("twisted-dns")
        except importlib.metadata.PackageNotFoundError as exc:
            raise unittest.SkipTest("twisted-dns is not installed as a distribution") from exc
        registered = {ep.name for ep in dist.entry_points if ep.group == GROUP}
        registry = Registry.discover()
        self.assertTrue(registered)
        self.assertLessEqual(registered, registry.names())
        listed = [name for name in packaged_order() if name in registered]
        self.assertEqual([name for name in registry.order() if name in registered], listed)

    def test_dist_info_twice_on_sys_path(self) -> None:
        """Real dist-info directories, the same one in two sys.path entries: no conflict."""
        for _ in range(2):
            root = self.mktemp()
            info = os.path.join(root, "twisted_dns_regtest-1.0.dist-info")
            os.makedirs(info)
            with open(os.path.join(info, "METADATA"), "w") as f:
                f.write("Metadata-Version: 2.1\nName: twisted-dns-regtest\nVersion: 1.0\n")
            with open(os.path.join(info, "entry_points.txt"), "w") as f:
                f.write(f"[{GROUP}]\nregtest = {HERE}:setup_plain\n")
            sys.path.append(root)
            self.addCleanup(sys.path.remove, root)
        registry = Registry.discover()
        self.assertIs(registry.setup_for("regtest"), setup_plain)
        self.assertFalse([w for w in registry.warnings if "regtest" in w])
        # and the same, handing both copies over explicitly
        found = [ep for dist in importlib.metadata.distributions(path=sys.path[-2:])
                 for ep in dist.entry_points if ep.group == GROUP]
        self.assertEqual(len(found), 2)
        self.assertEqual(Registry.discover(found).warnings, [])


class PlacementPropertyTests(unittest.TestCase):
    def test_random_declarations(self) -> None:
        """Every placed plugin meets all its declarations; input order never matters."""
        from twisted_dns.registry.placement import place

        skeleton = [f"s{i}" for i in range(8)]
        for seed in range(300):
            rnd = random.Random(seed)
            unlisted = [f"u{i}" for i in range(rnd.randint(0, 6))]
            targets = [*skeleton, *unlisted, "unknown"]
            plugins = {name: PluginInfo(name, "d", "1", "m:f", setup=setup_plain)
                       for name in skeleton if rnd.random() < 0.6}
            for name in unlisted:
                before = set(rnd.sample(targets, rnd.randint(0, 2)))
                after = set(rnd.sample(targets, rnd.randint(0, 2))) - before
                plugins[name] = PluginInfo(name, "d", "1", "m:f", setup=setup_plain,
                                           before=tuple(before), after=tuple(after))
            order, conflicts = place(skeleton, plugins, set(plugins))
            shuffled = list(plugins.items())
            rnd.shuffle(shuffled)
            self.assertEqual(place(skeleton, dict(shuffled), set(plugins)), (order, conflicts))
            self.assertEqual(sorted(order), sorted(plugins))
            self.assertEqual(order[len(order) - len(conflicts):], sorted(conflicts))
            at = {name: i for i, name in enumerate(order) if name not in conflicts}
            # a listed name marks a place even when not installed: compare with its neighbours
            for name in set(unlisted) - set(conflicts):
                for other in plugins[name].before:
                    later = skeleton[skeleton.index(other):] if other in skeleton else [other]
                    self.assertTrue(all(at[name] < at[n] for n in later if n in at), seed)
                for other in plugins[name].after:
                    earlier = skeleton[:skeleton.index(other) + 1] if other in skeleton else [other]
                    self.assertTrue(all(at[name] > at[n] for n in earlier if n in at), seed)
