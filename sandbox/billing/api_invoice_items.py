"""``/v1/invoiceitems``: create, retrieve, update, delete, list."""

from __future__ import annotations

from typing import Any

from sandbox.billing import invoice_items, invoices
from sandbox.context import Ctx
from sandbox.errors import invalid_request, missing_parameter, resource_missing
from sandbox.forms import Params
from sandbox.lists import all_of, list_response
from sandbox.objects import apply_changes, parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]

CREATE_PARAMS = (
    "amount",
    "currency",
    "customer",
    "customer_account",
    "description",
    "discountable",
    "invoice",
    "metadata",
    "period",
    "price_data",
    "pricing",
    "quantity",
    "unit_amount_decimal",
)


def _unit_amount(ctx: Ctx, p: Params, currency: str | None) -> tuple[int, str | None, Obj | None]:
    """(unit amount, currency, price) from ``amount``, ``pricing[price]``, ``price_data`` or
    ``unit_amount_decimal`` — exactly one, as Stripe requires."""
    pricing = p.sub("pricing")
    price_data = p.sub("price_data")
    given = [k for k in ("amount", "pricing", "price_data", "unit_amount_decimal") if k in p]
    if len(given) != 1:
        raise invalid_request(
            "You must specify exactly one of `amount`, `pricing[price]`, `price_data` or "
            "`unit_amount_decimal`.",
            param="amount",
        )
    if pricing is not None:
        pricing.check(("price",))
        price = ctx.store.get(pricing.req_str("price"))
        if price is None or price["object"] != "price":
            raise resource_missing("price", pricing.req_str("price"), "pricing[price]")
        return int(price.get("unit_amount") or 0), price["currency"], price
    if price_data is not None:
        price_data.check(
            ("currency", "product", "unit_amount", "unit_amount_decimal", "tax_behavior")
        )
        product = price_data.req_str("product")
        ctx.store.get_typed("product", product, param="price_data[product]")
        return price_data.req_int("unit_amount", minimum=0), price_data.req_str("currency"), None
    if "unit_amount_decimal" in p:
        raw = p.req_str("unit_amount_decimal")
        if not raw.isdigit():
            raise invalid_request(f"Invalid decimal: {raw}", param="unit_amount_decimal")
        return int(raw), currency, None
    return p.req_int("amount"), currency, None


def create(ctx: Ctx) -> Obj:
    from sandbox.resources.customers import live_customer

    p = ctx.params
    p.check(CREATE_PARAMS)
    customer = live_customer(ctx, p.req_str("customer"))
    ctx.use_customer(customer)
    unit, currency, price = _unit_amount(ctx, p, p.nullable_str("currency"))
    currency = (currency or customer.get("currency") or "").lower()
    if not currency:
        raise missing_parameter("currency")
    invoice = None
    invoice_id = p.nullable_str("invoice")
    if invoice_id is not None:
        invoice = _draft_of(ctx, invoice_id, customer["id"], currency)
    now = ctx.now()
    period = p.sub("period")
    start, end = now, now
    if period is not None:
        period.check(("start", "end"))
        start, end = period.req_int("start"), period.req_int("end")
    product = (ctx.store.get(str(price.get("product"))) or {}) if price else {}
    if "amount" in p and "quantity" in p:
        # `amount` is the item's whole amount; a quantity goes with a unit price.
        raise invalid_request(
            "You may only specify one of these parameters: amount, quantity.", param="quantity"
        )
    quantity = p.int("quantity", 1, minimum=0)
    item = invoice_items.new_item(
        ctx,
        customer=customer,
        currency=currency,
        unit_amount=unit,
        quantity=1 if quantity is None else quantity,
        price=price,
        description=p.nullable_str("description") or product.get("name"),
        period=(start, end),
        metadata=parse_metadata(p),
        discountable=bool(p.bool("discountable", True)),
    )
    ctx.emit("invoiceitem.created", item)
    if invoice is not None:
        add_to_draft(ctx, invoice, [item])
    return item


def _draft_of(ctx: Ctx, invoice_id: str, customer_id: str, currency: str) -> Obj:
    invoice = ctx.store.get(invoice_id)
    if invoice is None or invoice["object"] != "invoice":
        raise resource_missing("invoice", invoice_id, "invoice")
    if invoice["status"] != "draft":
        raise invalid_request(
            f"Invoice {invoice_id} is not a draft: invoice items can only be added to draft "
            "invoices.",
            param="invoice",
            code="invoice_not_editable",
        )
    if invoice["customer"] != customer_id:
        raise invalid_request("The invoice belongs to another customer.", param="invoice")
    if invoice["currency"] != currency:
        raise invalid_request(
            f"The invoice item's currency ({currency}) must match the invoice's "
            f"({invoice['currency']}).",
            param="currency",
        )
    return invoice


