"""The ``weighted`` policy's data: the weight file, read at setup and again every DURATION.

The format is CoreDNS's: a domain name on a line of its own, then ``ADDRESS WEIGHT`` lines
(weights 1-255) for it; blank lines and ``#`` comments are ignored. Addresses the file does not
list weigh 1. A reload reads the file only when its contents changed (by digest); a bad file
is logged and the previous weights stay.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from typing import Any

from twisted.logger import Logger

from twisted_dns.errors import ConfigError
from twisted_dns.pkg.periodic import Periodic

log = Logger(namespace="loadbalance")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: lower-case absolute domain name -> {address: weight}
Domains = dict[str, dict[Address, int]]


def parse_address(text: str) -> Address | None:
    """An IP address as Go's ``net.ParseIP`` reads it (IPv4-mapped IPv6 is the IPv4 address)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_weights(text: str, path: str) -> Domains:
    """The weight file's domains; a ConfigError at ``path:LINE`` for a line it cannot read."""
    domains: Domains = {}
    current: dict[Address, int] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) == 1:
            if parse_address(fields[0]) is not None:
                raise ConfigError(f'wrong domain name "{fields[0]}" (maybe a missing weight '
                                  f'value?)', path, number)
            name = fields[0].lower()
            current = domains.setdefault(name if name.endswith(".") else name + ".", {})
        elif len(fields) == 2:
            address = parse_address(fields[0])
            if address is None:
                raise ConfigError(f'wrong IP address "{fields[0]}"', path, number)
            weight = int(fields[1]) if fields[1].isdigit() else 0
            if not 1 <= weight <= 255:
                raise ConfigError(f'wrong weight value "{fields[1]}"', path, number)
            if current is None:
                raise ConfigError("missing domain name", path, number)
            current.setdefault(address, weight)
        else:
            raise ConfigError(f'could not parse weight line "{line}"', path, number)
    return domains


class Weights:
    """The weight file's current contents, and the weighted choice of a first address."""

    def __init__(self, path: str, reload: float, reactor: Any,
                 rng: random.Random | None = None) -> None:
        self.path = path
        #: seconds between reads; 0 reads the file once
        self.reload = reload
        self.reactor = reactor
        self.rng = rng or random.Random()
        self.domains: Domains = {}
        self._digest: bytes | None = None
        self._poll = Periodic(self._reload, f"weight file reload loop for {self.path}")

    def load(self) -> None:
        """Read the file if it changed; raises ConfigError (a bad line) or OSError."""
        with open(self.path, "rb") as handle:
            data = handle.read()
        digest = hashlib.sha256(data).digest()
        if digest == self._digest:
            return
        # remembered before parsing, as CoreDNS: a bad file is reported once, not every reload
        self._digest = digest
        self.domains = parse_weights(data.decode("utf-8", "replace"), self.path)
        log.info("plugin/loadbalance: successfully reloaded weight file {path}", path=self.path)

    def start(self) -> None:
        """Read the file again every ``reload`` seconds (from the reactor's clock)."""
        self._poll.start(self.reload, self.reactor)

    def stop(self) -> None:
        self._poll.stop()

    def _reload(self) -> None:
        try:
            self.load()
        except (OSError, ConfigError) as exc:
            log.error("plugin/loadbalance: {error}", error=exc)

    def top(self, records: list[tuple[str, Address | None]]) -> int:
        """The index of the address record to put first, from (owner name lower-case and
        absolute, address) pairs: a random pick, each record as likely as its address's
        weight for its name; addresses the file does not list weigh 1."""
        weighted = sorted(((self.domains.get(name, {}).get(address, 1), index)
                           for index, (name, address) in enumerate(records)),
                          key=lambda pair: -pair[0])
        pick = self.rng.randrange(sum(weight for weight, _ in weighted))
        for weight, index in weighted:
            if pick < weight:
                return index
            pick -= weight
        return 0  # unreachable: pick < the sum of the weights
