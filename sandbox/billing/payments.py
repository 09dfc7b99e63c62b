"""Charging a card: payment intents, charges, balance transactions and their events.

``create_intent`` makes a PaymentIntent; ``confirm`` runs one attempt against a payment
method: a charge is created either way (Stripe records failed charges too), the intent
moves to ``succeeded``, ``requires_payment_method`` or ``requires_action``, and the
``charge.*`` and ``payment_intent.*`` events follow in Stripe's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.billing import shapes
from sandbox.billing.declines import CardBehaviour, behaviour_for, message_for
from sandbox.errors import StripeError, card_error, invalid_request
from sandbox.store import register_index

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]

register_index("charge", "customer")
register_index("charge", "payment_intent")
register_index("payment_intent", "customer")
register_index("refund", "charge")
register_index("balance_transaction", "source")


@dataclass
class Attempt:
    """The result of one confirmation: the charge, and the error when it failed."""

    charge: Obj
    behaviour: CardBehaviour

    @property
    def succeeded(self) -> bool:
        return not self.behaviour.declines

    def error(self, intent: Obj, payment_method: Obj) -> StripeError:
        """Stripe's 402 for this failure, carrying the intent and charge as Stripe does."""
        return card_error(
            message_for(self.behaviour.decline_code),
            self.behaviour.code or "card_declined",
            self.behaviour.decline_code,
            extra={
                "charge": self.charge["id"],
                "payment_intent": intent,
                "payment_method": payment_method,
            },
        )


def create_intent(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str | None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    emit: bool = True,
) -> Obj:
    intent_id = ctx.new_id("pi")
    intent = shapes.payment_intent(
        intent_id=intent_id,
        now=ctx.now(),
        amount=amount,
        currency=currency,
        customer=customer,
        payment_method=payment_method,
        description=description,
        client_secret=f"{intent_id}_secret_{ctx.new_id('sec').removeprefix('sec_')}",
    )
    intent["metadata"] = dict(metadata or {})
    ctx.store.insert(intent)
    if emit:
        ctx.emit("payment_intent.created", intent)
    return intent


def payment_method_or_error(ctx: Ctx, pm_id: str, param: str = "payment_method") -> Obj:
    pm = ctx.store.get(pm_id)
    if pm is None or pm.get("object") != "payment_method":
        raise invalid_request(
            f"No such PaymentMethod: '{pm_id}'", param=param, code="resource_missing"
        )
    return pm


def confirm(ctx: Ctx, intent: Obj, payment_method: Obj, *, off_session: bool) -> Attempt:
    """One payment attempt. Emits the charge and intent events; never raises on a decline.

    A card that needs 3D Secure leaves the intent ``requires_action`` whether the attempt is
    off-session (a renewal) or on-session (``pay``, a hosted page): the challenge itself is
    completed on the hosted invoice page. ``off_session`` is kept for the callers' intent.
    """
    del off_session
    now = ctx.now()
    behaviour = behaviour_for(payment_method, ctx.store.hidden.get(payment_method["id"]), now)
    charge_id = ctx.new_id("ch")
    balance_txn = None
    if not behaviour.declines:
        balance_txn = _balance_transaction(
            ctx, charge_id, intent["amount"], intent["currency"], "charge", "charge"
        )
    risk = ctx.state.ids.rng(f"risk:{ctx.account.id}").randint(5, 60)
    charge = shapes.charge(
        charge_id=charge_id,
        now=now,
        amount=intent["amount"],
        currency=intent["currency"],
        customer=intent.get("customer"),
        payment_intent=intent["id"],
        payment_method=payment_method,
        behaviour=behaviour,
        balance_transaction=balance_txn,
        description=intent.get("description"),
        risk_score=risk,
    )
    ctx.store.insert(charge)
    intent["payment_method"] = payment_method["id"]
    intent["latest_charge"] = charge_id
    if behaviour.declines:
        intent["last_payment_error"] = shapes.last_payment_error(
            behaviour, charge_id, payment_method
        )
        if behaviour.requires_action:
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
            }
        else:
            intent["status"] = "requires_payment_method"
            intent["next_action"] = None
        ctx.store.save(intent)
        ctx.emit("charge.failed", charge)
        if behaviour.requires_action:
            ctx.emit("payment_intent.requires_action", intent)
        else:
            ctx.emit("payment_intent.payment_failed", intent)
    else:
        succeed_intent(ctx, intent, charge)
    attempt = Attempt(charge, behaviour)
    if behaviour.dispute:
        from sandbox.billing.disputes import open_dispute

        open_dispute(ctx, charge, behaviour.dispute_reason)
    return attempt