def add_to_draft(ctx: Ctx, invoice: Obj, items: list[Obj]) -> None:
    """Put pending items on a draft (a line each); ``invoice.updated`` with the new totals."""
    from sandbox.billing.invoice_items import line_for, mark_invoiced

    before = invoices.snapshot(invoice)
    invoice["lines"]["data"].extend(line_for(ctx, item, invoice["id"]) for item in items)
    mark_invoiced(ctx, items, invoice["id"])
    invoices.refresh_totals(ctx, invoice)
    ctx.store.save(invoice)
    invoices.emit_updated(ctx, invoice, before)


def _item(ctx: Ctx) -> Obj:
    item = ctx.store.get_typed("invoiceitem", ctx.path["id"], kind="invoiceitem")
    ctx.use_customer(str(item["customer"]))
    return item


def _editable(ctx: Ctx, item: Obj) -> Obj | None:
    """The draft an item is on (None when pending); 400 once its invoice is finalised."""
    if item["invoice"] is None:
        return None
    invoice = ctx.store.objects[str(item["invoice"])]
    if invoice["status"] != "draft":
        raise invalid_request(
            "You can only edit or delete invoice items that are pending or on a draft invoice.",
            param="id",
            code="invoice_not_editable",
        )
    return invoice


def update(ctx: Ctx) -> Obj:
    item = _item(ctx)
    p = ctx.params
    p.check(("amount", "description", "discountable", "metadata", "period", "quantity"))
    invoice = _editable(ctx, item)
    changes: dict[str, Any] = {}
    hidden = ctx.store.hidden_of(item["id"])
    unit = int(hidden["unit_amount"] if "unit_amount" in hidden else item["amount"])
    quantity = int(item["quantity"])
    if "amount" in p and "quantity" in p:
        raise invalid_request(
            "You may only specify one of these parameters: amount, quantity.", param="quantity"
        )
    if "amount" in p:
        unit, quantity = p.req_int("amount"), 1
    if "quantity" in p:
        quantity = p.req_int("quantity", minimum=0)
    if unit * quantity != item["amount"] or quantity != item["quantity"]:
        hidden["unit_amount"] = unit
        changes.update(
            amount=unit * quantity,
            net_amount=unit * quantity,
            quantity=quantity,
            quantity_decimal=str(quantity),
        )
    if "description" in p:
        changes["description"] = p.nullable_str("description")
    if "discountable" in p:
        changes["discountable"] = bool(p.bool("discountable", True))
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, item["metadata"])
    period = p.sub("period")
    if period is not None:
        period.check(("start", "end"))
        changes["period"] = {"end": period.req_int("end"), "start": period.req_int("start")}
    apply_changes(item, changes)
    ctx.store.save(item)
    if invoice is not None and changes:
        _replace_line(ctx, invoice, item)
    return item


def _replace_line(ctx: Ctx, invoice: Obj, item: Obj) -> None:
    lines = invoice["lines"]["data"]
    lines[:] = [line for line in lines if _item_of(line) != item["id"]]
    add_to_draft(ctx, invoice, [item])


def _item_of(line: Obj) -> str | None:
    details = (line.get("parent") or {}).get("invoice_item_details") or {}
    return details.get("invoice_item")


def delete(ctx: Ctx) -> Obj:
    item = _item(ctx)
    ctx.params.check(())
    invoice = _editable(ctx, item)
    if invoice is not None:
        before = invoices.snapshot(invoice)
        lines = invoice["lines"]["data"]
        lines[:] = [line for line in lines if _item_of(line) != item["id"]]
        invoices.refresh_totals(ctx, invoice)
        ctx.store.save(invoice)
        invoices.emit_updated(ctx, invoice, before)
    ctx.store.delete(item["id"])
    ctx.emit("invoiceitem.deleted", item)
    return {"id": item["id"], "object": "invoiceitem", "deleted": True}


def list_items(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        ("customer", "invoice", "pending", "created", "limit", "starting_after", "ending_before")
    )
    pending = p.bool("pending")
    predicate = all_of(
        (lambda i: (i["invoice"] is None) == pending) if pending is not None else None,
    )
    url = "/v1/invoiceitems"
    if p.nullable_str("invoice"):
        return list_response(
            ctx, "invoiceitem", url, field="invoice", value=p.str("invoice"), predicate=predicate
        )
    if p.nullable_str("customer"):
        return list_response(
            ctx, "invoiceitem", url, field="customer", value=p.str("customer"), predicate=predicate
        )
    return list_response(ctx, "invoiceitem", url, predicate=predicate)


routes = [
    ApiRoute("POST", "/v1/invoiceitems", create, "invoices"),
    ApiRoute("GET", "/v1/invoiceitems", list_items, "invoices"),
    ApiRoute("GET", "/v1/invoiceitems/{id}", _item, "invoices"),
    ApiRoute("POST", "/v1/invoiceitems/{id}", update, "invoices"),
    ApiRoute("DELETE", "/v1/invoiceitems/{id}", delete, "invoices"),
]
