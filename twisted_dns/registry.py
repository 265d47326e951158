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

import heapq
import importlib.metadata
import importlib.resources
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from twisted.logger import Logger

from twisted_dns.errors import ConfigError

GROUP = "twisted_dns.plugins"

#: attributes that ``position`` sets on a setup callable
BEFORE_ATTR = "twisted_dns_before"
AFTER_ATTR = "twisted_dns_after"

OK, FAILED, DUPLICATE, CONFLICT = "ok", "failed", "duplicate", "conflict"

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")

_log = Logger()

_F = TypeVar("_F", bound=Callable[..., Any])


def _names(value: str | Iterable[str], what: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"position({what}=...) takes directive names, got {name!r}")
    return names


def position(before: str | Iterable[str] = (), after: str | Iterable[str] = ()
             ) -> Callable[[_F], _F]:
    """Declare where an unlisted plugin goes in the chain, for plugin authors::

        @position(after="cache", before="forward")
        def setup(c): ...

    Only used when the order file does not name the plugin (see the module docstring).
    """
    before_names, after_names = _names(before, "before"), _names(after, "after")
    both = sorted(set(before_names) & set(after_names))
    if both:
        raise ValueError(f"position(): {', '.join(both)} is both before and after")

    def mark(setup: _F) -> _F:
        setattr(setup, BEFORE_ATTR, before_names)
        setattr(setup, AFTER_ATTR, after_names)
        return setup

    return mark


def parse_order(text: str, file: str = "plugin.cfg") -> list[str]:
    """Parse the plugin.cfg format: one directive name a line, ``#`` starts a comment."""
    order: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not _NAME.match(name):
            hint = " (CoreDNS's name:package format? keep only the name)" if ":" in name else ""
            raise ConfigError(f"expected one directive name a line, got {name!r}{hint}",
                              file, number)
        if name in seen:
            raise ConfigError(f"{name!r} is already listed on line {seen[name]}", file, number)
        seen[name] = number
        order.append(name)
    return order


def read_order_file(path: str | os.PathLike[str]) -> list[str]:
    """Read a user's order file (``--plugin-cfg``); a bad one is a ``ConfigError`` FILE:LINE."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read plugin order file: {exc}", file) from exc
    return parse_order(text, file)


def packaged_order() -> list[str]:
    """The chain order shipped with twisted-dns (``twisted_dns/plugin.cfg``)."""
    text = importlib.resources.files("twisted_dns").joinpath("plugin.cfg").read_text("utf-8")
    return parse_order(text, "twisted_dns/plugin.cfg")


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
        order, conflicts = _place(skeleton, plugins)
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


def format_plugins(registry: Registry) -> str:
    """The ``twistd pydns --plugins`` listing: one line a plugin, in chain order.

    Usable plugins are numbered by their place in a chain; unusable ones show ``-`` and why.
    No trailing newline: made for ``print``.
    """
    rows = []
    usable = 0
    for info in registry.describe():
        usable += info.status == OK
        place = str(usable) if info.status == OK else "-"
        rows.append((place, info.name, info.label, _note(info)))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    lines = [f"{place:>{widths[0]}}  {name:<{widths[1]}}  {label:<{widths[2]}}  {note}".rstrip()
             for place, name, label, note in rows]
    return "\n".join(lines)


def _note(info: PluginInfo) -> str:
    if info.status == FAILED:
        return f"(failed: {type(info.error).__name__}: {info.error})"
    if info.status == DUPLICATE:
        return f"(duplicate: also registered by {', '.join(info.duplicates)})"
    if info.status == CONFLICT:
        return f"(conflict: {info.problem})"
    if info.listed:
        return ""
    declared = [f"before {', '.join(info.before)}"] if info.before else []
    declared += [f"after {', '.join(info.after)}"] if info.after else []
    return f"({'; '.join(declared)})" if declared else "(not in the plugin order: at the end)"


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
        before = _names(getattr(setup, BEFORE_ATTR, ()), "before")
        after = _names(getattr(setup, AFTER_ATTR, ()), "after")
    except Exception as exc:  # any import-time failure is the plugin's, not ours
        problem = (f"plugin '{info.name}' from {info.label} failed to load ({info.value}): "
                   f"{type(exc).__name__}: {exc}")
        return replace(info, status=FAILED, error=exc, problem=problem)
    return replace(info, setup=setup, before=before, after=after)


def _place(skeleton: list[str], plugins: dict[str, PluginInfo]
           ) -> tuple[list[str], dict[str, str]]:
    """Every known directive in chain order, and a problem for each unlisted one with no place.

    Places are gaps in ``skeleton``: gap ``g`` is just before ``skeleton[g]``, gap
    ``len(skeleton)`` the end. Each unlisted plugin gets a gap; plugins sharing one are
    ordered topologically, ties by name.
    """
    index = {name: i for i, name in enumerate(skeleton)}
    end = len(skeleton)
    usable = {name for name, info in plugins.items() if info.status == OK}
    unlisted = sorted(usable - set(index))

    # "a before b" edges among unlisted plugins, whichever of the two declared it
    edges: dict[str, set[str]] = {name: set() for name in unlisted}
    for name in unlisted:
        info = plugins[name]
        for other in info.before:
            if other in edges:
                edges[name].add(other)
        for other in info.after:
            if other in edges:
                edges[other].add(name)

    conflicts = {name: _cycle_problem(cycle) for cycle in _cycles(edges) for name in cycle}
    edges = _without(edges, conflicts)
    conflicts.update(_bound_conflicts(index, end, plugins, edges))
    # dropping unplaceable plugins only loosens the others' bounds: no new conflict can arise
    edges = _without(edges, conflicts)
    gaps = _gaps(index, end, plugins, edges)

    ranked = {name: rank for rank, name in enumerate(_toposort(edges))}
    by_gap: dict[int, list[str]] = {}
    for name, gap in gaps.items():
        by_gap.setdefault(gap, []).append(name)
    order: list[str] = []
    for gap in range(end + 1):
        order.extend(sorted(by_gap.get(gap, ()), key=ranked.__getitem__))
        if gap < end and skeleton[gap] in plugins:
            order.append(skeleton[gap])
    # unusable and unlisted (failed, duplicate, no place): known, so at the end, by name
    placed = set(order)
    order.extend(sorted(name for name in plugins if name not in placed))
    return order, conflicts


def _without(edges: dict[str, set[str]], removed: Iterable[str]) -> dict[str, set[str]]:
    gone = set(removed)
    return {a: {b for b in bs if b not in gone} for a, bs in edges.items() if a not in gone}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of plugins that can reach themselves (strongly connected, sorted)."""
    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return seen

    reachable = {name: reach(name) for name in edges}
    groups: list[list[str]] = []
    done: set[str] = set()
    for name in sorted(edges):
        if name in done or name not in reachable[name]:
            continue
        group = sorted(n for n in reachable[name] if name in reachable[n])
        done.update(group)
        groups.append(group)
    return groups


