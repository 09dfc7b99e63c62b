"""Figures of a run as the pages show them: headline rows, and two runs side by side."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from plugins.audit.diagnostic import money

Results = Mapping[str, Any]


def fmt(amounts: Mapping[str, int]) -> str:
    """Amounts for a table cell: a dash rather than the summary's "nothing"."""
    return money.fmt(amounts) if amounts else "—"


# (label, how to read it from results): the same figures the API documents.


def _failed(key: str) -> Callable[[Results], str]:
    return lambda r: fmt(r["failed_invoices"][key]["amount"])


HEADLINES: list[tuple[str, Callable[[Results], Any]]] = [
    ("Failed invoices", lambda r: r["failed_invoices"]["count"]),
    ("Failed amount", lambda r: fmt(r["failed_invoices"]["amount"])),
    ("Recovered by Stripe's retries", _failed("recovered_by_retries")),
    ("Recovered by customers", _failed("recovered_by_customer")),
    ("Lost", _failed("lost")),
    ("Still recoverable", _failed("recoverable")),
    ("MRR exposed", lambda r: fmt(r["failed_invoices"]["mrr_exposed"])),
    ("Cards expiring (next months)", lambda r: r["expiring_cards"]["count"]),
    ("Revenue at risk (expiring cards)", lambda r: fmt(r["expiring_cards"]["revenue_at_risk"])),
    ("Open disputes", lambda r: r["disputes"]["open"]["count"]),
    ("MRR", lambda r: fmt(r["health"]["mrr"])),
    ("Past due subscriptions", lambda r: r["health"]["past_due"]["count"]),
    ("Involuntary churn", lambda r: r["health"]["involuntary_churn"]["count"]),
]


def headlines(results: Results | None) -> list[tuple[str, str]]:
    if not results:
        return []
    return [(label, str(read(results))) for label, read in HEADLINES]


def compare(a: Results | None, b: Results | None) -> list[tuple[str, str, str]]:
    left, right = dict(headlines(a)), dict(headlines(b))
    return [(label, left.get(label, "—"), right.get(label, "—")) for label, _ in HEADLINES]


def categories(results: Results | None) -> list[tuple[str, int, str]]:
    rows = ((results or {}).get("failed_invoices") or {}).get("by_category") or {}
    ordered = sorted(rows.items(), key=lambda kv: -kv[1]["count"])
    return [(name, row["count"], fmt(row["amount"])) for name, row in ordered]


def fates(results: Results | None) -> list[tuple[str, int, str]]:
    rows = ((results or {}).get("failed_invoices") or {}).get("by_fate") or {}
    return [
        (name.replace("_", " "), row["count"], fmt(row["amount"])) for name, row in rows.items()
    ]
