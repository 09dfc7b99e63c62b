"""Deterministic demo scenarios: ``seed_scenario(state, "demo")``.

A scenario is a set of businesses (standalone accounts, not connected to the platform, with
the restricted keys SecondLoop needs) whose customers live on one Stripe test clock per
business, with 120+ days of billing history already run through the engine. The same name
and sandbox seed give the same ids, customers, failures and events. ``secondloop sandbox
--seed demo`` seeds at start; ``running_sandbox`` users call :func:`seed_scenario` through
``sb.call``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sandbox.seed.generator import BusinessSummary, seed_business
from sandbox.seed.profiles import BUSINESSES
from sandbox.state import SandboxState

# name -> total customers (split across the businesses) and days of history.
SCENARIOS: dict[str, tuple[int, int]] = {
    "demo": (200, 125),
    "demo-small": (24, 125),
    "demo-large": (1000, 125),
}


@dataclass
class SeedSummary:
    scenario: str
    now: int
    history_days: int
    seconds: float
    businesses: list[BusinessSummary]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "now": self.now,
            "history_days": self.history_days,
            "seconds": round(self.seconds, 3),
            "businesses": [b.to_json() for b in self.businesses],
        }


def is_scenario(name: str | None) -> bool:
    return name is not None and name in SCENARIOS


def seed_scenario(
    state: SandboxState,
    name: str = "demo",
    *,
    customers: int | None = None,
    history_days: int | None = None,
    now: int | None = None,
) -> SeedSummary:
    """Seed ``name`` into ``state``; ``customers`` overrides the scenario's size (tests use a
    handful). Must run on the sandbox's event loop (or before the app serves requests)."""
    default_customers, default_days = SCENARIOS.get(name, SCENARIOS["demo"])
    total = customers if customers is not None else default_customers
    days = history_days if history_days is not None else default_days
    started = time.perf_counter()
    current = now if now is not None else state.clock.now()
    businesses = []
    shares = _split(total, len(BUSINESSES))
    for business, count in zip(BUSINESSES, shares, strict=True):
        businesses.append(
            seed_business(
                state, business, customers_count=count, seed=name, now=current, history_days=days
            )
        )
    summary = SeedSummary(name, current, days, time.perf_counter() - started, businesses)
    # Kept in the platform's hidden data so it persists with the state file.
    state.platform.store.hidden_of("__seed__")["summary"] = summary.to_json()
    return summary


def seeded_summary(state: SandboxState) -> dict[str, Any] | None:
    """What :func:`seed_scenario` seeded into this state, if anything."""
    found = state.platform.store.hidden.get("__seed__", {}).get("summary")
    return found if isinstance(found, dict) else None


def _split(total: int, parts: int) -> list[int]:
    # The first business is the bigger one (60 / 40 for two).
    first = round(total * 0.6) if parts == 2 else total // parts
    rest = total - first
    if parts == 1:
        return [total]
    others = [rest // (parts - 1)] * (parts - 1)
    others[0] += rest - sum(others)
    return [first, *others]


__all__ = ["SCENARIOS", "SeedSummary", "is_scenario", "seed_scenario", "seeded_summary"]
