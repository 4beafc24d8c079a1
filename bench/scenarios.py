"""The benchmark's scenarios: which v2 requests are sent, and what a good answer holds."""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode

from seed import Fixture

ADD_QUANTITY = 1000


@dataclass(frozen=True)
class Scenario:
    name: str
    action: str
    expect: tuple[str, ...]  # substrings every response body must contain
    reject: tuple[str, ...]  # substrings no response body may contain
    note: str = ""
    share: float = 1.0  # of --requests: services answers are 160 KB, so it sends fewer

    def count(self, requests: int) -> int:
        return max(1, round(requests * self.share))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "status",
            "status",
            ('"status":',),
            ('"error"',),
            note="one order id (order=ID), a different id of the caller each request",
        ),
        Scenario("status100", "status", ('"charge":',), ('"error"',), note="orders=100 ids of the caller"),
        Scenario(
            "services",
            "services",
            ('"service":',),
            ('"error"',),
            share=0.2,
            note="all 1,000 services (~160 KB of JSON)",
        ),
        Scenario("balance", "balance", ('"balance":',), ('"error"',)),
        Scenario(
            "add",
            "add",
            ('"order":',),
            ('"error"',),
            note="a Default service, quantity 1000, a new link every request",
        ),
    ]
}


def bodies(scenario: Scenario, fixture: Fixture, count: int, tag: str, seed: int = 1) -> list[str]:
    """`count` urlencoded request bodies; `tag` makes add links unique to this run."""
    rng = random.Random(seed)
    key = fixture.key
    if scenario.name == "status":
        ids = fixture.order_ids
        return [urlencode({"key": key, "action": "status", "order": rng.choice(ids)}) for _ in range(count)]
    if scenario.name == "status100":
        ids = fixture.order_ids
        return [
            urlencode({"key": key, "action": "status", "orders": ",".join(map(str, rng.sample(ids, 100)))})
            for _ in range(count)
        ]
    if scenario.name in {"services", "balance"}:
        return [urlencode({"key": key, "action": scenario.action})] * count
    if scenario.name == "add":
        services = [s for s in fixture.add_services if s[1] <= ADD_QUANTITY <= s[2]]
        return [
            urlencode(
                {
                    "key": key,
                    "action": "add",
                    "service": services[i % len(services)][0],
                    "link": f"https://instagram.com/p/bench-{tag}-{i}",
                    "quantity": ADD_QUANTITY,
                }
            )
            for i in range(count)
        ]
    raise ValueError(f"unknown scenario {scenario.name!r}")