def _toposort(edges: dict[str, set[str]]) -> list[str]:
    """Kahn's algorithm, smallest name first among the ready ones: deterministic."""
    indegree = {name: 0 for name in edges}
    for targets in edges.values():
        for target in targets:
            indegree[target] += 1
    ready = [name for name, degree in indegree.items() if degree == 0]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        result.append(name)
        for target in edges[name]:
            indegree[target] -= 1
            if indegree[target] == 0:
                heapq.heappush(ready, target)
    return result


def _cycle_problem(cycle: list[str]) -> str:
    if len(cycle) == 1:
        return f"plugin '{cycle[0]}' declares its place (@position) relative to itself"
    names = ", ".join(f"'{name}'" for name in cycle)
    return f"plugins {names} declare a cyclic order (@position before/after)"


_Bound = tuple[int, "str | None", "str | None"]   # (gap, listed anchor, declaring plugin)


def _bounds(index: dict[str, int], end: int, plugins: dict[str, PluginInfo],
            edges: dict[str, set[str]]) -> tuple[dict[str, _Bound], dict[str, _Bound]]:
    """The lowest and highest gap each unlisted plugin may take, and who imposed them.

    A gap is bounded below by every listed name the plugin (or a plugin it must follow) comes
    after, and above by every listed name it (or a plugin it must precede) comes before.
    """
    topo = _toposort(edges)
    preds = _predecessors(edges)
    low: dict[str, _Bound] = {}
    high: dict[str, _Bound] = {}
    for name in topo:
        low[name] = max([(index[x] + 1, x, name) for x in plugins[name].after if x in index]
                        + [low[p] for p in sorted(preds[name])],
                        default=(0, None, None), key=lambda bound: bound[0])
    for name in reversed(topo):
        high[name] = min([(index[y], y, name) for y in plugins[name].before if y in index]
                         + [high[s] for s in sorted(edges[name])],
                         default=(end, None, None), key=lambda bound: bound[0])
    return low, high


def _bound_conflicts(index: dict[str, int], end: int, plugins: dict[str, PluginInfo],
                     edges: dict[str, set[str]]) -> dict[str, str]:
    low, high = _bounds(index, end, plugins, edges)
    conflicts = {}
    for name in sorted(edges):
        (lo, after, by_after), (hi, before, by_before) = low[name], high[name]
        if lo > hi:
            conflicts[name] = (
                f"plugin '{name}' cannot be placed in the chain: it must come after '{after}' "
                f"(declared by '{by_after}') and before '{before}' (declared by '{by_before}'), "
                f"but the plugin order has '{before}' ahead of '{after}'")
    return conflicts


def _predecessors(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    preds: dict[str, set[str]] = {name: set() for name in edges}
    for a, targets in edges.items():
        for b in targets:
            preds[b].add(a)
    return preds


def _gaps(index: dict[str, int], end: int, plugins: dict[str, PluginInfo],
          edges: dict[str, set[str]]) -> dict[str, int]:
    """Each unlisted plugin's gap, given bounds that conflict nowhere.

    A plugin that comes after something takes its lowest gap (right after it); one that only
    comes before something takes the highest gap that keeps it ahead of what it precedes;
    one with no declaration at all takes the end.
    """
    low, _high = _bounds(index, end, plugins, edges)
    preds = _predecessors(edges)
    gaps: dict[str, int] = {}
    for name in reversed(_toposort(edges)):
        info = plugins[name]
        if preds[name] or any(x in index for x in info.after):
            gaps[name] = low[name][0]
        else:
            own = min((index[y] for y in info.before if y in index), default=end)
            gaps[name] = min([own] + [gaps[s] for s in edges[name]])
    return gaps
