"""``/v1/subscriptions``: retrieve, update, cancel, resume; the routes of the whole family.

Creation is in ``signup.py``, lists and search in ``api_subscription_lists.py``.
"""

from __future__ import annotations

from typing import Any

from sandbox.billing import collection, discounts, invoices, subscriptions
from sandbox.billing.api_subscription_lists import (
    list_items,
    list_subscriptions,
    retrieve_item,
    search,
)
from sandbox.billing.signup import create, payment_method_ref
from sandbox.billing.subscriptions import get_subscription
from sandbox.context import Ctx
from sandbox.errors import invalid_request
from sandbox.forms import Params
from sandbox.objects import clone, parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]

UPDATE_PARAMS = (
    "cancel_at_period_end",
    "cancel_at",
    "pause_collection",
    "default_payment_method",
    "metadata",
    "description",
    "cancellation_details",
    "proration_behavior",
    "payment_behavior",
    "off_session",
    "trial_end",
    "items",
    "discounts",
)


def retrieve(ctx: Ctx) -> Obj:
    return get_subscription(ctx, ctx.path["id"])


def update(ctx: Ctx) -> Obj:
    sub = get_subscription(ctx, ctx.path["id"])
    ctx.use_customer(str(sub["customer"]))
    p = ctx.params
    p.check(UPDATE_PARAMS)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid_request(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param="id",
        )
    changes: dict[str, Any] = {}
    if "cancel_at_period_end" in p:
        changes["cancel_at_period_end"] = bool(p.bool("cancel_at_period_end", False))
        changes["cancel_at"] = (
            subscriptions.period_end(sub) if changes["cancel_at_period_end"] else None
        )
        changes["canceled_at"] = ctx.now() if changes["cancel_at_period_end"] else None
    if "cancel_at" in p:
        changes["cancel_at"] = p.int("cancel_at")
    if "default_payment_method" in p:
        changes["default_payment_method"] = payment_method_ref(
            ctx,
            p.nullable_str("default_payment_method"),
            "default_payment_method",
            str(sub["customer"]),
        )
    if "description" in p:
        changes["description"] = p.nullable_str("description")
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, sub["metadata"])
    if "cancellation_details" in p:
        details = p.sub("cancellation_details")
        current = dict(sub["cancellation_details"] or {})
        if details is not None:
            details.check(("comment", "feedback"))
            for key in ("comment", "feedback"):
                if key in details:
                    current[key] = details.nullable_str(key)
        changes["cancellation_details"] = current
    if "pause_collection" in p:
        changes["pause_collection"] = _pause(ctx, sub, p)
    current_discounts = list(sub.get("discounts") or [])
    redemptions = None
    if "discounts" in p:
        redemptions = discounts.parse(
            ctx, p.list("discounts") or [], currency=sub["currency"], current=current_discounts
        )
    previous: dict[str, Any] = {}
    for key, value in changes.items():
        if sub.get(key) != value:
            previous[key] = clone(sub.get(key))
            sub[key] = value
    raw_items = p.list("items")
    if raw_items:
        from sandbox.billing.items import apply_item_changes

        old_items = apply_item_changes(ctx, sub, raw_items)
        if old_items is not None:
            previous["items"] = old_items
    redeemed: list[Obj] = []
    if redemptions is not None:
        sub["discounts"], redeemed = discounts.redeem(
            ctx, redemptions, customer=str(sub["customer"]), subscription=sub["id"]
        )
        if sub["discounts"] != current_discounts:
            previous["discounts"] = current_discounts
    ctx.store.save(sub)
    if previous:
        ctx.emit("customer.subscription.updated", sub, previous)
    removed = [d for d in current_discounts if d not in (sub.get("discounts") or [])]
    discounts.announce(ctx, redeemed, removed)
    return sub


def _pause(ctx: Ctx, sub: Obj, p: Params) -> Obj | None:
    raw = p.raw("pause_collection")
    if raw == "":
        ctx.state.timers.cancel(ctx.account.id, f"sub.resume:{sub['id']}")
        return None
    pause = p.sub("pause_collection")
    assert pause is not None
    pause.check(("behavior", "resumes_at"))
    behavior = pause.req_str("behavior")
    if behavior not in ("keep_as_draft", "mark_uncollectible", "void"):
        raise invalid_request(
            f"Invalid pause_collection[behavior]: {behavior}", param="pause_collection[behavior]"
        )
    resumes_at = pause.int("resumes_at")
    if resumes_at is not None:
        ctx.state.timers.schedule(
            ctx.account.id,
            ctx.clock,
            resumes_at,
            "subscription.resume",
            f"sub.resume:{sub['id']}",
            {"subscription": sub["id"]},
        )
    return {"behavior": behavior, "resumes_at": resumes_at}


def cancel(ctx: Ctx) -> Obj:
    sub = get_subscription(ctx, ctx.path["id"])
    ctx.use_customer(str(sub["customer"]))
    p = ctx.params
    p.check(("cancellation_details", "invoice_now", "prorate"))
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid_request(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param="id",
        )
    details = p.sub("cancellation_details")
    comment = details.nullable_str("comment") if details else None
    feedback = details.nullable_str("feedback") if details else None
    return subscriptions.cancel(ctx, sub, comment=comment, feedback=feedback)


def resume(ctx: Ctx) -> Obj:
    """``POST /v1/subscriptions/{id}/resume``: a paused subscription starts a new period now."""
    sub = get_subscription(ctx, ctx.path["id"])
    ctx.use_customer(str(sub["customer"]))
    ctx.params.check(("billing_cycle_anchor", "proration_behavior", "proration_date"))
    if sub["status"] != "paused":
        raise invalid_request("Only a paused subscription can be resumed.", param="id")
    now = ctx.now()
    for item in sub["items"]["data"]:
        plan = item["plan"]
        item["current_period_start"] = now
        item["current_period_end"] = subscriptions.add_interval(
            now, plan["interval"], int(plan["interval_count"]), now
        )
    sub["billing_cycle_anchor"] = now
    subscriptions.sync_items(ctx, sub)
    subscriptions.set_status(ctx, sub, "active")
    invoice = subscriptions.bill_period(ctx, sub, "subscription_cycle")
    invoices.finalize(ctx, invoice)
    subscriptions.schedule_cycle(ctx, sub)
    if invoice["status"] == "open":
        collection.attempt(ctx, invoice, automatic=True)
    return sub


routes = [
    ApiRoute("POST", "/v1/subscriptions", create, "subscriptions"),
    ApiRoute("GET", "/v1/subscriptions", list_subscriptions, "subscriptions"),
    ApiRoute("GET", "/v1/subscriptions/search", search, "subscriptions"),
    ApiRoute("GET", "/v1/subscriptions/{id}", retrieve, "subscriptions"),
    ApiRoute("POST", "/v1/subscriptions/{id}", update, "subscriptions"),
    ApiRoute("DELETE", "/v1/subscriptions/{id}", cancel, "subscriptions"),
    ApiRoute("POST", "/v1/subscriptions/{id}/resume", resume, "subscriptions"),
    ApiRoute("GET", "/v1/subscription_items", list_items, "subscriptions"),
    ApiRoute("GET", "/v1/subscription_items/{id}", retrieve_item, "subscriptions"),
]
