"""Listing and searching subscriptions and their items."""

from __future__ import annotations

from typing import Any

from sandbox.billing.subscriptions import get_subscription
from sandbox.context import Ctx
from sandbox.errors import invalid_request, resource_missing
from sandbox.expand import register_expander
from sandbox.lists import all_of, eq, list_object, list_response
from sandbox.search import field_getter, search_response

Obj = dict[str, Any]

STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)


def _status_predicate(status: str | None) -> Any:
    if status in (None, "all"):
        return (
            None
            if status == "all"
            else (lambda s: s["status"] not in ("canceled", "incomplete_expired"))
        )
    if status == "ended":
        return lambda s: s["status"] in ("canceled", "incomplete_expired")
    return eq("status", status)


def _no_clock(subscription: Obj) -> bool:
    return subscription.get("test_clock") is None


def list_subscriptions(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "customer",
            "price",
            "status",
            "created",
            "limit",
            "starting_after",
            "ending_before",
            "collection_method",
            "test_clock",
            "current_period_end",
            "current_period_start",
            "automatic_tax",
        )
    )
    status = p.str("status")
    if status is not None and status not in STATUSES:
        raise invalid_request(
            f"Invalid status: must be one of {', '.join(STATUSES)}", param="status"
        )
    price = p.str("price")
    predicate = all_of(
        _status_predicate(status),
        (lambda s: any(i["price"]["id"] == price for i in s["items"]["data"])) if price else None,
        eq("collection_method", p.str("collection_method")) if p.str("collection_method") else None,
        eq("test_clock", p.str("test_clock")) if p.str("test_clock") else None,
        # As on Stripe: without `customer` or `test_clock`, test-clock subscriptions are left out.
        None if p.str("customer") or p.str("test_clock") else _no_clock,
    )
    customer = p.str("customer")
    if customer:
        return list_response(
            ctx,
            "subscription",
            "/v1/subscriptions",
            field="customer",
            value=customer,
            predicate=predicate,
        )
    if status not in (None, "all", "ended"):
        return list_response(
            ctx,
            "subscription",
            "/v1/subscriptions",
            field="status",
            value=status,
            predicate=predicate,
        )
    return list_response(ctx, "subscription", "/v1/subscriptions", predicate=predicate)


SEARCH_FIELDS = {
    "status": field_getter("status"),
    "customer": field_getter("customer"),
    "created": field_getter("created"),
    "canceled_at": field_getter("canceled_at"),
}


def search(ctx: Ctx) -> Obj:
    return search_response(
        ctx, "subscription", "/v1/subscriptions/search", SEARCH_FIELDS, "subscriptions"
    )


def retrieve_item(ctx: Ctx) -> Obj:
    item = ctx.store.get(ctx.path["id"])
    if item is None or item["object"] != "subscription_item":
        raise resource_missing("subscription_item", ctx.path["id"])
    return item


def list_items(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("subscription", "limit", "starting_after", "ending_before"))
    sub = get_subscription(ctx, p.req_str("subscription"), "subscription")
    return list_response(
        ctx, "subscription_item", "/v1/subscription_items", field="subscription", value=sub["id"]
    )


@register_expander("customer", "subscriptions")
def _customer_subscriptions(ctx: Ctx, customer: Obj) -> Obj:
    """``expand[]=subscriptions`` on a customer: its live subscriptions, newest first."""
    index = ctx.store.index_for("subscription", "customer", str(customer["id"]))
    data = [
        ctx.store.objects[key[2]]
        for key in reversed(index.keys)
        if ctx.store.objects[key[2]]["status"] not in ("canceled", "incomplete_expired")
    ]
    return list_object(data[:10], len(data) > 10, f"/v1/customers/{customer['id']}/subscriptions")
