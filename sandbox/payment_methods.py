"""Payment methods as a service the resources and the billing engine share.

``resolve_payment_method`` turns ``pm_card_visa`` / ``tok_visa`` / an existing id into a stored
PaymentMethod; ``behaviour_of`` tells the billing engine how its card behaves when charged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sandbox.cards import CardBehaviour, card_for_number, card_for_token, luhn_ok
from sandbox.context import Ctx
from sandbox.errors import card_error, invalid_request, resource_missing
from sandbox.objects import apply_changes

Obj = dict[str, Any]

# Called with (ctx, payment method, customer it was attached to) when a payment method is
# detached, before payment_method.detached: the billing engine clears the subscription and
# invoice defaults that named it, as Stripe does.
DetachHook = Callable[[Ctx, Obj, Obj], None]
PAYMENT_METHOD_DETACHED: list[DetachHook] = []

NOT_ATTACHED = (
    "The customer does not have a payment method with the ID {pm}. The payment method must be "
    "attached to the customer."
)
SPENT = (
    "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
    "attachment, shared with a connected account without Customer attachment, or was detached "
    "from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must "
    "attach it to a Customer first."
)


def _fingerprint(account_id: str, number: str) -> str:
    digest = hashlib.sha256(f"{account_id}:{number}".encode()).hexdigest()
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    value = int(digest, 16)
    out = []
    for _ in range(16):
        value, r = divmod(value, 62)
        out.append(alphabet[r])
    return "".join(out)


def blank_billing_details() -> Obj:
    return {
        "address": {f: None for f in ("city", "country", "line1", "line2", "postal_code", "state")},
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
    }


def card_object(ctx: Ctx, card: CardBehaviour, exp_month: int, exp_year: int) -> Obj:
    return {
        "brand": card.brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass" if card.decline_code != "incorrect_cvc" else "fail",
        },
        "country": card.country,
        "display_brand": card.brand.replace("_", " "),
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": _fingerprint(ctx.account.id, card.number),
        "funding": card.funding,
        "generated_from": None,
        "last4": card.number[-4:],
        "networks": {"available": [card.brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def default_expiry(ctx: Ctx) -> tuple[int, int]:
    import datetime as dt

    today = dt.datetime.fromtimestamp(ctx.now(), dt.UTC)
    return today.month, today.year + 3


def create_card_payment_method(
    ctx: Ctx,
    card: CardBehaviour,
    *,
    exp_month: int | None = None,
    exp_year: int | None = None,
    billing_details: Obj | None = None,
    metadata: dict[str, str] | None = None,
) -> Obj:
    month, year = default_expiry(ctx)
    pm: Obj = {
        "id": ctx.new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing_details or blank_billing_details(),
        "card": card_object(ctx, card, exp_month or month, exp_year or year),
        "created": ctx.now(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": metadata or {},
        "type": "card",
    }
    ctx.store.insert(pm, {"card": card.as_dict()})
    return pm


def card_from_number(
    number: str, exp_month: int | None, exp_year: int | None, now_year: int, now_month: int
) -> CardBehaviour:
    """Validate raw card details the way Stripe does (402 card errors with a param)."""
    number = number.replace(" ", "")
    if not luhn_ok(number):
        raise card_error("Your card number is incorrect.", "incorrect_number", param="card[number]")
    if exp_month is None or not 1 <= exp_month <= 12:
        raise card_error(
            "Your card's expiration month is invalid.",
            "invalid_expiry_month",
            param="card[exp_month]",
        )
    if exp_year is None or exp_year < now_year or (exp_year == now_year and exp_month < now_month):
        raise card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", param="card[exp_year]"
        )
    return card_for_number(number)


def resolve_payment_method(ctx: Ctx, ref: str, param: str = "payment_method") -> Obj:
    """An existing PaymentMethod, or a new one for a test token (``pm_card_visa``)."""
    existing = ctx.store.get(ref)
    if existing is not None and existing["object"] == "payment_method":
        return existing
    card = card_for_token(ref)
    if card is not None:
        return create_card_payment_method(ctx, card)
    raise resource_missing("PaymentMethod", ref, param)


def behaviour_of(ctx: Ctx, pm_id: str) -> CardBehaviour | None:
    """How the card behind a PaymentMethod behaves when charged (None if not a card)."""
    data = ctx.store.hidden.get(pm_id, {}).get("card")
    return CardBehaviour(**data) if data else None


def set_behaviour(ctx: Ctx, pm_id: str, **changes: Any) -> CardBehaviour:
    """Change a stored card's behaviour (sandbox-only; seeding and tests use it)."""
    current = behaviour_of(ctx, pm_id)
    if current is None:
        raise resource_missing("PaymentMethod", pm_id)
    data = current.as_dict()
    data.update(changes)
    updated = CardBehaviour(**data)
    ctx.store.hidden_of(pm_id)["card"] = updated.as_dict()
    return updated


def check_attachable(ctx: Ctx, pm: Obj, customer_id: str | None, param: str) -> None:
    """Raise what Stripe answers when ``pm`` cannot be attached (taken, or the card declines)."""
    check_reusable(ctx, pm, param)  # Stripe: a detached method cannot be re-attached
    owner = pm.get("customer")
    if owner is not None and owner != customer_id:
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            param=param,
        )
    card = behaviour_of(ctx, pm["id"])
    if card is not None and card.fails_on_attach and ctx.state.config.validate_cards_on_attach:
        raise card_error(
            card.message or "Your card was declined.",
            card.code or "card_declined",
            card.decline_code,
            extra={"payment_method": pm},
        )


def attach_payment_method(
    ctx: Ctx, ref: str, customer: Obj, *, param: str = "payment_method"
) -> Obj:
    ctx.use_customer(customer)
    pm = resolve_payment_method(ctx, ref, param)
    if pm.get("customer") == customer["id"]:
        return pm
    check_attachable(ctx, pm, customer["id"], param)
    pm["customer"] = customer["id"]
    ctx.store.save(pm)
    ctx.emit("payment_method.attached", pm)
    return pm


def check_customer_payment_method(
    ctx: Ctx, pm: Obj, customer_id: str, param: str = "payment_method"
) -> None:
    """Raise Stripe's 400 unless ``pm`` is attached to ``customer_id`` (a default payment
    method, or what an invoice of the customer is paid with, must be)."""
    if pm.get("customer") != customer_id:
        raise invalid_request(NOT_ATTACHED.format(pm=pm["id"]), param=param)


def check_reusable(ctx: Ctx, pm: Obj, param: str = "payment_method") -> None:
    """Raise Stripe's 400 for a payment method that was detached and so cannot be charged."""
    if pm.get("customer") is None and ctx.store.hidden.get(pm["id"], {}).get("detached"):
        raise invalid_request(SPENT, param=param)


def detach_payment_method(ctx: Ctx, pm: Obj) -> Obj:
    customer_id = pm.get("customer")
    if customer_id is None:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
        )
    customer = ctx.store.get(customer_id)
    ctx.use_customer(customer)
    previous = apply_changes(pm, {"customer": None})
    ctx.store.hidden_of(pm["id"])["detached"] = True
    ctx.store.save(pm)
    if customer is not None:
        for hook in PAYMENT_METHOD_DETACHED:
            hook(ctx, pm, customer)
        settings = customer["invoice_settings"]
        if settings.get("default_payment_method") == pm["id"]:
            prev_c = apply_changes(
                customer, {"invoice_settings": {**settings, "default_payment_method": None}}
            )
            ctx.store.save(customer)
            ctx.emit("customer.updated", customer, prev_c)
    ctx.emit("payment_method.detached", pm, previous)
    return pm
