"""The card account updater: the network sends a card's new expiry (or number) to Stripe.

Stripe then updates the saved card in place and sends ``payment_method.automatically_updated``;
the renewed card charges normally, so a pending retry succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.objects import apply_changes

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]


def automatically_update(
    ctx: Ctx,
    pm: Obj,
    *,
    exp_month: int | None = None,
    exp_year: int | None = None,
    last4: str | None = None,
    keep_behaviour: bool = False,
) -> Obj:
    customer = pm.get("customer")
    if isinstance(customer, str):
        ctx.use_customer(customer)
    card = dict(pm["card"])
    card["exp_year"] = int(exp_year or int(card["exp_year"]) + 3)
    card["exp_month"] = int(exp_month or card["exp_month"])
    if last4:
        card["last4"] = str(last4)
    previous = apply_changes(pm, {"card": card})
    ctx.store.save(pm)
    stored = ctx.store.hidden_of(pm["id"]).get("card")
    if isinstance(stored, dict) and not keep_behaviour:
        stored.update({"outcome": "succeed", "code": None, "decline_code": None, "message": None})
    ctx.emit("payment_method.automatically_updated", pm, previous)
    return pm
