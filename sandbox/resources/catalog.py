"""The catalogue: products and prices (one-off and recurring, any currency)."""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import invalid_request, missing_parameter
from sandbox.forms import Params
from sandbox.lists import all_of, eq, list_response
from sandbox.objects import apply_changes, parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]

INTERVALS = ("day", "week", "month", "year")


# -- products -------------------------------------------------------------------------
def new_product(ctx: Ctx, p: Params, product_id: str | None = None) -> Obj:
    name = p.req_str("name")
    now = ctx.now()
    product: Obj = {
        "id": product_id or p.nullable_str("id") or ctx.new_id("prod"),
        "object": "product",
        "active": p.bool("active", True),
        "created": now,
        "default_price": None,
        "description": p.nullable_str("description"),
        "images": p.str_list("images") or [],
        "livemode": False,
        "marketing_features": [],
        "metadata": parse_metadata(p),
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": p.nullable_str("statement_descriptor"),
        "tax_code": p.nullable_str("tax_code"),
        "type": "service",
        "unit_label": p.nullable_str("unit_label"),
        "updated": now,
        "url": p.nullable_str("url"),
    }
    if ctx.store.get(product["id"]) is not None:
        raise invalid_request("Product already exists.", param="id", code="resource_already_exists")
    ctx.store.insert(product)
    ctx.emit("product.created", product)
    return product


def create_product(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "id",
            "name",
            "active",
            "description",
            "images",
            "metadata",
            "statement_descriptor",
            "tax_code",
            "unit_label",
            "url",
            "default_price_data",
            "shippable",
            "type",
        )
    )
    product = new_product(ctx, p)
    price_data = p.sub("default_price_data")
    if price_data is not None:
        price = new_price(ctx, price_data, product["id"])
        previous = apply_changes(product, {"default_price": price["id"]})
        ctx.store.save(product)
        ctx.emit("product.updated", product, previous)
    return product


def _product(ctx: Ctx, product_id: str, param: str = "id") -> Obj:
    return ctx.store.get_typed("product", product_id, param=param)


def update_product(ctx: Ctx) -> Obj:
    product = _product(ctx, ctx.path["id"])
    p = ctx.params
    p.check(
        (
            "name",
            "active",
            "description",
            "images",
            "metadata",
            "statement_descriptor",
            "tax_code",
            "unit_label",
            "url",
            "default_price",
            "shippable",
        )
    )
    changes: dict[str, Any] = {}
    if "name" in p:
        changes["name"] = p.req_str("name")
    if "active" in p:
        changes["active"] = p.bool("active")
    for field in ("description", "statement_descriptor", "unit_label", "url", "tax_code"):
        if field in p:
            changes[field] = p.nullable_str(field)
    if "images" in p:
        changes["images"] = p.str_list("images") or []
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, product["metadata"])
    if "default_price" in p:
        price_id = p.nullable_str("default_price")
        if price_id is not None:
            ctx.store.get_typed("price", price_id, param="default_price")
        changes["default_price"] = price_id
    previous = apply_changes(product, changes)
    if previous:
        product["updated"] = ctx.now()
        ctx.store.save(product)
        ctx.emit("product.updated", product, previous)
    return product


def delete_product(ctx: Ctx) -> Obj:
    product = _product(ctx, ctx.path["id"])
    if ctx.store.index_for("price", "product", product["id"]).keys:
        raise invalid_request(
            "This product cannot be deleted because it has one or more user-created prices.",
            param="id",
        )
    ctx.store.delete(product["id"])
    ctx.emit("product.deleted", product)
    return {"id": product["id"], "object": "product", "deleted": True}


def list_products(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        ("active", "created", "ending_before", "ids", "limit", "shippable", "starting_after", "url")
    )
    active = p.bool("active")
    ids = p.str_list("ids")
    predicate = all_of(
        eq("active", active) if active is not None else None,
        (lambda o: o["id"] in ids) if ids else None,
    )
    return list_response(ctx, "product", "/v1/products", predicate=predicate)


# -- prices ---------------------------------------------------------------------------
def _recurring(p: Params | None) -> Obj | None:
    if p is None:
        return None
    p.check(
        (
            "interval",
            "interval_count",
            "usage_type",
            "trial_period_days",
            "meter",
            "aggregate_usage",
        )
    )
    interval = p.str("interval")
    if interval is None:
        raise missing_parameter("recurring[interval]")
    if interval not in INTERVALS:
        raise invalid_request(
            "Invalid recurring[interval]: must be one of day, week, month, or year",
            param="recurring[interval]",
        )
    return {
        "interval": interval,
        "interval_count": p.int("interval_count", 1, minimum=1),
        "meter": p.nullable_str("meter"),
        "trial_period_days": p.int("trial_period_days"),
        "usage_type": p.nullable_str("usage_type") or "licensed",
    }


