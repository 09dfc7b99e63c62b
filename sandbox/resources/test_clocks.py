"""Stripe test clocks: create, retrieve, list, delete, advance."""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import invalid_request
from sandbox.lists import list_response
from sandbox.objects import apply_changes
from sandbox.resources.customers import delete_customer, live_customer
from sandbox.routing import ApiRoute
from sandbox.scheduler import start_advance

Obj = dict[str, Any]
KIND = "test_helpers.test_clock"
DELETES_AFTER = 30 * 24 * 3600


def create(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("frozen_time", "name", "customer"))
    frozen = p.req_int("frozen_time")
    customer = None
    customer_id = p.nullable_str("customer")
    if customer_id is not None:
        customer = live_customer(ctx, customer_id)
        if customer.get("test_clock") is not None:
            raise invalid_request(
                "This customer is already attached to a test clock.", param="customer"
            )
    now = ctx.now()
    clock: Obj = {
        "id": ctx.new_id("clock"),
        "object": KIND,
        "created": now,
        "deletes_after": now + DELETES_AFTER,
        "frozen_time": frozen,
        "livemode": False,
        "name": p.nullable_str("name"),
        "status": "ready",
        "status_details": {},
    }
    ctx.store.insert(clock)
    ctx.emit("test_helpers.test_clock.created", clock)
    if customer is not None:
        previous = apply_changes(customer, {"test_clock": clock["id"]})
        ctx.store.save(customer)
        ctx.emit("customer.updated", customer, previous)
    return clock


def _clock(ctx: Ctx) -> Obj:
    return ctx.store.get_typed(KIND, ctx.path["id"], kind="test_clock")


def advance(ctx: Ctx) -> Obj:
    clock = _clock(ctx)
    ctx.params.check(("frozen_time",))
    target = ctx.params.req_int("frozen_time")
    if clock["status"] == "advancing":
        raise invalid_request(
            "The test clock is currently advancing. Wait until it is ready to advance again.",
            code="test_clock_advancing",
        )
    if target <= clock["frozen_time"]:
        raise invalid_request(
            "The test clock cannot be advanced to a time before or equal to its current "
            "frozen time.",
            param="frozen_time",
        )
    return start_advance(ctx, clock, target)


def delete(ctx: Ctx) -> Obj:
    clock = _clock(ctx)
    store = ctx.store
    for key in list(store.index_for("customer", "test_clock", clock["id"]).keys):
        delete_customer(ctx, store.objects[key[2]])
    ctx.use_clock(None)  # the clock's own deletion happens in the sandbox's time
    ctx.state.timers.drop_clock(ctx.account.id, clock["id"])
    store.delete(clock["id"])
    ctx.emit("test_helpers.test_clock.deleted", clock)
    return {"id": clock["id"], "object": KIND, "deleted": True}


def list_clocks(ctx: Ctx) -> Obj:
    ctx.params.check(("ending_before", "limit", "starting_after"))
    return list_response(ctx, KIND, "/v1/test_helpers/test_clocks", kind="test_clock")


routes = [
    ApiRoute("POST", "/v1/test_helpers/test_clocks", create, "test_clocks"),
    ApiRoute("GET", "/v1/test_helpers/test_clocks", list_clocks, "test_clocks"),
    ApiRoute("GET", "/v1/test_helpers/test_clocks/{id}", _clock, "test_clocks"),
    ApiRoute("DELETE", "/v1/test_helpers/test_clocks/{id}", delete, "test_clocks"),
    ApiRoute("POST", "/v1/test_helpers/test_clocks/{id}/advance", advance, "test_clocks"),
]
