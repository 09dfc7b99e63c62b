"""Events: list (``type`` with ``*`` wildcards, ``types[]``, ``created``) and retrieve."""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import invalid_request
from sandbox.lists import Predicate, all_of, list_response
from sandbox.routing import ApiRoute

Obj = dict[str, Any]


def list_events(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        ("created", "delivery_success", "ending_before", "limit", "starting_after", "type", "types")
    )
    event_type = p.nullable_str("type")
    types = p.str_list("types")
    success = p.bool("delivery_success")
    delivered = None if success is None else _delivered(success)
    if event_type and types:
        raise invalid_request("You may only specify one of these parameters: type, types.", "types")
    url = "/v1/events"
    if types:
        wanted = set(types)
        pred = all_of(lambda e: e["type"] in wanted, delivered)
        return list_response(ctx, "event", url, predicate=pred)
    if event_type and "*" in event_type:
        prefix = event_type.split("*", 1)[0]
        pred = all_of(lambda e: e["type"].startswith(prefix), delivered)
        return list_response(ctx, "event", url, predicate=pred)
    if event_type:
        return list_response(ctx, "event", url, field="type", value=event_type, predicate=delivered)
    return list_response(ctx, "event", url, predicate=delivered)


def _delivered(success: bool) -> Predicate:
    """``delivery_success``: true = every endpoint got it; false = some still pending/failed."""
    if success:
        return lambda e: e["pending_webhooks"] == 0
    return lambda e: e["pending_webhooks"] > 0


def retrieve(ctx: Ctx) -> Obj:
    return ctx.store.get_typed("event", ctx.path["id"])


routes = [
    ApiRoute("GET", "/v1/events", list_events, "events"),
    ApiRoute("GET", "/v1/events/{id}", retrieve, "events"),
]
