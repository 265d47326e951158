"""Plugin discovery: Corefile directive name -> setup callable, and the chain order.

Theory of operation
-------------------
Every plugin, built-in or third-party, is an entry point in the group ``twisted_dns.plugins``:
the entry point's name is the Corefile directive, its value a ``setup(controller) -> None``.
``Registry.discover`` loads them all once, so a broken or conflicting plugin is found early,
but it only *warns* about it: the error is raised by ``setup_for`` when a Corefile actually
uses that directive. An unrelated broken install never stops a server that does not use it.

The chain order never comes from the Corefile. It comes from an order file (the packaged
``plugin.cfg``, or the user's ``--plugin-cfg`` file, which replaces it entirely):

1. Plugins named in the order file take exactly that order. Their ``@position`` declarations
   are ignored: the order file is the authority for what it lists.
2. Plugins not named there are placed by their ``@position(before=..., after=...)``
   declarations. A name in a declaration is either a name in the order file (installed or
   not: its line still marks a place) or another unlisted plugin; other names are ignored,
   so an optional neighbour that is not installed costs nothing.
3. A plugin declaring ``after`` something goes as early as it may (right after it); one
   declaring only ``before`` something goes as late as it may (right before it); one
   declaring nothing goes at the very end of the chain, after every listed plugin, where it
   only sees queries that everything else passed on (CoreDNS's place for an appended plugin).
4. Unlisted plugins sharing a place are ordered by their declarations among themselves,
   ties broken by name, so the result never depends on installation order.

A plugin whose declarations cannot be met (a cycle, or "after X and before Y" with Y ahead
of X) is unusable like a broken one: a warning, and a ``ConfigError`` naming the plugins
involved when a Corefile uses it.

``order()`` lists every known directive, unusable ones too (where the order file lists them,
else at the end), so a caller that walks it for a block's directives always reaches
``setup_for`` and its error: a broken directive in a Corefile is never silently dropped.
"""


from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from twisted.logger import Logger

from twisted_dns.errors import ConfigError
from twisted_dns.registry.order import (
    AFTER_ATTR,
    BEFORE_ATTR,
    directive_names,
    packaged_order,
    parse_order,
    position,
    read_order_file,
)
from twisted_dns.registry.placement import place

__all__ = ["GROUP", "PluginInfo", "Registry", "packaged_order", "parse_order", "position",
           "read_order_file"]

GROUP = "twisted_dns.plugins"

OK, FAILED, DUPLICATE, CONFLICT = "ok", "failed", "duplicate", "conflict"

_log = Logger()


@dataclass(frozen=True)
class PluginInfo:
    """What the registry knows about one directive."""

    name: str
    #: the distribution registering it (None for an entry point without one)
    distribution: str | None
    version: str | None
    #: the entry point's value, ``module:attr``
    value: str
    setup: Callable[..., None] | None = None
    #: the exception raised while loading the entry point, if any
    error: BaseException | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    #: OK, FAILED (did not load), DUPLICATE (several distributions) or CONFLICT (no place)
    status: str = OK
    #: why the plugin cannot be used: the ConfigError message ``setup_for`` raises
    problem: str | None = None
    #: the other distributions registering the same directive, as ``name==version``
    duplicates: tuple[str, ...] = ()
    #: True when the order file names the plugin (else it is placed by its declarations)
    listed: bool = False
    #: 0-based index in ``Registry.order()`` (set by ``Registry.discover``)
    position: int | None = None

    @property
    def label(self) -> str:
        """``distribution==version``, the way pip names it."""
        return _label(self.distribution, self.version)


