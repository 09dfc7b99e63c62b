"""The audit's figures computed directly from the sandbox's stored objects.

Written apart from the plugin on purpose: it walks raw objects (invoice payments, charges,
subscriptions with their items, payment methods) the simplest way, so a bug in the plugin's
reducers, joins or pagination shows up as a difference. It builds each scope in the shape
docs/audit.md documents, so the test compares whole scopes, not a chosen few figures.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DAY = 86400
CATEGORIES = {
    row["decline_code"]: row["category"]
    for row in csv.DictReader(
        (Path(__file__).parents[3] / "plugins/audit/declines.tsv").open(), delimiter="\t"
    )
}
MONTHS = {"day": 12 / 365, "week": 12 / 52, "month": 1, "year": 12}
OPEN_DISPUTE = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")
LIVE = ("active", "trialing", "past_due")
Obj = dict[str, Any]


def of_type(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o.get("object") == kind and not o.get("deleted")]


def mrr(sub: Obj) -> int:
    total = 0.0
    for item in sub["items"]["data"]:
        rec = item["price"]["recurring"]
        months = MONTHS[rec["interval"]] * rec["interval_count"]
        total += item["price"]["unit_amount"] * item["quantity"] / months
    return round(total)


def add(d: dict[str, int], cur: str, amount: int) -> None:
    d[cur] = d.get(cur, 0) + amount


def bucket() -> Obj:
    return {"count": 0, "amount": {}}


def count(b: Obj, cur: str, amount: int) -> None:
    b["count"] += 1
    add(b["amount"], cur, amount)


def window(objects: list[Obj], lookback_days: int = 90) -> tuple[int, int]:
    """The reference is the latest time among the clocks customers live on."""
    lived_on = {c["test_clock"] for c in of_type(objects, "customer") if c.get("test_clock")}
    frozen = [
        c["frozen_time"] for c in of_type(objects, "test_helpers.test_clock") if c["id"] in lived_on
    ]
    reference = max(frozen)
    return reference, reference - lookback_days * DAY


def subscription_of(invoice: Obj) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def failed_invoices(objects: list[Obj], since: int) -> Obj:
    intents_of: dict[str, list[str]] = defaultdict(list)
    for payment in of_type(objects, "invoice_payment"):
        intents_of[payment["invoice"]].append(payment["payment"]["payment_intent"])
    charges_of: dict[str, list[Obj]] = defaultdict(list)
    for charge in sorted(of_type(objects, "charge"), key=lambda c: (c["created"], c["id"])):
        charges_of[charge["payment_intent"]].append(charge)
    subs = {s["id"]: s for s in of_type(objects, "subscription")}
    out: Obj = {
        "count": 0,
        "amount": {},
        "by_category": {},
        "by_decline_code": {},
        "by_fate": {f: bucket() for f in ("paid_later", "open", "uncollectible", "void")},
        "recovered_by_retries": bucket(),
        "recovered_by_customer": bucket(),
        "in_retry": bucket(),
        "lost": bucket(),
        "recoverable": bucket(),
        "mrr_exposed": {},
        "subscriptions_exposed": 0,
        "max_attempt_count": 0,
        "invoices": [],
    }
    exposed = set()
    invoices = sorted(of_type(objects, "invoice"), key=lambda i: (i["created"], i["id"]))
    for inv in invoices:
        if inv["created"] < since or inv["status"] == "draft":
            continue
        charges = [c for pi in intents_of[inv["id"]] for c in charges_of[pi]]
        bad = [c for c in charges if c["status"] == "failed"]
        if not bad and not (not charges and inv["attempt_count"] and inv["status"] != "paid"):
            continue
        cur, due, paid = inv["currency"], inv["amount_due"], inv["amount_paid"]
        fate = "paid_later" if inv["status"] == "paid" else inv["status"]
        code = (bad[0]["outcome"]["reason"] or bad[0]["failure_code"]) if bad else None
        category = CATEGORIES.get(code, "unknown") if code else "no_payment_method"
        out["count"] += 1
        add(out["amount"], cur, due)
        count(out["by_category"].setdefault(category, bucket()), cur, due)
        out["by_decline_code"][code or "no_payment_method"] = (
            out["by_decline_code"].get(code or "no_payment_method", 0) + 1
        )
        count(out["by_fate"][fate], cur, due)
        out["max_attempt_count"] = max(out["max_attempt_count"], inv["attempt_count"])
        recovered_by = None
        if fate == "paid_later":
            good = [c for c in charges if c["status"] == "succeeded"][-1]
            same = bad and good["payment_method"] == bad[0]["payment_method"]
            recovered_by = "retries" if same else "customer"
            count(out[f"recovered_by_{recovered_by}"], cur, paid)
        elif fate == "open" and inv["next_payment_attempt"]:
            count(out["in_retry"], cur, inv["amount_remaining"])
        else:
            count(out["lost"], cur, due - paid)
        if fate in ("open", "uncollectible"):
            count(out["recoverable"], cur, inv["amount_remaining"])
            sub_id = subscription_of(inv)
            if sub_id and subs[sub_id]["status"] not in ("canceled", "incomplete_expired"):
                exposed.add(sub_id)
        out["invoices"].append(
            {
                "id": inv["id"],
                "created": inv["created"],
                "customer": inv["customer"],
                "subscription": subscription_of(inv),
                "currency": cur,
                "amount_due": due,
                "amount_remaining": inv["amount_remaining"],
                "status": inv["status"],
                "attempt_count": inv["attempt_count"],
                "decline_code": code or "no_payment_method",
                "category": category,
                "fate": fate,
                "recovered_by": recovered_by,
                "retry_scheduled": inv["next_payment_attempt"] is not None,
            }
        )
    for sub_id in exposed:
        add(out["mrr_exposed"], subs[sub_id]["currency"], mrr(subs[sub_id]))
    out["subscriptions_exposed"] = len(exposed)
    return out


def card_of(sub: Obj, customers: dict[str, Obj], pms: dict[str, Obj]) -> Obj | None:
    pm_id = (
        sub["default_payment_method"]
        or (customers[sub["customer"]]["invoice_settings"]["default_payment_method"])
    )
    return pms[pm_id].get("card") if pm_id else None


def expiring_cards(objects: list[Obj], reference: int, months: int = 6) -> Obj:
    pms = {p["id"]: p for p in of_type(objects, "payment_method")}
    customers = {c["id"]: c for c in of_type(objects, "customer")}
    start = datetime.fromtimestamp(reference, UTC)
    timeline = [
        ((start.year * 12 + start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1)
        for i in range(months)
    ]
    rows = {ym: {"month": f"{ym[0]:04d}-{ym[1]:02d}", "count": 0, "mrr": {}} for ym in timeline}
    out: Obj = {"expired_not_refreshed": bucket(), "without_card": 0, "revenue_at_risk": {}}
    out["expired_not_refreshed"]["mrr"] = out["expired_not_refreshed"].pop("amount")
    for sub in of_type(objects, "subscription"):
        if sub["status"] not in LIVE:
            continue
        card = card_of(sub, customers, pms)
        if not card:
            out["without_card"] += 1
            continue
        expiry = (card["exp_year"], card["exp_month"])
        if expiry < timeline[0]:
            out["expired_not_refreshed"]["count"] += 1
            add(out["expired_not_refreshed"]["mrr"], sub["currency"], mrr(sub))
        elif expiry in rows:
            rows[expiry]["count"] += 1
            add(rows[expiry]["mrr"], sub["currency"], mrr(sub))
            add(out["revenue_at_risk"], sub["currency"], mrr(sub))
    out["months"] = [rows[ym] for ym in timeline]
    out["count"] = sum(r["count"] for r in out["months"])
    top = max(r["count"] for r in out["months"])
    out["peak_count"] = top
    out["peak_month"] = (
        next(r["month"] for r in out["months"] if r["count"] == top) if top else None
    )
    return out


def disputes(objects: list[Obj], since: int) -> Obj:
    found = of_type(objects, "dispute")
    open_ = [d for d in found if d["status"] in OPEN_DISPUTE]
    waiting = sorted(
        (
            d
            for d in open_
            if d["status"].endswith("needs_response") and d["evidence_details"]["due_by"]
        ),
        key=lambda d: (d["evidence_details"]["due_by"], d["id"]),
    )
    period = [d for d in found if d["created"] >= since]
    won = sum(1 for d in period if d["status"] == "won")
    lost = sum(1 for d in period if d["status"] == "lost")
    open_amount: dict[str, int] = {}
    period_amount: dict[str, int] = {}
    for d in open_:
        add(open_amount, d["currency"], d["amount"])
    for d in period:
        add(period_amount, d["currency"], d["amount"])
    return {
        "open": {"count": len(open_), "amount": open_amount},
        "needs_response": len(waiting),
        "nearest_deadlines": [
            {
                "id": d["id"],
                "due_by": d["evidence_details"]["due_by"],
                "amount": d["amount"],
                "currency": d["currency"],
                "reason": d["reason"],
            }
            for d in waiting[:5]
        ],
        "period": {
            "count": len(period),
            "won": won,
            "lost": lost,
            "open": sum(1 for d in period if d["status"] in OPEN_DISPUTE),
            "amount": period_amount,
        },
        "win_rate": round(won / (won + lost), 3) if won + lost else None,
    }


def health(objects: list[Obj], failed: Obj, since: int, reference: int) -> Obj:
    subs = of_type(objects, "subscription")
    customers = of_type(objects, "customer")
    out: Obj = {"mrr": {}, "subscriptions": defaultdict(int), "involuntary_churn": bucket()}
    for state in ("active", "trialing", "past_due", "unpaid"):
        out[state] = {"count": 0, "mrr": {}}
    out["involuntary_churn"]["mrr"] = out["involuntary_churn"].pop("amount")
    for sub in subs:
        out["subscriptions"][sub["status"]] += 1
        if sub["status"] in out:
            out[sub["status"]]["count"] += 1
            add(out[sub["status"]]["mrr"], sub["currency"], mrr(sub))
        if sub["status"] in ("active", "past_due"):
            add(out["mrr"], sub["currency"], mrr(sub))
        reason = (sub.get("cancellation_details") or {}).get("reason")
        if (
            sub["status"] == "canceled"
            and reason == "payment_failed"
            and (since <= sub["canceled_at"] <= reference)
        ):
            out["involuntary_churn"]["count"] += 1
            add(out["involuntary_churn"]["mrr"], sub["currency"], mrr(sub))
    retrying = {
        subscription_of(i)
        for i in of_type(objects, "invoice")
        if i["status"] == "open" and i["next_payment_attempt"]
    }
    out["past_due_without_retry"] = sum(
        1 for s in subs if s["status"] == "past_due" and s["id"] not in retrying
    )
    out["customers"] = len(customers)
    out["customers_without_email"] = sum(1 for c in customers if not c["email"])
    out["send_invoice_subscriptions"] = sum(
        1
        for s in subs
        if s["status"] in (*LIVE, "unpaid") and s["collection_method"] == "send_invoice"
    )
    out["subscriptions"] = dict(sorted(out["subscriptions"].items()))
    out["retries"] = retries(failed["invoices"])
    return out


def retries(rows: list[Obj]) -> Obj:
    """Stripe's retry setting, inferred the way docs/audit.md says: from attempt counts."""
    attempted = [r for r in rows if r["attempt_count"] > 0]
    scheduled = sum(1 for r in attempted if r["retry_scheduled"])
    top = max((r["attempt_count"] for r in attempted), default=0)
    ended = [
        r["attempt_count"]
        for r in attempted
        if r["fate"] != "paid_later" and not r["retry_scheduled"]
    ]
    if not attempted:
        verdict = "unknown"
    elif top <= 1 and not scheduled:
        verdict = "off"
    elif ended and max(ended) < 4:
        verdict = "short"
    else:
        verdict = "on"
    return {"inferred": verdict, "max_attempt_count": top, "open_with_retry_scheduled": scheduled}


