"""Customers: create, retrieve, update, delete, list, search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.context import Ctx
from sandbox.errors import invalid_request, resource_missing
from sandbox.expand import register_expander
from sandbox.forms import Params
from sandbox.lists import eq, list_object, list_response
from sandbox.objects import apply_changes, parse_address, parse_metadata
from sandbox.payment_methods import (
    attach_payment_method,
    check_attachable,
    resolve_payment_method,
)
from sandbox.routing import ApiRoute
from sandbox.search import field_getter, search_response

Obj = dict[str, Any]

_COMMON = (
    "address",
    "balance",
    "business_name",
    "description",
    "email",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)
CREATE_PARAMS = (*_COMMON, "payment_method", "test_clock", "tax", "tax_id_data", "source")
UPDATE_PARAMS = (*_COMMON, "default_source", "tax", "source")

SEARCH_FIELDS = {name: field_getter(name) for name in ("email", "name", "phone", "created")}

# Called with (ctx on the customer's clock, customer) just before a customer is deleted, so
# an extension can end what hangs on it (the billing engine cancels its subscriptions).
CustomerHook = Callable[[Ctx, Obj], None]
CUSTOMER_DELETED: list[CustomerHook] = []


def _invoice_prefix(ctx: Ctx) -> str:
    rng = ctx.state.ids.rng("invoice_prefix")
    return "".join(rng.choices("0123456789ABCDEF", k=8))


def _shipping(params: Params | None) -> dict[str, Any] | None:
    if params is None:
        return None
    params.check(("address", "name", "phone"))
    return {
        "address": parse_address(params.sub("address")),
        "carrier": None,
        "name": params.nullable_str("name"),
        "phone": params.nullable_str("phone"),
        "tracking_number": None,
    }


def _invoice_settings(
    ctx: Ctx, params: Params | None, current: Obj, customer_id: str, attaching: str | None
) -> Obj:
    settings = dict(current)
    if params is None:
        return settings
    params.check(("custom_fields", "default_payment_method", "footer", "rendering_options"))
    if "default_payment_method" in params:
        pm_id = params.nullable_str("default_payment_method")
        if pm_id is not None:
            pm = ctx.store.get(pm_id)
            param = "invoice_settings[default_payment_method]"
            if pm is None or pm.get("object") != "payment_method":
                raise resource_missing("PaymentMethod", pm_id, param)
            if pm.get("customer") != customer_id and pm_id != attaching:
                raise invalid_request(
                    f"The customer does not have a payment method with the ID {pm_id}. The "
                    "payment method must be attached to the customer.",
                    param=param,
                )
        settings["default_payment_method"] = pm_id
    if "footer" in params:
        settings["footer"] = params.nullable_str("footer")
    if "custom_fields" in params:
        fields = params.list("custom_fields") or []
        settings["custom_fields"] = [
            {"name": f.get("name", ""), "value": f.get("value", "")} for f in fields
        ] or None
    return settings


def _changes(ctx: Ctx, p: Params, current: Obj, attaching: str | None = None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("email", "name", "phone", "description", "business_name", "individual_name"):
        if name in p:
            changes[name] = p.nullable_str(name)
    email = changes.get("email")
    if email is not None and (email.count("@") != 1 or " " in email or len(email) > 512):
        raise invalid_request(f"Invalid email address: {email}", param="email")
    if "address" in p:
        changes["address"] = parse_address(p.sub("address"))
    if "shipping" in p:
        changes["shipping"] = _shipping(p.sub("shipping"))
    if "balance" in p:
        changes["balance"] = p.int("balance", 0)
    if "invoice_prefix" in p:
        prefix = p.req_str("invoice_prefix")
        if not (3 <= len(prefix) <= 12 and prefix.isalnum() and prefix.upper() == prefix):
            raise invalid_request(
                "Invoice prefix must be 3-12 uppercase letters or numbers.", "invoice_prefix"
            )
        changes["invoice_prefix"] = prefix
    if "next_invoice_sequence" in p:
        changes["next_invoice_sequence"] = p.int("next_invoice_sequence", minimum=1)
    if "preferred_locales" in p:
        changes["preferred_locales"] = p.str_list("preferred_locales") or []
    if "tax_exempt" in p:
        value = p.nullable_str("tax_exempt") or "none"
        if value not in ("none", "exempt", "reverse"):
            raise invalid_request(
                "Invalid tax_exempt: must be one of none, exempt, or reverse", "tax_exempt"
            )
        changes["tax_exempt"] = value
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, current.get("metadata"))
    if "invoice_settings" in p:
        changes["invoice_settings"] = _invoice_settings(
            ctx, p.sub("invoice_settings"), current["invoice_settings"], current["id"], attaching
        )
    return changes


def blank_customer(ctx: Ctx, customer_id: str, created: int, clock: str | None) -> Obj:
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": created,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "individual_name": None,
        "invoice_prefix": _invoice_prefix(ctx),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": clock,
    }


def create_customer(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(CREATE_PARAMS)
    clock = p.nullable_str("test_clock")
    if clock is not None:
        ctx.store.get_typed("test_helpers.test_clock", clock, kind="test_clock", param="test_clock")
        ctx.use_clock(clock)
    customer = blank_customer(ctx, ctx.new_id("cus"), ctx.now(), clock)
    pm = None
    pm_ref = p.nullable_str("payment_method")
    if pm_ref is not None:
        # Check before creating anything: a declined card fails the whole request on Stripe.
        pm = resolve_payment_method(ctx, pm_ref, "payment_method")
        check_attachable(ctx, pm, None, "payment_method")
    customer.update(_changes(ctx, p, customer, pm["id"] if pm else None))
    ctx.store.insert(customer)
    ctx.emit("customer.created", customer)
    if pm is not None:
        attach_payment_method(ctx, pm["id"], customer, param="payment_method")
    return customer


def get_customer(ctx: Ctx, customer_id: str, param: str = "id") -> Obj:
    obj = ctx.store.get(customer_id)
    if obj is None:
        tomb = ctx.store.tombstones.get(customer_id)
        if tomb is not None and tomb["object"] == "customer":
            return tomb
        raise resource_missing("customer", customer_id, param)
    if obj["object"] != "customer":
        raise resource_missing("customer", customer_id, param)
    return obj


def retrieve(ctx: Ctx) -> Obj:
    return get_customer(ctx, ctx.path["id"])


def live_customer(ctx: Ctx, customer_id: str, param: str = "customer") -> Obj:
    """A customer that exists and is not deleted, or Stripe's 404."""
    obj = get_customer(ctx, customer_id, param)
    if obj.get("deleted"):
        raise resource_missing("customer", customer_id, param)
    return obj