def _label(distribution: str | None, version: str | None) -> str:
    if distribution is None:
        return "(no distribution)"
    return f"{distribution}=={version}" if version else distribution


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _distribution(ep: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    try:
        return dist.name, dist.version
    except Exception:  # broken metadata must not stop discovery
        return None, None


class Registry:
    """The installed plugins: directive names, their setup callables and the chain order."""

    def __init__(self, plugins: dict[str, PluginInfo], order: list[str],
                 warnings: list[str]) -> None:
        self._plugins = plugins
        self._order = order
        #: problems found at discovery; each is an error only once a Corefile uses the plugin
        self.warnings = warnings

    @classmethod
    def discover(cls, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
                 plugin_cfg: str | None = None) -> Registry:
        """Load every plugin entry point and place it in the chain.

        ``entry_points`` defaults to the installed ones in ``GROUP``; ``plugin_cfg`` is the
        path of a user order file replacing the packaged ``plugin.cfg``.
        """
        if entry_points is None:
            entry_points = importlib.metadata.entry_points(group=GROUP)
        skeleton = packaged_order() if plugin_cfg is None else read_order_file(plugin_cfg)
        plugins, warnings = _collect(entry_points)
        listed = set(skeleton)
        plugins = {name: replace(info, listed=name in listed) for name, info in plugins.items()}
        usable = {name for name, info in plugins.items() if info.status == OK}
        order, conflicts = place(skeleton, plugins, usable)
        for name, problem in sorted(conflicts.items()):
            plugins[name] = replace(plugins[name], status=CONFLICT, problem=problem)
            warnings.append(problem)
        for index, name in enumerate(order):
            plugins[name] = replace(plugins[name], position=index)
        for problem in warnings:
            # not "warning=": trial's observer takes that key for a Python warnings event
            _log.warn("{problem}", problem=problem)
        return cls(plugins, order, warnings)

    def names(self) -> frozenset[str]:
        """Every directive known, including broken ones, so a Corefile error can say why."""
        return frozenset(self._plugins)

    def order(self) -> list[str]:
        """Every known directive in chain order.

        Unusable ones are included (where the order file lists them, else at the end), so a
        caller walking ``order()`` for a block's directives reaches ``setup_for`` for them and
        raises their error instead of silently leaving them out of the chain.
        """
        return list(self._order)

    def setup_for(self, name: str) -> Callable[..., None]:
        """The setup callable of directive ``name``; a ``ConfigError`` if it cannot be used."""
        info = self._plugins.get(name)
        if info is None:
            raise ConfigError(f"unknown directive '{name}'")
        if info.problem is not None or info.setup is None:
            raise ConfigError(info.problem or f"plugin '{name}' is unusable") from info.error
        return info.setup

    def describe(self) -> list[PluginInfo]:
        """Every directive, in ``order()``."""
        return [self._plugins[name] for name in self._order]


def _collect(entry_points: Iterable[importlib.metadata.EntryPoint]
             ) -> tuple[dict[str, PluginInfo], list[str]]:
    """One PluginInfo per directive: loaded, failed, or a duplicate across distributions."""
    found: dict[str, dict[str, importlib.metadata.EntryPoint]] = {}
    for ep in entry_points:
        if ep.group != GROUP:
            continue
        distribution, _version = _distribution(ep)
        # the same distribution twice on sys.path is one distribution: the first one wins
        key = _canonical(distribution) if distribution else f"value:{ep.value}"
        found.setdefault(ep.name, {}).setdefault(key, ep)

    plugins: dict[str, PluginInfo] = {}
    warnings: list[str] = []
    for name, by_dist in sorted(found.items()):
        first, *others = by_dist.values()
        distribution, version = _distribution(first)
        info = PluginInfo(name, distribution, version, first.value)
        if others:
            labels = [_label(*_distribution(ep)) for ep in by_dist.values()]
            problem = (f"plugin '{name}' is registered by several distributions: "
                       f"{', '.join(labels)}; uninstall all but one")
            info = replace(info, status=DUPLICATE, problem=problem,
                           duplicates=tuple(labels[1:]))
        else:
            info = _load(info, first)
        if info.problem is not None:
            warnings.append(info.problem)
        plugins[name] = info
    return plugins, warnings


def _load(info: PluginInfo, ep: importlib.metadata.EntryPoint) -> PluginInfo:
    try:
        setup = ep.load()
        if not callable(setup):
            raise TypeError(f"{ep.value} is not callable")
        before = directive_names(getattr(setup, BEFORE_ATTR, ()), "before")
        after = directive_names(getattr(setup, AFTER_ATTR, ()), "after")
    except Exception as exc:  # any import-time failure is the plugin's, not ours
        problem = (f"plugin '{info.name}' from {info.label} failed to load ({info.value}): "
                   f"{type(exc).__name__}: {exc}")
        return replace(info, status=FAILED, error=exc, problem=problem)
    return replace(info, setup=setup, before=before, after=after)
