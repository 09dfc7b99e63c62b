"""Billing Portal ``flow_data``: the deep-link flows a session may start with, validated
and returned as Stripe returns them in ``session.flow`` (every flow's key present, the
chosen one filled in). The sandbox's hosted page acts on ``payment_method_update`` and
``subscription_cancel``; the other flows are accepted and shown as Stripe shapes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.errors import invalid_request, missing_parameter, resource_missing
from sandbox.forms import Params

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]

FLOW_TYPES = (
    "payment_method_update",
    "subscription_cancel",
    "subscription_update",
    "subscription_update_confirm",
    "customer_update",
    "subscription_pause",
)


def session_flow(
    ctx: Ctx, flow: Params | None, return_url: str | None, customer: Obj
) -> Obj | None:
    """``flow_data`` as Stripe returns it in ``session.flow``: every flow's key present, the
    chosen one filled in (its subscription must be the customer's)."""
    if flow is None:
        return None
    flow.check(
        (
            "type",
            "after_completion",
            "subscription_cancel",
            "subscription_pause",
            "subscription_update",
            "subscription_update_confirm",
        )
    )
    kind = flow.req_str("type")
    if kind not in FLOW_TYPES:
        raise invalid_request(
            f"Invalid flow_data[type]: must be one of {', '.join(FLOW_TYPES)}",
            param="flow_data[type]",
        )
    result: Obj = {
        "after_completion": _after_completion(flow.sub("after_completion"), return_url),
        "customer_update": {} if kind == "customer_update" else None,
        "subscription_cancel": None,
        "subscription_pause": None,
        "subscription_update": None,
        "subscription_update_confirm": None,
        "type": kind,
    }
    if kind in ("subscription_cancel", "subscription_pause", "subscription_update"):
        details = _flow_details(ctx, flow, kind, customer, ("subscription", "retention"))
        result[kind] = {"subscription": details.req_str("subscription")}
        if kind == "subscription_cancel":
            result[kind]["retention"] = _retention(details.sub("retention"))
    elif kind == "subscription_update_confirm":
        details = _flow_details(ctx, flow, kind, customer, ("subscription", "items", "discounts"))
        result[kind] = _update_confirm(details)
    return result


def _after_completion(after: Params | None, return_url: str | None) -> Obj:
    after_type = after.str("type", "portal_homepage") if after is not None else "portal_homepage"
    redirect = None
    if after is not None and after_type == "redirect":
        target = after.sub("redirect")
        redirect = {"return_url": target.req_str("return_url") if target else return_url}
    confirmation = None
    if after is not None and after_type == "hosted_confirmation":
        sub = after.sub("hosted_confirmation")
        confirmation = {"custom_message": sub.nullable_str("custom_message") if sub else None}
    return {"hosted_confirmation": confirmation, "redirect": redirect, "type": after_type}


def _flow_details(
    ctx: Ctx, flow: Params, kind: str, customer: Obj, allowed: tuple[str, ...]
) -> Params:
    """``flow_data[<kind>]``, required for that flow, naming one of the customer's
    subscriptions."""
    details = flow.sub(kind)
    if details is None:
        raise missing_parameter(f"flow_data[{kind}]")
    details.check(allowed)
    sub_id = details.req_str("subscription")
    sub = ctx.store.get(sub_id)
    if sub is None or sub["object"] != "subscription" or sub["customer"] != customer["id"]:
        raise resource_missing("subscription", sub_id, f"flow_data[{kind}][subscription]")
    return details


def _retention(retention: Params | None) -> Obj | None:
    if retention is None:
        return None
    retention.check(("type", "coupon_offer"))
    offer = retention.sub("coupon_offer")
    if retention.req_str("type") != "coupon_offer" or offer is None:
        raise invalid_request(
            "flow_data[subscription_cancel][retention] needs type=coupon_offer and a "
            "coupon_offer[coupon].",
            param="flow_data[subscription_cancel][retention]",
        )
    offer.check(("coupon",))
    return {"coupon_offer": {"coupon": offer.req_str("coupon")}, "type": "coupon_offer"}


def _update_confirm(details: Params) -> Obj:
    prefix = "flow_data[subscription_update_confirm]"
    raw_items = details.list("items")
    if not raw_items:
        raise missing_parameter(f"{prefix}[items]")
    items = []
    for i, raw in enumerate(raw_items):
        item = Params(raw if isinstance(raw, dict) else {}, f"{prefix}[items][{i}]")
        item.check(("id", "price", "quantity"))
        items.append(
            {
                "id": item.nullable_str("id"),
                "price": item.nullable_str("price"),
                "quantity": item.int("quantity", minimum=0),
            }
        )
    discounts = None
    raw_discounts = details.list("discounts")
    if raw_discounts is not None:
        discounts = []
        for i, raw in enumerate(raw_discounts):
            entry = Params(raw if isinstance(raw, dict) else {}, f"{prefix}[discounts][{i}]")
            entry.check(("coupon", "promotion_code"))
            discounts.append(
                {
                    "coupon": entry.nullable_str("coupon"),
                    "promotion_code": entry.nullable_str("promotion_code"),
                }
            )
    return {
        "discounts": discounts,
        "items": items,
        "subscription": details.req_str("subscription"),
    }
