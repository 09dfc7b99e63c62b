"""Coupons: create, retrieve, update, delete, list."""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import invalid_request, missing_parameter
from sandbox.lists import list_response
from sandbox.objects import apply_changes, parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]


def create_coupon(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "id",
            "amount_off",
            "currency",
            "duration",
            "duration_in_months",
            "max_redemptions",
            "metadata",
            "name",
            "percent_off",
            "redeem_by",
            "applies_to",
            "currency_options",
        )
    )
    percent = p.raw("percent_off")
    amount = p.int("amount_off", minimum=1)
    if (percent is None) == (amount is None):
        raise invalid_request(
            "You must pass exactly one of percent_off or amount_off.", "percent_off"
        )
    currency = p.nullable_str("currency")
    if amount is not None and currency is None:
        raise missing_parameter("currency")
    duration = p.nullable_str("duration") or "once"
    if duration not in ("forever", "once", "repeating"):
        raise invalid_request(
            "Invalid duration: must be one of forever, once, or repeating", "duration"
        )
    months = p.int("duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise missing_parameter("duration_in_months")
    coupon_id = p.nullable_str("id") or ctx.state.ids.token("coupon", 8)[7:]
    if ctx.store.get(coupon_id) is not None:
        raise invalid_request("Coupon already exists.", "id", code="resource_already_exists")
    coupon: Obj = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": amount,
        "created": ctx.now(),
        "currency": currency.lower() if currency else None,
        "duration": duration,
        "duration_in_months": months if duration == "repeating" else None,
        "livemode": False,
        "max_redemptions": p.int("max_redemptions", minimum=1),
        "metadata": parse_metadata(p),
        "name": p.nullable_str("name"),
        "percent_off": float(percent) if percent is not None else None,
        "redeem_by": p.int("redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }
    ctx.store.insert(coupon)
    ctx.emit("coupon.created", coupon)
    return coupon


def update_coupon(ctx: Ctx) -> Obj:
    coupon = ctx.store.get_typed("coupon", ctx.path["id"])
    p = ctx.params
    p.check(("metadata", "name", "currency_options"))
    changes: dict[str, Any] = {}
    if "name" in p:
        changes["name"] = p.nullable_str("name")
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, coupon["metadata"])
    previous = apply_changes(coupon, changes)
    if previous:
        ctx.store.save(coupon)
        ctx.emit("coupon.updated", coupon, previous)
    return coupon


def delete_coupon(ctx: Ctx) -> Obj:
    coupon = ctx.store.get_typed("coupon", ctx.path["id"])
    ctx.store.delete(coupon["id"])
    ctx.emit("coupon.deleted", coupon)
    return {"id": coupon["id"], "object": "coupon", "deleted": True}


def list_coupons(ctx: Ctx) -> Obj:
    ctx.params.check(("created", "ending_before", "limit", "starting_after"))
    return list_response(ctx, "coupon", "/v1/coupons")


routes = [
    ApiRoute("POST", "/v1/coupons", create_coupon, "coupons"),
    ApiRoute("GET", "/v1/coupons", list_coupons, "coupons"),
    ApiRoute(
        "GET",
        "/v1/coupons/{id}",
        lambda ctx: ctx.store.get_typed("coupon", ctx.path["id"]),
        "coupons",
    ),
    ApiRoute("POST", "/v1/coupons/{id}", update_coupon, "coupons"),
    ApiRoute("DELETE", "/v1/coupons/{id}", delete_coupon, "coupons"),
]
