"""Money in minor units, kept per currency (amounts in different currencies never add up)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Months per billing interval unit: an annual price counts one twelfth per month.
MONTHS_PER_UNIT = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "year": 12.0}


def item_monthly(item: Mapping[str, Any]) -> float:
    price = item.get("price") or {}
    recurring = price.get("recurring") or {}
    unit = recurring.get("interval")
    if unit not in MONTHS_PER_UNIT or price.get("unit_amount") is None:
        return 0.0
    months = MONTHS_PER_UNIT[unit] * int(recurring.get("interval_count") or 1)
    return int(price["unit_amount"]) * int(item.get("quantity") or 1) / months


def subscription_mrr(sub: Mapping[str, Any]) -> tuple[str | None, int]:
    """(currency, monthly amount in minor units), rounded once per subscription."""
    items = (sub.get("items") or {}).get("data") or []
    total = sum(item_monthly(item) for item in items)
    return sub.get("currency"), round(total)


def add(totals: dict[str, int], currency: str | None, amount: int) -> None:
    key = currency or "unknown"
    totals[key] = totals.get(key, 0) + int(amount)


def by_currency(pairs: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for currency, amount in pairs:
        add(totals, currency, amount)
    return dict(sorted(totals.items()))


def fmt(amounts: Mapping[str, int]) -> str:
    """`$1,234.50 USD + 99.00 EUR` for the plain-English summary (two-decimal currencies)."""
    if not amounts:
        return "nothing"
    parts = [f"{amount / 100:,.2f} {currency.upper()}" for currency, amount in amounts.items()]
    return " + ".join(parts)
