"""One-off invoices: ``POST /v1/invoices`` (a draft for a customer), ``DELETE`` (drafts only),
``POST /v1/invoices/{id}/send``.

A one-off draft takes the customer's pending invoice items only with
``pending_invoice_items_behavior=include`` (Stripe's default is ``exclude``); more items join
it with ``POST /v1/invoiceitems`` and ``invoice``. Finalising, paying, voiding and marking it
uncollectible are the same endpoints as for subscription invoices (``api_invoices.py``).
With ``auto_advance=true`` it is finalised about an hour later and, when it charges
automatically, collected with the retry schedule like a renewal.
"""

from __future__ import annotations

from typing import Any

from sandbox.billing import discounts, invoice_items, invoices
from sandbox.billing.api_invoices import get_invoice
from sandbox.billing.settings import settings_for
from sandbox.context import Ctx
from sandbox.errors import invalid_request, resource_missing
from sandbox.objects import parse_metadata
from sandbox.payment_methods import check_customer_payment_method
from sandbox.routing import ApiRoute

Obj = dict[str, Any]

CREATE_PARAMS = (
    "auto_advance",
    "collection_method",
    "currency",
    "customer",
    "customer_account",
    "days_until_due",
    "default_payment_method",
    "description",
    "discounts",
    "due_date",
    "footer",
    "metadata",
    "pending_invoice_items_behavior",
)


def create(ctx: Ctx) -> Obj:
    from sandbox.resources.customers import live_customer

    p = ctx.params
    p.check(CREATE_PARAMS)
    customer = live_customer(ctx, p.req_str("customer"))
    ctx.use_customer(customer)
    behavior = p.str("pending_invoice_items_behavior", "exclude")
    if behavior not in ("exclude", "include"):
        raise invalid_request(
            "Invalid pending_invoice_items_behavior: must be one of exclude or include",
            param="pending_invoice_items_behavior",
        )
    method = p.str("collection_method", "charge_automatically") or "charge_automatically"
    if method not in ("charge_automatically", "send_invoice"):
        raise invalid_request("Invalid collection_method", param="collection_method")
    days = p.int("days_until_due", minimum=0)
    due_date = p.int("due_date")
    if method == "send_invoice" and days is None and due_date is None:
        raise invalid_request(
            "Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.",
            param="days_until_due",
        )
    if method == "charge_automatically" and (days is not None or due_date is not None):
        raise invalid_request(
            "`days_until_due` and `due_date` are only for `collection_method=send_invoice`.",
            param="days_until_due" if days is not None else "due_date",
        )
    pm_id = p.nullable_str("default_payment_method")
    if pm_id is not None:
        pm = ctx.store.get(pm_id)
        if pm is None or pm.get("object") != "payment_method":
            raise resource_missing("PaymentMethod", pm_id, "default_payment_method")
        check_customer_payment_method(ctx, pm, customer["id"], "default_payment_method")
    pending = invoice_items.pending(ctx, customer["id"]) if behavior == "include" else []
    currency = (
        p.nullable_str("currency")
        or (pending[0]["currency"] if pending else None)
        or customer.get("currency")
        or ctx.account.obj.get("default_currency")
        or "usd"
    ).lower()
    pending = [item for item in pending if item["currency"] == currency]
    redemptions = discounts.parse(ctx, p.list("discounts") or [], currency=currency, current=[])
    invoice_id = ctx.new_id("in")
    discount_ids, redeemed = discounts.redeem(
        ctx, redemptions, customer=customer["id"], invoice=invoice_id
    )
    invoice = invoices.build(
        ctx,
        customer=customer,
        lines=[],
        billing_reason="manual",
        currency=currency,
        auto_advance=bool(p.bool("auto_advance", False)),
        description=p.nullable_str("description"),
        metadata=parse_metadata(p),
        invoice_id=invoice_id,
        discounts=discount_ids,
        items=pending,
        collection_method=method,
    )
    invoice["default_payment_method"] = pm_id
    invoice["footer"] = p.nullable_str("footer")
    if method == "send_invoice":
        invoice["due_date"] = (
            due_date if due_date is not None else ctx.now() + int(days or 0) * 86_400
        )
    ctx.store.insert(invoice, {"days_until_due": days} if days is not None else None)
    invoice_items.mark_invoiced(ctx, pending, invoice_id)
    ctx.emit("invoice.created", invoice)
    discounts.announce(ctx, redeemed)
    if invoice["auto_advance"]:
        schedule_finalization(ctx, invoice)
    return invoice


def schedule_finalization(ctx: Ctx, invoice: Obj) -> None:
    """Stripe finalises an auto-advancing draft about an hour after it is created."""
    at = ctx.now() + settings_for(ctx.store.hidden).finalize_after_seconds
    invoice["automatically_finalizes_at"] = at
    ctx.store.save(invoice)
    ctx.state.timers.schedule(
        ctx.account.id,
        ctx.clock,
        at,
        "invoice.finalize",
        f"invoice.finalize:{invoice['id']}",
        {"invoice": invoice["id"]},
    )


def delete(ctx: Ctx) -> Obj:
    """``DELETE /v1/invoices/{id}``: only a one-off draft; its items go back to pending."""
    invoice = get_invoice(ctx, ctx.path["id"])
    ctx.params.check(())
    if invoice["status"] != "draft":
        raise invalid_request(
            "You can only delete draft invoices. Void a finalized invoice instead.",
            param="id",
            code="invoice_not_editable",
        )
    if invoices.subscription_of(invoice) is not None:
        raise invalid_request(
            "You can't delete a draft invoice created by a subscription. Void it once it is "
            "finalized instead.",
            param="id",
        )
    invoice_items.mark_invoiced(ctx, invoice_items.on_invoice(ctx, invoice["id"]), None)
    ctx.state.timers.cancel(ctx.account.id, f"invoice.finalize:{invoice['id']}")
    ctx.store.delete(invoice["id"])
    ctx.emit("invoice.deleted", invoice)
    return {"id": invoice["id"], "object": "invoice", "deleted": True}


def send(ctx: Ctx) -> Obj:
    """``POST /v1/invoices/{id}/send``: finalises a draft, then ``invoice.sent`` (test mode
    sends no email, as on Stripe)."""
    invoice = get_invoice(ctx, ctx.path["id"])
    ctx.params.check(())
    if invoice["status"] == "draft":
        invoices.finalize(ctx, invoice)
    if invoice["status"] in ("void", "uncollectible"):
        raise invalid_request(
            f"You can't send an invoice that is {invoice['status']}.",
            param="id",
            code="invoice_not_editable",
        )
    ctx.emit("invoice.sent", invoice)
    return invoice


routes = [
    ApiRoute("POST", "/v1/invoices", create, "invoices"),
    ApiRoute("DELETE", "/v1/invoices/{id}", delete, "invoices"),
    ApiRoute("POST", "/v1/invoices/{id}/send", send, "invoices"),
]
