"""The order in which a query tries the upstreams (CoreDNS's ``policy.go``)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


class Random:
    """A fresh random order per query (the default)."""

    name = "random"

    def list(self, proxies: Sequence[Any]) -> Sequence[Any]:
        n = len(proxies)
        if n == 1:
            return proxies
        if n == 2:
            return proxies if random.getrandbits(1) else (proxies[1], proxies[0])
        shuffled = list(proxies)
        random.shuffle(shuffled)
        return shuffled


class RoundRobin:
    """Each query starts one upstream further along the list."""

    name = "round_robin"

    def __init__(self) -> None:
        self.robin = 0

    def list(self, proxies: Sequence[Any]) -> Sequence[Any]:
        self.robin += 1
        i = self.robin % len(proxies)
        return [*proxies[i:], *proxies[:i]] if i else proxies


class Sequential:
    """Always the configured order: the first upstream unless it is down."""

    name = "sequential"

    def list(self, proxies: Sequence[Any]) -> Sequence[Any]:
        return proxies


POLICIES = {policy.name: policy for policy in (Random, RoundRobin, Sequential)}