def findings(h: Obj) -> list[tuple[str, str, int]]:
    """(code, severity, count) of the setup findings the figures call for, in order."""
    out = []
    if h["retries"]["inferred"] == "off":
        out.append(("retries_off", "high", 0))
    elif h["retries"]["inferred"] == "short":
        out.append(("retries_short", "medium", h["retries"]["max_attempt_count"]))
    for code, severity, n in (
        ("past_due_without_retry", "high", h["past_due_without_retry"]),
        ("unpaid_subscriptions", "medium", h["unpaid"]["count"]),
        ("customers_without_email", "medium", h["customers_without_email"]),
        ("stripe_emails_invoices", "info", h["send_invoice_subscriptions"]),
    ):
        if n:
            out.append((code, severity, n))
    return out


def truth(objects: list[Obj], lookback_days: int = 90) -> Obj:
    reference, since = window(objects, lookback_days)
    failed = failed_invoices(objects, since)
    return {
        "reference": reference,
        "since": since,
        "invoices_in_period": sum(
            1
            for i in of_type(objects, "invoice")
            if i["created"] >= since and i["status"] != "draft"
        ),
        "failed_invoices": failed,
        "expiring_cards": expiring_cards(objects, reference),
        "disputes": disputes(objects, since),
        "health": health(objects, failed, since, reference),
    }