def succeed_intent(ctx: Ctx, intent: Obj, charge: Obj) -> None:
    intent["status"] = "succeeded"
    intent["amount_received"] = intent["amount"]
    intent["last_payment_error"] = None
    intent["next_action"] = None
    ctx.store.save(intent)
    ctx.emit("charge.succeeded", charge)
    ctx.emit("payment_intent.succeeded", intent)


def complete_authentication(ctx: Ctx, intent: Obj) -> Obj:
    """The customer passed 3D Secure on a hosted page: the intent's charge goes through."""
    if intent["status"] != "requires_action":
        raise invalid_request("This PaymentIntent does not require action.", param="intent")
    pm = ctx.store.get(intent["payment_method"]) or {}
    approved = CardBehaviour("authenticated")
    charge_id = ctx.new_id("ch")
    txn = _balance_transaction(
        ctx, charge_id, intent["amount"], intent["currency"], "charge", "charge"
    )
    charge = shapes.charge(
        charge_id=charge_id,
        now=ctx.now(),
        amount=intent["amount"],
        currency=intent["currency"],
        customer=intent.get("customer"),
        payment_intent=intent["id"],
        payment_method=pm,
        behaviour=approved,
        balance_transaction=txn,
        description=intent.get("description"),
        risk_score=20,
    )
    charge["payment_method_details"]["card"]["three_d_secure"] = {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": "05",
        "result": "authenticated",
        "result_reason": None,
        "transaction_id": None,
        "version": "2.2.0",
    }
    ctx.store.insert(charge)
    intent["latest_charge"] = charge_id
    succeed_intent(ctx, intent, charge)
    return charge


def _balance_transaction(
    ctx: Ctx,
    source: str,
    amount: int,
    currency: str,
    kind: str,
    category: str,
    description: str | None = None,
) -> str:
    txn = shapes.balance_transaction(
        txn_id=ctx.new_id("txn"),
        now=ctx.now(),
        amount=amount,
        currency=currency,
        source=source,
        kind=kind,
        description=description,
        reporting_category=category,
    )
    ctx.store.insert(txn)
    return str(txn["id"])


def balance_transaction(
    ctx: Ctx, source: str, amount: int, currency: str, kind: str, category: str, description: str
) -> Obj:
    txn_id = _balance_transaction(ctx, source, amount, currency, kind, category, description)
    return ctx.store.objects[txn_id]


def refund_charge(
    ctx: Ctx, charge: Obj, amount: int | None, reason: str | None, metadata: dict[str, str]
) -> Obj:
    if charge["status"] != "succeeded":
        raise invalid_request(f"Charge {charge['id']} has not been captured.", param="charge")
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise invalid_request(
            f"Refund amount ({amount}) is greater than charge amount ({remaining})", param="amount"
        )
    refund_id = ctx.new_id("re")
    txn = _balance_transaction(ctx, refund_id, -amount, charge["currency"], "refund", "refund")
    refund = shapes.refund(
        refund_id=refund_id,
        now=ctx.now(),
        amount=amount,
        charge=charge,
        reason=reason,
        balance_transaction=txn,
        metadata=metadata,
    )
    ctx.store.insert(refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    ctx.store.save(charge)
    ctx.emit("refund.created", refund)
    ctx.emit("charge.refunded", charge, previous)
    return refund