def new_price(ctx: Ctx, p: Params, product_id: str | None = None) -> Obj:
    currency = (p.req_str("currency")).lower()
    if product_id is None:
        data = p.sub("product_data")
        if data is not None:
            data.check(
                (
                    "name",
                    "active",
                    "metadata",
                    "statement_descriptor",
                    "tax_code",
                    "unit_label",
                    "id",
                )
            )
            product_id = new_product(ctx, data)["id"]
        else:
            product_id = p.req_str("product")
            _product(ctx, product_id, "product")
    amount = p.int("unit_amount", minimum=0)
    if amount is None and "unit_amount_decimal" in p:
        amount = int(float(p.req_str("unit_amount_decimal")))
    if (
        amount is None
        and p.nullable_str("billing_scheme") != "tiered"
        and "custom_unit_amount" not in p
    ):
        raise missing_parameter("unit_amount")
    recurring = _recurring(p.sub("recurring"))
    price: Obj = {
        "id": ctx.new_id("price"),
        "object": "price",
        "active": p.bool("active", True),
        "billing_scheme": p.nullable_str("billing_scheme") or "per_unit",
        "created": ctx.now(),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": p.nullable_str("lookup_key"),
        "metadata": parse_metadata(p),
        "nickname": p.nullable_str("nickname"),
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": p.nullable_str("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount) if amount is not None else None,
    }
    ctx.store.insert(price)
    ctx.emit("price.created", price)
    return price


def create_price(ctx: Ctx) -> Obj:
    ctx.params.check(
        (
            "currency",
            "product",
            "product_data",
            "unit_amount",
            "unit_amount_decimal",
            "recurring",
            "nickname",
            "lookup_key",
            "active",
            "metadata",
            "tax_behavior",
            "billing_scheme",
            "transfer_lookup_key",
            "currency_options",
        )
    )
    return new_price(ctx, ctx.params)


def update_price(ctx: Ctx) -> Obj:
    price = ctx.store.get_typed("price", ctx.path["id"])
    p = ctx.params
    p.check(
        (
            "active",
            "metadata",
            "nickname",
            "lookup_key",
            "tax_behavior",
            "transfer_lookup_key",
            "currency_options",
        )
    )
    changes: dict[str, Any] = {}
    if "active" in p:
        changes["active"] = p.bool("active")
    for field in ("nickname", "lookup_key"):
        if field in p:
            changes[field] = p.nullable_str(field)
    if "tax_behavior" in p:
        changes["tax_behavior"] = p.req_str("tax_behavior")
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, price["metadata"])
    previous = apply_changes(price, changes)
    if previous:
        ctx.store.save(price)
        ctx.emit("price.updated", price, previous)
    return price


def list_prices(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "active",
            "created",
            "currency",
            "ending_before",
            "limit",
            "lookup_keys",
            "product",
            "recurring",
            "starting_after",
            "type",
        )
    )
    active = p.bool("active")
    currency = p.nullable_str("currency")
    price_type = p.nullable_str("type")
    lookup_keys = p.str_list("lookup_keys")
    recurring = p.sub("recurring")
    interval = recurring.nullable_str("interval") if recurring else None
    predicate = all_of(
        eq("active", active) if active is not None else None,
        eq("currency", currency.lower()) if currency else None,
        eq("type", price_type) if price_type else None,
        (lambda o: o["lookup_key"] in lookup_keys) if lookup_keys else None,
        (lambda o: (o["recurring"] or {}).get("interval") == interval) if interval else None,
    )
    product = p.nullable_str("product")
    if product is not None:
        return list_response(
            ctx, "price", "/v1/prices", field="product", value=product, predicate=predicate
        )
    return list_response(ctx, "price", "/v1/prices", predicate=predicate)


routes = [
    ApiRoute("POST", "/v1/products", create_product, "products"),
    ApiRoute("GET", "/v1/products", list_products, "products"),
    ApiRoute("GET", "/v1/products/{id}", lambda ctx: _product(ctx, ctx.path["id"]), "products"),
    ApiRoute("POST", "/v1/products/{id}", update_product, "products"),
    ApiRoute("DELETE", "/v1/products/{id}", delete_product, "products"),
    ApiRoute("POST", "/v1/prices", create_price, "prices"),
    ApiRoute("GET", "/v1/prices", list_prices, "prices"),
    ApiRoute(
        "GET", "/v1/prices/{id}", lambda ctx: ctx.store.get_typed("price", ctx.path["id"]), "prices"
    ),
    ApiRoute("POST", "/v1/prices/{id}", update_price, "prices"),
]
