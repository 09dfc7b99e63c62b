"""Changing a subscription's items (``items[0][id]``, ``[price]``, ``[quantity]``, ``[deleted]``).

The sandbox applies changes as ``proration_behavior=none``: the new price or quantity is
billed from the next renewal, and no proration invoice items are created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.billing import subscriptions
from sandbox.errors import invalid_request, resource_missing
from sandbox.forms import Params
from sandbox.objects import clone

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]


def _price(ctx: Ctx, price_id: str, param: str, currency: str) -> Obj:
    price = ctx.store.get(price_id)
    if price is None or price["object"] != "price":
        raise resource_missing("price", price_id, param)
    if not price.get("recurring"):
        raise invalid_request("The price specified is not a recurring price.", param=param)
    if price["currency"] != currency:
        raise invalid_request(
            f"The price specified has currency {price['currency']}, but the subscription is "
            f"in {currency}.",
            param=param,
        )
    return price


def apply_item_changes(ctx: Ctx, sub: Obj, raw_items: list[Any]) -> Obj | None:
    """Apply ``items[...]`` to ``sub``; returns the previous ``items`` list, or None."""
    before = clone(sub["items"])
    data: list[Obj] = sub["items"]["data"]
    for i, raw in enumerate(raw_items):
        item = Params(raw if isinstance(raw, dict) else {}, f"items[{i}]")
        item.check(("id", "price", "quantity", "deleted", "metadata", "tax_rates", "discounts"))
        item_id = item.nullable_str("id")
        existing = next((d for d in data if d["id"] == item_id), None) if item_id else None
        if item_id and existing is None:
            raise invalid_request(
                f"Subscription item {item_id} is not part of this subscription.",
                param=f"items[{i}][id]",
            )
        if existing is not None and item.bool("deleted", False):
            data.remove(existing)
            ctx.store.delete(existing["id"])
            continue
        if existing is None:
            price = _price(ctx, item.req_str("price"), f"items[{i}][price]", sub["currency"])
            first = data[0]
            new = subscriptions.new_item(
                ctx,
                sub["id"],
                price,
                item.int("quantity", 1, minimum=1) or 1,
                first["current_period_start"],
                first["current_period_end"],
            )
            data.append(clone(new))
            continue
        if "price" in item:
            price = _price(ctx, item.req_str("price"), f"items[{i}][price]", sub["currency"])
            existing["price"] = clone(price)
            existing["plan"] = subscriptions.plan_from_price(price)
        if "quantity" in item:
            existing["quantity"] = item.int("quantity", minimum=0)
    if not data:
        raise invalid_request("A subscription must keep at least one item.", param="items")
    subscriptions.sync_items(ctx, sub)
    return before if before != sub["items"] else None
