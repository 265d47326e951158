"""Where plugins the order file does not list go in the chain (rules 2-4 of the registry's
theory of operation): each gets a gap in the listed order, from its ``@position``
declarations; a cycle or an impossible pair of bounds is a conflict."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twisted_dns.registry import PluginInfo

def place(skeleton: list[str], plugins: dict[str, PluginInfo], usable: set[str]
          ) -> tuple[list[str], dict[str, str]]:
    """Every known directive in chain order, and a problem for each unlisted one with no place
    (``usable``: the directives that loaded; only they are placed by their declarations).

    Places are gaps in ``skeleton``: gap ``g`` is just before ``skeleton[g]``, gap
    ``len(skeleton)`` the end. Each unlisted plugin gets a gap; plugins sharing one are
    ordered topologically, ties by name.
    """
    index = {name: i for i, name in enumerate(skeleton)}
    end = len(skeleton)
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
