"""The ``file`` targets' zone and query mix: writes bench/zones/bench.test.db and
bench/queries/bench.test-mix (both committed; a test checks they are what this writes).

    python bench/file_zone.py

``bench.test.`` is a small realistic zone (about 1,300 names): an apex with NS, MX, TXT and
addresses; hosts with A and, some of them, AAAA, TXT and MX; in-zone CNAMEs and chains of
two, CNAMEs leaving the zone, wildcards, delegations with glue and an SRV record. The query
mix is seeded, so the same every time: hits of several types, NODATA, NXDOMAIN, wildcard
answers, CNAMEs followed or not, referrals, and names in mixed case. bench/large_zone.py
measures a million records of one kind each; this one measures a zone of the size most
deployments serve, with every kind of answer the *file* plugin gives.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORIGIN = "bench.test."
ZONE = BENCH / "zones" / "bench.test.db"
QUERIES = BENCH / "queries" / "bench.test-mix"
HOSTS = 1000
ALIASES = 100  # aliasN CNAME hostN
CHAINS = 20  # chainN CNAME aliasN
EXTERNAL = 10  # extN CNAME a name outside the zone
WILDCARDS = 20  # *.wildK
DELEGATIONS = 50  # subK NS ns.subK, with glue
QUERY_LINES = 5000
#: share of the query lines whose name is written in mixed case
MIXED_CASE = 0.15


def host_types(i: int) -> list[str]:
    """The types host ``i`` has: A always, AAAA on even, TXT on every 5th, MX on every 10th."""
    return ["A"] + ["AAAA"] * (i % 2 == 0) + ["TXT"] * (i % 5 == 0) + ["MX"] * (i % 10 == 0)


def zone_text() -> str:
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 3600",
        "@ IN SOA ns1 hostmaster 2026120301 7200 3600 1209600 300",
        "@ IN NS ns1", "@ IN NS ns2",
        "@ IN A 192.0.2.10", "@ IN AAAA 2001:db8::10",
        "@ IN MX 10 mail1", "@ IN MX 20 mail2",
        '@ IN TXT "v=spf1 mx -all"',
        "ns1 IN A 192.0.2.1", "ns1 IN AAAA 2001:db8::1",
        "ns2 IN A 192.0.2.2", "ns2 IN AAAA 2001:db8::2",
        "mail1 IN A 192.0.2.3", "mail2 IN A 192.0.2.4",
        "www IN CNAME @",
        "_sip._udp IN SRV 10 60 5060 host1",
    ]
    data = {"A": lambda i: f"10.0.{i >> 8}.{i & 255}", "AAAA": lambda i: f"2001:db8:1::{i:x}",
            "TXT": lambda i: f'"host {i}"', "MX": lambda i: "10 mail1"}
    for i in range(HOSTS):
        lines += [f"host{i} IN {kind} {data[kind](i)}" for kind in host_types(i)]
    lines += [f"alias{i} IN CNAME host{i}" for i in range(ALIASES)]
    lines += [f"chain{i} IN CNAME alias{i}" for i in range(CHAINS)]
    lines += [f"ext{i} IN CNAME www{i}.example.net." for i in range(EXTERNAL)]
    for k in range(WILDCARDS):
        lines += [f"*.wild{k} IN A 192.0.2.{100 + k}", f'*.wild{k} IN TXT "wildcard {k}"']
    for k in range(DELEGATIONS):
        lines += [f"sub{k} IN NS ns.sub{k}", f"ns.sub{k} IN A 198.51.100.{k + 1}"]
    return "\n".join(lines) + "\n"


def query_kinds(rng: random.Random) -> list[tuple[float, Callable[[], str]]]:
    """(share of the mix, a maker of one ``name type`` line) for each kind of answer."""
    def host_hit() -> str:
        i = rng.randrange(HOSTS)
        return f"host{i}.{ORIGIN} {rng.choice(host_types(i))}"

    def nodata() -> str:
        i = rng.randrange(HOSTS)
        return f"host{i}.{ORIGIN} {rng.choice(['SRV', 'PTR', 'AAAA' if i % 2 else 'NS'])}"

    return [
        (0.40, host_hit),
        (0.08, lambda: f"{ORIGIN} {rng.choice(['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA'])}"),
        (0.08, nodata),
        (0.10, lambda: f"{rng.choice(['nohost', 'www.host', 'x'])}{rng.randrange(10_000)}"
                       f".{ORIGIN} A"),
        (0.08, lambda: f"x{rng.randrange(1000)}.wild{rng.randrange(WILDCARDS)}.{ORIGIN} "
                       f"{rng.choice(['A', 'TXT', 'AAAA'])}"),
        (0.06, lambda: f"alias{rng.randrange(ALIASES)}.{ORIGIN} A"),
        (0.03, lambda: f"chain{rng.randrange(CHAINS)}.{ORIGIN} A"),
        (0.02, lambda: f"www.{ORIGIN} {rng.choice(['A', 'MX'])}"),
        (0.02, lambda: f"ext{rng.randrange(EXTERNAL)}.{ORIGIN} A"),
        (0.08, lambda: f"{rng.choice(['www.', 'ns.', ''])}sub{rng.randrange(DELEGATIONS)}"
                       f".{ORIGIN} A"),
        (0.03, lambda: f"_sip._udp.{ORIGIN} SRV"),
        (0.02, lambda: f"mail{rng.randrange(1, 3)}.{ORIGIN} A"),
    ]


def mixed_case(name: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in name)


def queries_text(lines: int = QUERY_LINES, seed: int = 1) -> str:
    rng = random.Random(seed)
    kinds = query_kinds(rng)
    weights = [share for share, _ in kinds]
    out = []
    for _ in range(lines):
        (_, make), = rng.choices(kinds, weights)
        name, kind = make().split()
        out.append(f"{mixed_case(name, rng) if rng.random() < MIXED_CASE else name} {kind}")
    return "\n".join(out) + "\n"


def main() -> None:
    ZONE.parent.mkdir(exist_ok=True)
    ZONE.write_text(zone_text())
    QUERIES.write_text(queries_text())
    print(f"wrote {ZONE} and {QUERIES}")


if __name__ == "__main__":
    main()
