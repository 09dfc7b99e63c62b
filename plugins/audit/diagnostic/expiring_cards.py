"""Scope 2: the cards behind live subscriptions that expire in each of the coming months.

A card is valid through the last day of its expiry month, so a card expiring in the reference
month fails from next month's renewal on. Live subscriptions are active, trialing or past_due;
the card is the subscription's default payment method, else the customer's invoice default.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from plugins.audit.diagnostic.money import add
from plugins.audit.diagnostic.reader import Record

LIVE = ("active", "trialing", "past_due")


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def timeline_months(reference: int, months: int) -> list[tuple[int, int]]:
    start = datetime.fromtimestamp(reference, UTC)
    out = []
    year, month = start.year, start.month
    for _ in range(months):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def analyse(subscriptions: Mapping[str, Record], reference: int, months: int = 6) -> dict[str, Any]:
    timeline = timeline_months(reference, months)
    slots: dict[tuple[int, int], dict[str, Any]] = {
        ym: {"month": month_key(*ym), "count": 0, "mrr": {}} for ym in timeline
    }
    expired: dict[str, Any] = {"count": 0, "mrr": {}}
    at_risk: dict[str, int] = {}
    without_card = 0
    for sub in subscriptions.values():
        if sub["status"] not in LIVE:
            continue
        if not sub["card_exp"]:
            without_card += 1
            continue
        exp_month, exp_year = sub["card_exp"]
        key = (exp_year, exp_month)
        if key < timeline[0]:
            expired["count"] += 1
            add(expired["mrr"], sub["currency"], sub["mrr"])
        elif key in slots:
            slots[key]["count"] += 1
            add(slots[key]["mrr"], sub["currency"], sub["mrr"])
            add(at_risk, sub["currency"], sub["mrr"])
    rows = [slots[ym] for ym in timeline]
    peak = max(rows, key=lambda r: r["count"]) if rows else None
    advisory = None
    if expired["count"]:
        advisory = (
            f"{expired['count']} live subscription(s) still charge a card past its expiry date: "
            "the card account updater did not refresh them, so their next renewal will fail "
            "unless the customer updates the card."
        )
    return {
        "months": rows,
        "count": sum(r["count"] for r in rows),
        "revenue_at_risk": dict(sorted(at_risk.items())),
        "peak_month": peak["month"] if peak and peak["count"] else None,
        "peak_count": peak["count"] if peak else 0,
        "expired_not_refreshed": expired,
        "without_card": without_card,
        "advisory": advisory,
    }
