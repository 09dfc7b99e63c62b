"""The plain-English summary at the top of an audit, written from the figures alone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from plugins.audit.diagnostic.money import fmt


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y")


def _month(key: str) -> str:
    year, month = (int(part) for part in key.split("-"))
    return datetime(year, month, 1, tzinfo=UTC).strftime("%B %Y")


def summarise(results: Mapping[str, Any]) -> list[str]:
    days = results["lookback_days"]
    failed = results["failed_invoices"]
    cards = results["expiring_cards"]
    disputes = results["disputes"]
    health = results["health"]
    retried = failed["recovered_by_retries"]
    lines = []
    if failed["count"]:
        lines.append(
            f"In the last {days} days {failed['count']} invoice(s) failed, worth "
            f"{fmt(failed['amount'])}. Stripe's retries recovered "
            f"{retried['count']} ({fmt(retried['amount'])}), "
            f"customers fixed {failed['recovered_by_customer']['count']}, and "
            f"{failed['lost']['count']} were lost ({fmt(failed['lost']['amount'])})."
        )
    else:
        lines.append(f"No invoice failed in the last {days} days.")
    if failed["recoverable"]["count"]:
        lines.append(
            f"Still recoverable: {failed['recoverable']['count']} unpaid invoice(s) worth "
            f"{fmt(failed['recoverable']['amount'])}, on subscriptions worth "
            f"{fmt(failed['mrr_exposed'])} a month."
        )
    if cards["count"]:
        lines.append(
            f"About to fail: {cards['count']} card(s) behind live subscriptions expire in the "
            f"next {len(cards['months'])} months ({fmt(cards['revenue_at_risk'])} of monthly "
            f"revenue), most in {_month(cards['peak_month'])}."
        )
    if cards["expired_not_refreshed"]["count"]:
        lines.append(cards["advisory"])
    if disputes["open"]["count"]:
        nearest = disputes["nearest_deadlines"]
        due = f"; the nearest evidence deadline is {_date(nearest[0]['due_by'])}" if nearest else ""
        lines.append(
            f"{disputes['open']['count']} dispute(s) are open ({fmt(disputes['open']['amount'])})"
            f"{due}."
        )
    churn = health["involuntary_churn"]
    lines.append(
        f"Monthly recurring revenue is {fmt(health['mrr'])}; {churn['count']} subscription(s) "
        f"ended after failed payment in the period ({fmt(churn['mrr'])} a month)."
    )
    if not results.get("test_clocks_readable", True):
        lines.append(
            "The key may not read test clocks (Test clocks: Read), so customers on test clocks "
            "were not counted; a live-mode account has none."
        )
    return lines
