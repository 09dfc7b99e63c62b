"""Payment methods: create (test tokens, raw test numbers), retrieve, update, list, attach,
detach, and a customer's payment methods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox.cards import card_for_token
from sandbox.context import Ctx
from sandbox.errors import invalid_request, missing_parameter, resource_missing
from sandbox.forms import Params
from sandbox.lists import eq, list_response
from sandbox.objects import apply_changes, parse_address, parse_metadata
from sandbox.payment_methods import (
    attach_payment_method,
    blank_billing_details,
    card_from_number,
    create_card_payment_method,
    detach_payment_method,
    resolve_payment_method,
)
from sandbox.resources.customers import live_customer
from sandbox.routing import ApiRoute

Obj = dict[str, Any]


def _billing_details(params: Params | None, current: Obj | None = None) -> Obj:
    details = dict(current or blank_billing_details())
    if params is None:
        return details
    params.check(("address", "email", "name", "phone", "tax_id"))
    if "address" in params:
        details["address"] = (
            parse_address(params.sub("address")) or blank_billing_details()["address"]
        )
    for name in ("email", "name", "phone", "tax_id"):
        if name in params:
            details[name] = params.nullable_str(name)
    return details


def create(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "type",
            "card",
            "billing_details",
            "metadata",
            "allow_redisplay",
            "customer",
            "payment_method",
        )
    )
    pm_type = p.str("type")
    if pm_type is None:
        raise missing_parameter("type")
    if pm_type != "card":
        raise invalid_request(
            f"The sandbox only supports payment methods of type `card`, not `{pm_type}`.", "type"
        )
    card_params = p.sub("card")
    if card_params is None:
        raise missing_parameter("card")
    card_params.check(("number", "exp_month", "exp_year", "cvc", "token", "networks"))
    token = card_params.nullable_str("token")
    exp_month = card_params.int("exp_month")
    exp_year = card_params.int("exp_year")
    if token is not None:
        card = card_for_token(token)
        if card is None:
            raise resource_missing("token", token, "card[token]")
    else:
        number = card_params.str("number")
        if number is None:
            raise missing_parameter("card[number]")
        today = dt.datetime.fromtimestamp(ctx.now(), dt.UTC)
        card = card_from_number(number, exp_month, exp_year, today.year, today.month)
    pm = create_card_payment_method(
        ctx,
        card,
        exp_month=exp_month,
        exp_year=exp_year,
        billing_details=_billing_details(p.sub("billing_details")),
        metadata=parse_metadata(p),
    )
    if "allow_redisplay" in p:
        pm["allow_redisplay"] = p.req_str("allow_redisplay")
    return pm


def retrieve(ctx: Ctx) -> Obj:
    return resolve_payment_method(ctx, ctx.path["id"], "id")


def _existing(ctx: Ctx, pm_id: str) -> Obj:
    return ctx.store.get_typed("payment_method", pm_id, kind="PaymentMethod")


def update(ctx: Ctx) -> Obj:
    pm = _existing(ctx, ctx.path["id"])
    ctx.use_customer(pm.get("customer"))
    p = ctx.params
    p.check(("billing_details", "card", "metadata", "allow_redisplay"))
    changes: dict[str, Any] = {}
    if "billing_details" in p:
        changes["billing_details"] = _billing_details(
            p.sub("billing_details"), pm["billing_details"]
        )
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, pm["metadata"])
    if "allow_redisplay" in p:
        changes["allow_redisplay"] = p.req_str("allow_redisplay")
    card_params = p.sub("card")
    if card_params is not None:
        card_params.check(("exp_month", "exp_year", "networks"))
        card = dict(pm["card"])
        card["exp_month"] = card_params.int("exp_month", card["exp_month"], minimum=1, maximum=12)
        card["exp_year"] = card_params.int("exp_year", card["exp_year"])
        changes["card"] = card
    previous = apply_changes(pm, changes)
    ctx.store.save(pm)
    if previous:
        ctx.emit("payment_method.updated", pm, previous)
    return pm


def attach(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("customer", "customer_account"))
    customer_id = p.str("customer")
    if not customer_id:
        raise missing_parameter("customer")
    customer = live_customer(ctx, customer_id)
    return attach_payment_method(ctx, ctx.path["id"], customer, param="payment_method")


def detach(ctx: Ctx) -> Obj:
    ctx.params.check(())
    return detach_payment_method(ctx, _existing(ctx, ctx.path["id"]))


def _type_filter(p: Params) -> Any:
    pm_type = p.nullable_str("type")
    return eq("type", pm_type) if pm_type else None


def list_payment_methods(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "customer",
            "customer_account",
            "type",
            "ending_before",
            "limit",
            "starting_after",
            "allow_redisplay",
        )
    )
    customer = p.nullable_str("customer")
    if customer is not None:
        live_customer(ctx, customer)
        return list_response(
            ctx,
            "payment_method",
            "/v1/payment_methods",
            field="customer",
            value=customer,
            predicate=_type_filter(p),
            kind="PaymentMethod",
        )
    return list_response(
        ctx,
        "payment_method",
        "/v1/payment_methods",
        predicate=_type_filter(p),
        kind="PaymentMethod",
    )


def customer_payment_methods(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("type", "ending_before", "limit", "starting_after", "allow_redisplay"))
    customer = live_customer(ctx, ctx.path["customer"], "customer")
    return list_response(
        ctx,
        "payment_method",
        f"/v1/customers/{customer['id']}/payment_methods",
        field="customer",
        value=customer["id"],
        predicate=_type_filter(p),
        kind="PaymentMethod",
    )


def customer_payment_method(ctx: Ctx) -> Obj:
    customer = live_customer(ctx, ctx.path["customer"], "customer")
    pm = _existing(ctx, ctx.path["id"])
    if pm.get("customer") != customer["id"]:
        raise resource_missing("PaymentMethod", pm["id"], "payment_method")
    return pm


routes = [
    ApiRoute("POST", "/v1/payment_methods", create, "payment_methods", publishable=True),
    ApiRoute("GET", "/v1/payment_methods", list_payment_methods, "payment_methods"),
    ApiRoute("GET", "/v1/payment_methods/{id}", retrieve, "payment_methods"),
    ApiRoute("POST", "/v1/payment_methods/{id}", update, "payment_methods"),
    ApiRoute("POST", "/v1/payment_methods/{id}/attach", attach, "payment_methods"),
    ApiRoute("POST", "/v1/payment_methods/{id}/detach", detach, "payment_methods"),
    ApiRoute(
        "GET",
        "/v1/customers/{customer}/payment_methods",
        customer_payment_methods,
        "payment_methods",
    ),
    ApiRoute(
        "GET",
        "/v1/customers/{customer}/payment_methods/{id}",
        customer_payment_method,
        "payment_methods",
    ),
]
