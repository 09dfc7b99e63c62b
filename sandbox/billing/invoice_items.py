"""Invoice items: one-off charges for a customer, pending until an invoice pulls them in.

An item created with ``invoice`` lands on that draft at once; one without waits (``invoice:
null``) for the customer's next invoice: a subscription's next invoice always takes the
pending items of its currency, a one-off ``POST /v1/invoices`` only with
``pending_invoice_items_behavior=include``. On an invoice an item is a line whose
``parent.type`` is ``invoice_item_details``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.store import register_index

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]

register_index("invoiceitem", "customer")
register_index("invoiceitem", "invoice")


def new_item(
    ctx: Ctx,
    *,
    customer: Obj,
    currency: str,
    unit_amount: int,
    quantity: int,
    price: Obj | None,
    description: str | None,
    period: tuple[int, int],
    metadata: dict[str, str],
    discountable: bool,
) -> Obj:
    """A stored, pending invoice item (the caller announces it)."""
    amount = unit_amount * quantity
    pricing = None
    if price is not None:
        pricing = {
            "price_details": {"price": price["id"], "product": str(price.get("product"))},
            "type": "price_details",
            "unit_amount_decimal": str(unit_amount),
        }
    item: Obj = {
        "id": ctx.new_id("ii"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "date": ctx.now(),
        "description": description,
        "discountable": discountable,
        "discounts": [],
        "frozen_fields": None,
        "invoice": None,
        "invoicing_rules": None,
        "livemode": False,
        "metadata": metadata,
        "net_amount": amount,
        "parent": None,
        "period": {"end": period[1], "start": period[0]},
        "pricing": pricing,
        "proration": False,
        "proration_details": {"credited_items": None, "discount_amounts": []},
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": customer.get("test_clock"),
    }
    ctx.store.insert(item, {"unit_amount": unit_amount})
    return item


def pending(ctx: Ctx, customer_id: str, currency: str | None = None) -> list[Obj]:
    """The customer's items not yet on an invoice, oldest first."""
    index = ctx.store.index_for("invoiceitem", "customer", customer_id)
    items = [ctx.store.objects[key[2]] for key in index.keys]
    return [
        item
        for item in items
        if item["invoice"] is None and (currency is None or item["currency"] == currency)
    ]


def on_invoice(ctx: Ctx, invoice_id: str) -> list[Obj]:
    index = ctx.store.index_for("invoiceitem", "invoice", invoice_id)
    return [ctx.store.objects[key[2]] for key in index.keys]


def line_for(ctx: Ctx, item: Obj, invoice_id: str) -> Obj:
    """The invoice line an item becomes."""
    return {
        "id": ctx.new_id("il"),
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": item["discountable"],
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
        },
        "period": dict(item["period"]),
        "pretax_credit_amounts": [],
        "pricing": item["pricing"],
        "quantity": item["quantity"],
        "subtotal": item["amount"],
        "taxes": [],
    }


def mark_invoiced(ctx: Ctx, items: list[Obj], invoice_id: str | None) -> None:
    """Put items on an invoice (or back to pending with ``None``)."""
    for item in items:
        item["invoice"] = invoice_id
        ctx.store.save(item)
