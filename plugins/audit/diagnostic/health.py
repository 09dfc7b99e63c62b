"""Scope 4: MRR, subscription states, involuntary churn and setup findings.

MRR counts active and past_due subscriptions (a past_due one still bills); trialing and
unpaid ones are shown apart. Involuntary churn: subscriptions canceled in the period because
payment failed (`cancellation_details.reason = payment_failed`). Stripe's retry settings are
not readable through the API: whether retries are off or short is inferred from the invoices'
attempt counts and `next_payment_attempt`, and the findings say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.audit.diagnostic.money import add
from plugins.audit.diagnostic.reader import Record

BILLING = ("active", "past_due")
LIVE = ("active", "trialing", "past_due", "unpaid")
# Stripe's recommended default: 8 attempts over 2 weeks; its minimum useful schedule has 4.
SHORT_SCHEDULE = 4


def _finding(code: str, severity: str, count: int, message: str) -> dict[str, Any]:
    return {"code": code, "severity": severity, "count": count, "message": message}


def _retries(invoices: Mapping[str, Record], failed: Mapping[str, Any]) -> dict[str, Any]:
    renewals = [row for row in failed["invoices"] if row["attempt_count"] > 0]
    settled = [
        row for row in renewals if row["fate"] != "paid_later" and not row["retry_scheduled"]
    ]
    scheduled = sum(1 for row in renewals if row["retry_scheduled"])
    max_attempts = max((row["attempt_count"] for row in renewals), default=0)
    if not renewals:
        verdict = "unknown"
    elif max_attempts <= 1 and not scheduled:
        verdict = "off"
    elif settled and max(row["attempt_count"] for row in settled) < SHORT_SCHEDULE:
        verdict = "short"
    else:
        verdict = "on"
    return {
        "inferred": verdict,
        "max_attempt_count": max_attempts,
        "open_with_retry_scheduled": scheduled,
    }


def analyse(
    subscriptions: Mapping[str, Record],
    customers: Mapping[str, Record],
    invoices: Mapping[str, Record],
    failed: Mapping[str, Any],
    since: int,
    reference: int,
) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    mrr: dict[str, int] = {}
    states: dict[str, dict[str, Any]] = {
        name: {"count": 0, "mrr": {}} for name in ("active", "trialing", "past_due", "unpaid")
    }
    churn: dict[str, Any] = {"count": 0, "mrr": {}}
    for sub in subscriptions.values():
        statuses[sub["status"]] = statuses.get(sub["status"], 0) + 1
        if sub["status"] in states:
            states[sub["status"]]["count"] += 1
            add(states[sub["status"]]["mrr"], sub["currency"], sub["mrr"])
        if sub["status"] in BILLING:
            add(mrr, sub["currency"], sub["mrr"])
        canceled = sub["canceled_at"]
        if (
            sub["status"] == "canceled"
            and sub["cancel_reason"] == "payment_failed"
            and canceled is not None
            and since <= canceled <= reference
        ):
            churn["count"] += 1
            add(churn["mrr"], sub["currency"], sub["mrr"])
    retrying = {
        inv["subscription"]
        for inv in invoices.values()
        if inv["status"] == "open" and inv["next_payment_attempt"] is not None
    }
    stale = sum(
        1
        for sub_id, sub in subscriptions.items()
        if sub["status"] == "past_due" and sub_id not in retrying
    )
    no_email = sum(1 for customer in customers.values() if not customer["email"])
    emailed = sum(
        1
        for sub in subscriptions.values()
        if sub["status"] in LIVE and sub.get("collection_method") == "send_invoice"
    )
    retries = _retries(invoices, failed)
    return {
        "mrr": dict(sorted(mrr.items())),
        "subscriptions": dict(sorted(statuses.items())),
        **states,
        "involuntary_churn": churn,
        "customers": len(customers),
        "customers_without_email": no_email,
        "past_due_without_retry": stale,
        "send_invoice_subscriptions": emailed,
        "retries": retries,
        "findings": _findings(stale, states["unpaid"]["count"], no_email, emailed, retries),
    }


def _findings(
    stale: int, unpaid: int, no_email: int, emailed: int, retries: Mapping[str, Any]
) -> list[Any]:
    found = []
    if retries["inferred"] == "off":
        found.append(
            _finding(
                "retries_off",
                "high",
                0,
                "No failed invoice was ever retried: Stripe's automatic retries look off "
                "(inferred from attempt counts; the API does not expose the setting).",
            )
        )
    elif retries["inferred"] == "short":
        found.append(
            _finding(
                "retries_short",
                "medium",
                retries["max_attempt_count"],
                f"Failed invoices stop after at most {retries['max_attempt_count']} attempts: the "
                "retry schedule looks short (inferred from attempt counts).",
            )
        )
    if stale:
        found.append(
            _finding(
                "past_due_without_retry",
                "high",
                stale,
                f"{stale} subscription(s) sit past_due with no retry scheduled: they are left "
                "past due indefinitely instead of being recovered or ended.",
            )
        )
    if unpaid:
        found.append(
            _finding(
                "unpaid_subscriptions",
                "medium",
                unpaid,
                f"{unpaid} subscription(s) are unpaid: access may continue while nothing is "
                "billed.",
            )
        )
    if no_email:
        found.append(
            _finding(
                "customers_without_email",
                "medium",
                no_email,
                f"{no_email} customer(s) have no email address: nobody can ask them to fix a card.",
            )
        )
    if emailed:
        # What can be read: Stripe emails these invoices (and its reminders) itself. Whether it
        # also emails card customers when a payment fails is a Dashboard setting the API does
        # not show, so no finding claims to know it (the run page says so).
        found.append(
            _finding(
                "stripe_emails_invoices",
                "info",
                emailed,
                f"{emailed} live subscription(s) are billed by invoices Stripe emails to the "
                "customer (collection method send_invoice): Stripe already sends these "
                "customers the invoice and its reminders, so a SecondLoop email would be a "
                "second one about the same bill.",
            )
        )
    return found
