"""Disputes: opened on ``createDispute`` charges, evidence staged or submitted, decided.

Lifecycle (all on the customer's clock): ``needs_response`` (``warning_needs_response`` for
an inquiry) with evidence due ``dispute_evidence_days`` later and the funds withdrawn; an
update with ``submit=false`` stages evidence, ``submit=true`` (Stripe's default) moves it to
``under_review`` and the bank decides some days later — evidence containing Stripe's test
string ``losing_evidence`` loses, anything else wins (``winning_evidence`` too). At the due
date unsubmitted staged evidence is submitted automatically; with none the dispute is lost.
Closing (accepting) loses it at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.billing import payments
from sandbox.billing.settings import DAY, settings_for
from sandbox.errors import invalid_request
from sandbox.forms import Params
from sandbox.objects import clone, parse_metadata
from sandbox.store import register_index
from sandbox.timers import Timer, timer_handler

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]

register_index("dispute", "charge")

TEXT_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
FILE_FIELDS = (
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
)
DECISION_DAYS = 10
INQUIRY_REASONS = ("inquiry",)


def _blank_evidence() -> Obj:
    evidence: Obj = {name: None for name in (*TEXT_FIELDS, *FILE_FIELDS)}
    evidence["enhanced_evidence"] = {}
    return evidence


def open_dispute(ctx: Ctx, charge: Obj, reason: str = "fraudulent") -> Obj:
    """A dispute on a successful charge; emits ``charge.dispute.created`` and
    ``charge.dispute.funds_withdrawn``."""
    now = ctx.now()
    settings = settings_for(ctx.store.hidden)
    dispute_id = ctx.new_id("dp")
    inquiry = reason in INQUIRY_REASONS
    withdrawal = None
    if not inquiry:
        withdrawal = payments.balance_transaction(
            ctx,
            dispute_id,
            -charge["amount"],
            charge["currency"],
            "adjustment",
            "dispute",
            f"Chargeback withdrawal for {charge['id']}",
        )
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    dispute: Obj = {
        "id": dispute_id,
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [clone(withdrawal)] if withdrawal else [],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": _blank_evidence(),
        "evidence_details": {
            "due_by": now + settings.dispute_evidence_days * DAY,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
        "payment_intent": charge.get("payment_intent"),
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": card.get("brand") or "visa",
                "case_type": "inquiry" if inquiry else "chargeback",
                "network": card.get("network") or card.get("brand") or "visa",
                "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
            },
        },
        "reason": "general" if inquiry else reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
    }
    ctx.store.insert(dispute)
    charge["disputed"] = True
    ctx.store.save(charge)
    ctx.emit("charge.dispute.created", dispute)
    if withdrawal is not None:
        ctx.emit("charge.dispute.funds_withdrawn", dispute)
    ctx.state.timers.schedule(
        ctx.account.id,
        ctx.clock,
        dispute["evidence_details"]["due_by"],
        "dispute.due",
        f"dispute.due:{dispute_id}",
        {"dispute": dispute_id},
    )
    return dispute


def update(ctx: Ctx, dispute: Obj, params: Params) -> Obj:
    """``POST /v1/disputes/{id}``: stage (``submit=false``) or submit evidence."""
    params.check(("evidence", "metadata", "submit"))
    if dispute["status"] not in ("needs_response", "warning_needs_response"):
        raise invalid_request(
            f"This dispute is already closed or under review (status {dispute['status']}); "
            "evidence can no longer be updated.",
            param="evidence",
        )
    ctx.use_customer(_customer_of(ctx, dispute))
    previous: Obj = {}
    evidence = params.sub("evidence")
    if evidence is not None:
        evidence.check((*TEXT_FIELDS, *FILE_FIELDS, "enhanced_evidence"))
        old = clone(dispute["evidence"])
        for name in (*TEXT_FIELDS, *FILE_FIELDS):
            if name in evidence:
                dispute["evidence"][name] = evidence.nullable_str(name)
        changed = {k: old[k] for k in old if old[k] != dispute["evidence"][k]}
        if changed:
            previous["evidence"] = changed
    if "metadata" in params:
        old_meta = clone(dispute["metadata"])
        dispute["metadata"] = parse_metadata(params, dispute["metadata"])
        if old_meta != dispute["metadata"]:
            previous["metadata"] = old_meta
    details = dispute["evidence_details"]
    has_evidence = any(v for k, v in dispute["evidence"].items() if k != "enhanced_evidence")
    if has_evidence != details["has_evidence"]:
        previous.setdefault("evidence_details", {})["has_evidence"] = details["has_evidence"]
        details["has_evidence"] = has_evidence
    if params.bool("submit", True):
        _submit(ctx, dispute, previous)
    ctx.store.save(dispute)
    ctx.emit("charge.dispute.updated", dispute, previous)
    return dispute


def _submit(ctx: Ctx, dispute: Obj, previous: Obj) -> None:
    details = dispute["evidence_details"]
    previous.setdefault("evidence_details", {}).update(
        {
            "submission_count": details["submission_count"],
            "submission_method": details["submission_method"],
        }
    )
    previous["status"] = dispute["status"]
    details["submission_count"] += 1
    details["submission_method"] = "manual"
    dispute["status"] = (
        "warning_under_review" if dispute["status"].startswith("warning") else "under_review"
    )
    ctx.state.timers.cancel(ctx.account.id, f"dispute.due:{dispute['id']}")
    ctx.state.timers.schedule(
        ctx.account.id,
        ctx.clock,
        ctx.now() + DECISION_DAYS * DAY,
        "dispute.decide",
        f"dispute.decide:{dispute['id']}",
        {"dispute": dispute["id"]},
    )


def close(ctx: Ctx, dispute: Obj) -> Obj:
    """``POST /v1/disputes/{id}/close``: accept the dispute (it is lost)."""
    if dispute["status"] not in ("needs_response", "warning_needs_response"):
        raise invalid_request(
            f"This dispute cannot be closed because its status is {dispute['status']}.",
            param="dispute",
        )
    ctx.use_customer(_customer_of(ctx, dispute))
    ctx.state.timers.cancel(ctx.account.id, f"dispute.due:{dispute['id']}")
    _decide(ctx, dispute, won=False)
    return dispute


def _decide(ctx: Ctx, dispute: Obj, *, won: bool) -> None:
    inquiry = dispute["status"].startswith("warning")
    previous = {"status": dispute["status"]}
    dispute["status"] = (
        ("warning_closed" if inquiry else "won")
        if won
        else ("warning_closed" if inquiry else "lost")
    )
    reinstated = None
    if won and not inquiry:
        reinstated = payments.balance_transaction(
            ctx,
            dispute["id"],
            dispute["amount"],
            dispute["currency"],
            "adjustment",
            "dispute_reversal",
            f"Chargeback reversal for {dispute['charge']}",
        )
        dispute["balance_transactions"].append(clone(reinstated))
        previous["balance_transactions"] = dispute["balance_transactions"][:-1]
    ctx.store.save(dispute)
    if reinstated is not None:
        ctx.emit("charge.dispute.funds_reinstated", dispute)
    ctx.emit("charge.dispute.closed", dispute, previous)


def _customer_of(ctx: Ctx, dispute: Obj) -> str | None:
    charge = ctx.store.get(str(dispute["charge"])) or {}
    customer = charge.get("customer")
    return customer if isinstance(customer, str) else None


@timer_handler("dispute.due")
def _due(ctx: Ctx, timer: Timer) -> None:
    dispute = ctx.store.get(timer.payload["dispute"])
    if dispute is None or dispute["status"] not in ("needs_response", "warning_needs_response"):
        return
    details = dispute["evidence_details"]
    previous: Obj = {"evidence_details": {"past_due": details["past_due"]}}
    details["past_due"] = True
    if details["has_evidence"]:
        # Staged evidence is submitted for you when the response window closes.
        _submit(ctx, dispute, previous)
        ctx.store.save(dispute)
        ctx.emit("charge.dispute.updated", dispute, previous)
        return
    ctx.store.save(dispute)
    _decide(ctx, dispute, won=False)


@timer_handler("dispute.decide")
def _decision(ctx: Ctx, timer: Timer) -> None:
    dispute = ctx.store.get(timer.payload["dispute"])
    if dispute is None or dispute["status"] not in ("under_review", "warning_under_review"):
        return
    texts = " ".join(str(v) for v in dispute["evidence"].values() if isinstance(v, str))
    _decide(ctx, dispute, won="losing_evidence" not in texts)
