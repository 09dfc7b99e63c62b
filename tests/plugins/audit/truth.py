"""The audit's figures computed directly from the sandbox's stored objects.

Written apart from the plugin on purpose: it walks raw objects (invoice payments, charges,
subscriptions with their items) the simplest way, so a bug in the plugin's reducers, joins or
pagination shows up as a difference.
"""

from __future__ import annotations

import csv
from collections import defaultdict
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


def of_type(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("object") == kind and not o.get("deleted")]


def mrr(sub: dict[str, Any]) -> int:
    total = 0.0
    for item in sub["items"]["data"]:
        rec = item["price"]["recurring"]
        months = MONTHS[rec["interval"]] * rec["interval_count"]
        total += item["price"]["unit_amount"] * item["quantity"] / months
    return round(total)


def add(d: dict[str, int], cur: str, amount: int) -> None:
    d[cur] = d.get(cur, 0) + amount


def truth(objects: list[dict[str, Any]]) -> dict[str, Any]:
    reference = max(c["frozen_time"] for c in of_type(objects, "test_helpers.test_clock"))
    since = reference - 90 * DAY
    intents_of: dict[str, list[str]] = defaultdict(list)
    for payment in of_type(objects, "invoice_payment"):
        intents_of[payment["invoice"]].append(payment["payment"]["payment_intent"])
    charges_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for charge in sorted(of_type(objects, "charge"), key=lambda c: (c["created"], c["id"])):
        charges_of[charge["payment_intent"]].append(charge)
    subs = {s["id"]: s for s in of_type(objects, "subscription")}

    failed: dict[str, Any] = {
        "count": 0,
        "amount": {},
        "fates": defaultdict(int),
        "categories": defaultdict(int),
        "codes": defaultdict(int),
        "retries": 0,
        "customer": 0,
        "exposed": set(),
        "lost": {},
        "recoverable": {},
        "in_retry": 0,
    }
    for inv in of_type(objects, "invoice"):
        if inv["created"] < since or inv["status"] == "draft":
            continue
        charges = [c for pi in intents_of[inv["id"]] for c in charges_of[pi]]
        bad = [c for c in charges if c["status"] == "failed"]
        if not bad and not (not charges and inv["attempt_count"] and inv["status"] != "paid"):
            continue
        failed["count"] += 1
        add(failed["amount"], inv["currency"], inv["amount_due"])
        fate = "paid_later" if inv["status"] == "paid" else inv["status"]
        failed["fates"][fate] += 1
        code = (bad[0]["outcome"]["reason"] or bad[0]["failure_code"]) if bad else None
        failed["categories"][CATEGORIES.get(code, "unknown") if code else "no_payment_method"] += 1
        failed["codes"][code or "no_payment_method"] += 1
        if fate in ("open", "uncollectible"):
            add(failed["recoverable"], inv["currency"], inv["amount_remaining"])
        if fate == "open" and inv["next_payment_attempt"]:
            failed["in_retry"] += 1
        elif fate != "paid_later":
            add(failed["lost"], inv["currency"], inv["amount_due"] - inv["amount_paid"])
        if fate == "paid_later":
            good = [c for c in charges if c["status"] == "succeeded"][-1]
            same = bad and good["payment_method"] == bad[0]["payment_method"]
            failed["retries" if same else "customer"] += 1
        sub_id = (inv["parent"] or {}).get("subscription_details", {}).get("subscription")
        if (
            fate in ("open", "uncollectible")
            and sub_id
            and subs[sub_id]["status"] not in ("canceled", "incomplete_expired")
        ):
            failed["exposed"].add(sub_id)

    pms = {p["id"]: p for p in of_type(objects, "payment_method")}
    customers = {c["id"]: c for c in of_type(objects, "customer")}
    health: dict[str, Any] = {
        "mrr": {},
        "active": 0,
        "past_due": 0,
        "churn": 0,
        "churn_mrr": {},
        "no_email": sum(1 for c in customers.values() if not c["email"]),
    }
    expiring: dict[tuple[int, int], int] = defaultdict(int)
    for sub in subs.values():
        if sub["status"] in ("active", "past_due"):
            add(health["mrr"], sub["currency"], mrr(sub))
        if sub["status"] in ("active", "past_due"):
            health[sub["status"]] += 1
        reason = (sub.get("cancellation_details") or {}).get("reason")
        if (
            sub["status"] == "canceled"
            and reason == "payment_failed"
            and (since <= sub["canceled_at"] <= reference)
        ):
            health["churn"] += 1
            add(health["churn_mrr"], sub["currency"], mrr(sub))
        if sub["status"] in ("active", "trialing", "past_due"):
            pm_id = (
                sub["default_payment_method"]
                or customers[sub["customer"]]["invoice_settings"]["default_payment_method"]
            )
            if pm_id:
                card = pms[pm_id]["card"]
                expiring[(card["exp_year"], card["exp_month"])] += 1

    exposed_mrr: dict[str, int] = {}
    for sub_id in failed["exposed"]:
        add(exposed_mrr, subs[sub_id]["currency"], mrr(subs[sub_id]))
    failed["mrr_exposed"] = exposed_mrr
    disputes = of_type(objects, "dispute")
    open_disputes = [
        d
        for d in disputes
        if d["status"]
        in ("needs_response", "warning_needs_response", "under_review", "warning_under_review")
    ]
    return {
        "reference": reference,
        "since": since,
        "failed": failed,
        "health": health,
        "expiring": dict(expiring),
        "open_disputes": len(open_disputes),
        "open_dispute_amount": sum(d["amount"] for d in open_disputes),
        "won": sum(1 for d in disputes if d["status"] == "won" and d["created"] >= since),
        "lost": sum(1 for d in disputes if d["status"] == "lost" and d["created"] >= since),
        "subs": subs,
    }