def update(ctx: Ctx) -> Obj:
    customer = live_customer(ctx, ctx.path["id"], "id")
    ctx.use_customer(customer)
    ctx.params.check(UPDATE_PARAMS)
    previous = apply_changes(customer, _changes(ctx, ctx.params, customer))
    ctx.store.save(customer)
    if previous:
        ctx.emit("customer.updated", customer, previous)
    return customer


def delete_customer(ctx: Ctx, customer: Obj) -> None:
    """Delete as Stripe does: what depends on the customer ends first (its subscriptions are
    canceled at once), then ``customer.deleted``."""
    ctx.use_customer(customer)
    for hook in CUSTOMER_DELETED:
        hook(ctx, customer)
    ctx.store.delete(customer["id"])
    ctx.emit("customer.deleted", customer)


def delete(ctx: Ctx) -> Obj:
    customer = live_customer(ctx, ctx.path["id"], "id")
    delete_customer(ctx, customer)
    return {"id": customer["id"], "object": "customer", "deleted": True}


def _no_clock(obj: Obj) -> bool:
    return obj.get("test_clock") is None


def list_customers(ctx: Ctx) -> Obj:
    """Customers on a test clock are only listed when ``test_clock`` names it (as on Stripe)."""
    p = ctx.params
    p.check(("created", "email", "ending_before", "limit", "starting_after", "test_clock"))
    email = p.nullable_str("email")
    clock = p.nullable_str("test_clock")
    url = "/v1/customers"
    if clock is not None:
        pred = eq("email", email) if email is not None else None
        return list_response(ctx, "customer", url, field="test_clock", value=clock, predicate=pred)
    if email is not None:
        return list_response(ctx, "customer", url, field="email", value=email, predicate=_no_clock)
    return list_response(ctx, "customer", url, predicate=_no_clock)


# Fields Stripe returns only when expanded. The sandbox keeps no sources or tax ids; the
# billing engine registers ``customer.subscriptions``.
@register_expander("customer", "sources")
def _sources(ctx: Ctx, customer: Obj) -> Obj:
    return list_object([], False, f"/v1/customers/{customer['id']}/sources")


@register_expander("customer", "tax_ids")
def _tax_ids(ctx: Ctx, customer: Obj) -> Obj:
    return list_object([], False, f"/v1/customers/{customer['id']}/tax_ids")


@register_expander("customer", "invoice_credit_balance")
def _credit_balance(ctx: Ctx, customer: Obj) -> Obj:
    return {}


def search(ctx: Ctx) -> Obj:
    ctx.params.check(("query", "limit", "page"))
    return search_response(ctx, "customer", "/v1/customers/search", SEARCH_FIELDS, "customers")


routes = [
    ApiRoute("GET", "/v1/customers/search", search, "customers"),
    ApiRoute("POST", "/v1/customers", create_customer, "customers"),
    ApiRoute("GET", "/v1/customers", list_customers, "customers"),
    ApiRoute("GET", "/v1/customers/{id}", retrieve, "customers"),
    ApiRoute("POST", "/v1/customers/{id}", update, "customers"),
    ApiRoute("DELETE", "/v1/customers/{id}", delete, "customers"),
]
