"""Scope 1: invoices of the period whose payment failed at least once, and what became of them.

An invoice failed when one of its payment intents has a failed charge, or when Stripe
attempted it without a card to charge (no charge at all, still unpaid). Its decline is that of
its first failed charge. Fates: `paid_later`, `open`, `uncollectible`, `void`. A paid one was
recovered by Stripe's retries when the paying charge used the card that first failed (the
card account updater keeps the same payment method), else by the customer (a new card, or
paid outside Stripe's retries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.audit.declines import NO_PAYMENT_METHOD, category_of
from plugins.audit.diagnostic.money import add
from plugins.audit.diagnostic.reader import Record

FATES = ("paid_later", "open", "uncollectible", "void")
ENDED = ("canceled", "incomplete_expired")


def _bucket() -> dict[str, Any]:
    return {"count": 0, "amount": {}}


def _count(bucket: dict[str, Any], currency: str, amount: int) -> None:
    bucket["count"] += 1
    add(bucket["amount"], currency, amount)


def _charges_by_intent(charges: Mapping[str, Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for charge_id, charge in charges.items():
        out.setdefault(charge["intent"], []).append({**charge, "id": charge_id})
    for items in out.values():
        items.sort(key=lambda c: (c["created"], c["id"]))
    return out


def classify(invoice: Record, charges: list[Record]) -> dict[str, Any] | None:
    """The failure facts of one invoice, or None when it never failed."""
    failed = [c for c in charges if c["status"] == "failed"]
    attempted_without_card = (
        not charges and invoice["attempt_count"] > 0 and invoice["status"] != "paid"
    )
    if not failed and not attempted_without_card:
        return None
    decline = failed[0]["decline"] if failed else None
    fate = "paid_later" if invoice["status"] == "paid" else invoice["status"]
    recovered_by = None
    if fate == "paid_later":
        paying = [c for c in charges if c["status"] == "succeeded"]
        same_card = bool(
            failed and paying and paying[-1]["payment_method"] == failed[0]["payment_method"]
        )
        recovered_by = "retries" if same_card else "customer"
    return {
        "decline_code": decline or NO_PAYMENT_METHOD,
        "category": category_of(decline),
        "fate": fate,
        "recovered_by": recovered_by,
        "retry_scheduled": invoice.get("next_payment_attempt") is not None,
    }


def analyse(
    invoices: Mapping[str, Record],
    charges: Mapping[str, Record],
    subscriptions: Mapping[str, Record],
) -> dict[str, Any]:
    by_intent = _charges_by_intent(charges)
    result: dict[str, Any] = {
        "count": 0,
        "amount": {},
        "by_category": {},
        "by_decline_code": {},
        "by_fate": {fate: _bucket() for fate in FATES},
        "recovered_by_retries": _bucket(),
        "recovered_by_customer": _bucket(),
        "in_retry": _bucket(),
        "lost": _bucket(),
        "recoverable": _bucket(),
        "mrr_exposed": {},
        "subscriptions_exposed": 0,
        "max_attempt_count": 0,
        "invoices": [],
    }
    exposed: set[str] = set()
    for invoice_id in sorted(invoices, key=lambda i: (invoices[i]["created"], i)):
        invoice = invoices[invoice_id]
        charges_of = [c for intent in invoice["intents"] for c in by_intent.get(intent, [])]
        facts = classify(invoice, charges_of)
        if facts is not None:
            _tally(result, invoice_id, invoice, facts)
            sub = subscriptions.get(invoice["subscription"] or "")
            if facts["fate"] in ("open", "uncollectible") and sub and sub["status"] not in ENDED:
                exposed.add(invoice["subscription"])
    for sub_id in sorted(exposed):
        add(result["mrr_exposed"], subscriptions[sub_id]["currency"], subscriptions[sub_id]["mrr"])
    result["subscriptions_exposed"] = len(exposed)
    return result


def _tally(result: dict[str, Any], invoice_id: str, invoice: Record, facts: Record) -> None:
    """Add one failed invoice to every bucket it belongs to."""
    currency, due = invoice["currency"], invoice["amount_due"]
    result["count"] += 1
    add(result["amount"], currency, due)
    _count(result["by_category"].setdefault(facts["category"], _bucket()), currency, due)
    codes = result["by_decline_code"]
    codes[facts["decline_code"]] = codes.get(facts["decline_code"], 0) + 1
    _count(result["by_fate"][facts["fate"]], currency, due)
    result["max_attempt_count"] = max(result["max_attempt_count"], invoice["attempt_count"])
    if facts["recovered_by"]:
        bucket = result[f"recovered_by_{facts['recovered_by']}"]
        _count(bucket, currency, invoice["amount_paid"])
    elif facts["fate"] == "open" and facts["retry_scheduled"]:
        _count(result["in_retry"], currency, invoice["amount_remaining"])
    else:
        _count(result["lost"], currency, due - invoice["amount_paid"])
    if facts["fate"] in ("open", "uncollectible"):
        _count(result["recoverable"], currency, invoice["amount_remaining"])
    result["invoices"].append(
        {
            "id": invoice_id,
            "created": invoice["created"],
            "customer": invoice["customer"],
            "subscription": invoice["subscription"],
            "currency": currency,
            "amount_due": due,
            "amount_remaining": invoice["amount_remaining"],
            "status": invoice["status"],
            "attempt_count": invoice["attempt_count"],
            **facts,
        }
    )
