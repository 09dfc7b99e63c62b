"""Figures of a run as the pages show them: headline rows, two runs side by side, the
disputes and business health sections, and the progress bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
    ("Open disputes", lambda r: _count_and(r["disputes"]["open"], "amount", "")),
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


def date(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y") if ts else "—"


def _count_and(row: Mapping[str, Any], key: str = "mrr", per: str = " a month") -> str:
    amounts = row.get(key) or {}
    return f"{row['count']} ({fmt(amounts)}{per})" if amounts else str(row["count"])


@dataclass(frozen=True)
class Deadline:
    id: str
    due: str
    amount: str
    reason: str


def deadlines(results: Results | None) -> list[Deadline]:
    rows = ((results or {}).get("disputes") or {}).get("nearest_deadlines") or []
    return [
        Deadline(
            row["id"],
            date(row["due_by"]),
            fmt({row["currency"]: row["amount"]}),
            (row.get("reason") or "").replace("_", " "),
        )
        for row in rows
    ]


def dispute_figures(results: Results | None) -> list[tuple[str, str]]:
    d = (results or {}).get("disputes")
    if not d:
        return []
    period = d["period"]
    rate = d["win_rate"]
    return [
        ("Open", _count_and(d["open"], "amount", "")),
        ("Waiting for your evidence", str(d["needs_response"])),
        ("Opened in the period", _count_and(period, "amount", "")),
        ("Won / lost in the period", f"{period['won']} / {period['lost']}"),
        ("Win rate", f"{rate:.0%}" if rate is not None else "— (none decided)"),
    ]


RETRY_VERDICTS = {
    "on": "on",
    "short": "on, but short",
    "off": "off",
    "unknown": "unknown (no failed renewal to judge by)",
}


def health_figures(results: Results | None) -> list[tuple[str, str]]:
    h = (results or {}).get("health")
    if not h:
        return []
    churn, retries = h["involuntary_churn"], h["retries"]
    return [
        ("MRR (active and past due)", fmt(h["mrr"])),
        ("Active", _count_and(h["active"])),
        ("Trialing", _count_and(h["trialing"])),
        ("Past due", _count_and(h["past_due"])),
        ("… with no retry scheduled", str(h["past_due_without_retry"])),
        ("Unpaid", _count_and(h["unpaid"])),
        ("Ended after failed payment in the period", _count_and(churn, per=" a month lost")),
        (
            "Stripe's automatic retries (inferred)",
            f"{RETRY_VERDICTS.get(retries['inferred'], retries['inferred'])}: at most "
            f"{retries['max_attempt_count']} attempt(s) seen, "
            f"{retries['open_with_retry_scheduled']} invoice(s) waiting for a retry",
        ),
        ("Customers without an email address", str(h["customers_without_email"])),
    ]


def progress_bar(progress: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """(lists finished, lists planned); a run recorded before `lists` existed counts kinds."""
    rows = list(progress.values())
    if rows and all("lists" in row for row in rows):
        return sum(r["lists_done"] for r in rows), sum(r["lists"] for r in rows)
    return sum(1 for r in rows if r.get("done")), len(rows)
