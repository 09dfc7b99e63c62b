"""The compact record the audit keeps of each Stripe object it lists.

Records are small JSON-able dicts so a run's checkpoint can hold them: a resumed run picks up
each list at its cursor and the records, keyed by object id, can never be counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.audit.diagnostic.money import subscription_mrr
from plugins.audit.diagnostic.reader import Record


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") else None
    return str(value) if value else None


def reduce_clock(obj: Mapping[str, Any]) -> Record:
    return {"frozen_time": int(obj["frozen_time"]), "status": obj.get("status")}


def _card_exp(pm: Any) -> list[int] | None:
    if not isinstance(pm, dict):
        return None
    card = pm.get("card") or {}
    if card.get("exp_month") and card.get("exp_year"):
        return [int(card["exp_month"]), int(card["exp_year"])]
    return None


def reduce_subscription(obj: Mapping[str, Any]) -> Record:
    customer = obj.get("customer")
    # The card Stripe charges: the subscription's default, else the customer's invoice default.
    pm = obj.get("default_payment_method")
    if not isinstance(pm, dict) and isinstance(customer, dict):
        pm = (customer.get("invoice_settings") or {}).get("default_payment_method")
    currency, mrr = subscription_mrr(obj)
    details = obj.get("cancellation_details") or {}
    return {
        "status": obj["status"],
        "customer": _id(customer),
        "created": obj.get("created"),
        "canceled_at": obj.get("canceled_at"),
        "ended_at": obj.get("ended_at"),
        "cancel_reason": details.get("reason"),
        "currency": currency,
        "mrr": mrr,
        "card_exp": _card_exp(pm),
        "latest_invoice": _id(obj.get("latest_invoice")),
        "collection_method": obj.get("collection_method"),
    }


def reduce_customer(obj: Mapping[str, Any]) -> Record:
    return {"email": bool(obj.get("email")), "delinquent": bool(obj.get("delinquent"))}


def reduce_invoice(obj: Mapping[str, Any]) -> Record | None:
    if obj.get("status") == "draft":
        return None  # never attempted: nothing to learn about collection
    parent = obj.get("parent") or {}
    subscription = (parent.get("subscription_details") or {}).get("subscription")
    intents = []
    for payment in (obj.get("payments") or {}).get("data") or []:
        intent = _id((payment.get("payment") or {}).get("payment_intent"))
        if intent:
            intents.append(intent)
    return {
        "status": obj["status"],
        "currency": obj["currency"],
        "amount_due": int(obj.get("amount_due") or 0),
        "amount_paid": int(obj.get("amount_paid") or 0),
        "amount_remaining": int(obj.get("amount_remaining") or 0),
        "created": int(obj["created"]),
        "attempt_count": int(obj.get("attempt_count") or 0),
        "next_payment_attempt": obj.get("next_payment_attempt"),
        "subscription": _id(subscription),
        "customer": _id(obj.get("customer")),
        "billing_reason": obj.get("billing_reason"),
        "intents": intents,
    }


def reduce_charge(obj: Mapping[str, Any]) -> Record | None:
    intent = _id(obj.get("payment_intent"))
    if intent is None:
        return None
    outcome = obj.get("outcome") or {}
    return {
        "intent": intent,
        "status": obj.get("status"),
        "created": int(obj["created"]),
        "decline": outcome.get("reason") or obj.get("failure_code"),
        "payment_method": _id(obj.get("payment_method")),
    }


def reduce_dispute(obj: Mapping[str, Any]) -> Record:
    evidence = obj.get("evidence_details") or {}
    return {
        "status": obj["status"],
        "amount": int(obj.get("amount") or 0),
        "currency": obj.get("currency"),
        "created": int(obj["created"]),
        "due_by": evidence.get("due_by"),
        "reason": obj.get("reason"),
        "charge": _id(obj.get("charge")),
    }
