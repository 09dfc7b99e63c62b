"""Invoices: the 2025+ shape (``parent``, ``payments``, line ``pricing``) and its transitions.

draft -> open (finalize) -> paid | uncollectible | void. Paying is in ``collection.py``;
this module builds invoices and moves them between states, emitting Stripe's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.billing import urls
from sandbox.errors import invalid_request
from sandbox.objects import clone
from sandbox.store import register_index

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]

register_index("invoice", "customer")
register_index("invoice_payment", "invoice")


@dataclass(frozen=True)
class LineSpec:
    """One line to bill: a subscription item's price for a period."""

    price: Obj
    quantity: int
    period_start: int
    period_end: int
    subscription_item: str | None = None


def subscription_of(invoice: Obj) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    sub = details.get("subscription")
    return sub if isinstance(sub, str) else None


def _line(ctx: Ctx, invoice_id: str, spec: LineSpec, subscription: str | None) -> Obj:
    price = spec.price
    amount = int(price.get("unit_amount") or 0) * spec.quantity
    interval = (price.get("recurring") or {}).get("interval", "month")
    product = price.get("product")
    product_obj = ctx.store.get(product) if isinstance(product, str) else None
    name = (product_obj or {}).get("name") or "Subscription"
    parent: Obj | None = None
    if spec.subscription_item is not None:
        parent = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": spec.subscription_item,
            },
        }
    return {
        "id": ctx.new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": f"{spec.quantity} × {name} (at {_money(price)} / {interval})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"end": spec.period_end, "start": spec.period_start},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": str(product)},
            "type": "price_details",
            "unit_amount_decimal": str(price.get("unit_amount") or 0),
        },
        "quantity": spec.quantity,
        "subtotal": amount,
        "taxes": [],
    }


def _money(price: Obj) -> str:
    amount = int(price.get("unit_amount") or 0)
    return f"{amount / 100:.2f} {str(price.get('currency', 'usd')).upper()}"


def build(
    ctx: Ctx,
    *,
    customer: Obj,
    lines: list[LineSpec],
    billing_reason: str,
    subscription: Obj | None = None,
    period_start: int | None = None,
    period_end: int | None = None,
    currency: str | None = None,
    auto_advance: bool = True,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    invoice_id: str | None = None,
    discounts: list[str] | None = None,
    items: list[Obj] | None = None,
    collection_method: str | None = None,
) -> Obj:
    """A draft invoice with its lines, not stored (previews use it as it is): ``lines`` from
    prices, then one per invoice item in ``items``; ``discounts`` (ids of discount objects)
    are taken off its totals."""
    from sandbox.billing.invoice_items import line_for

    now = ctx.now()
    invoice_id = invoice_id or ctx.new_id("in")
    line_objs = [
        _line(ctx, invoice_id, spec, str(subscription["id"]) if subscription else None)
        for spec in lines
    ]
    line_objs.extend(line_for(ctx, item, invoice_id) for item in items or [])
    if currency is None:
        currency = line_objs[0]["currency"] if line_objs else "usd"
    total = sum(line["amount"] for line in line_objs)
    parent = None
    if subscription is not None:
        parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription.get("metadata") or {}),
                "subscription": subscription["id"],
            },
        }
    address = customer.get("address")
    invoice: Obj = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": ctx.account.obj.get("country") or "US",
        "account_name": ctx.account.obj.get("business_profile", {}).get("name")
        if isinstance(ctx.account.obj.get("business_profile"), dict)
        else None,
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": auto_advance,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": collection_method
        or (subscription or {}).get("collection_method", "charge_automatically"),
        "created": now,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_address": address if isinstance(address, dict) else None,
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"),
        "customer_shipping": None,
        "customer_tax_exempt": customer.get("tax_exempt") or "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": line_objs,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_end if period_end is not None else now,
        "period_start": period_start if period_start is not None else now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": customer.get("test_clock"),
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }
    if discounts:
        from sandbox.billing.discounts import apply

        apply(ctx, invoice, discounts)
    return invoice


def create(ctx: Ctx, **kwargs: Any) -> Obj:
    """A stored draft invoice (see :func:`build`); its ``items`` now name it; emits
    ``invoice.created``."""
    from sandbox.billing.invoice_items import mark_invoiced

    invoice = build(ctx, **kwargs)
    ctx.store.insert(invoice)
    mark_invoiced(ctx, kwargs.get("items") or [], invoice["id"])
    ctx.emit("invoice.created", invoice)
    return invoice


def refresh_totals(ctx: Ctx, invoice: Obj) -> None:
    """Recompute a draft's subtotal, discounts and amounts after its lines changed."""
    from sandbox.billing.discounts import apply

    for line in invoice["lines"]["data"]:
        line["discount_amounts"] = []
    apply(ctx, invoice, list(invoice["discounts"]))  # with none, the totals are the subtotal


def _next_number(ctx: Ctx, customer_id: str) -> str:
    customer = ctx.store.get(customer_id) or {}
    prefix = customer.get("invoice_prefix") or "SBX"
    hidden = ctx.store.hidden_of(customer_id)
    hidden["invoice_seq"] = int(hidden.get("invoice_seq", 0)) + 1
    return f"{prefix}-{hidden['invoice_seq']:04d}"


def finalize(ctx: Ctx, invoice: Obj) -> Obj:
    """draft -> open: number, hosted page, a payment intent in ``payments``; emits
    ``invoice.finalized``. A zero-amount invoice is paid at once, as Stripe does."""
    from sandbox.billing import payments

    if invoice["status"] != "draft":
        raise invalid_request(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            param="invoice",
        )
    now = ctx.now()
    invoice["status"] = "open"
    invoice["number"] = _next_number(ctx, str(invoice["customer"]))
    invoice["hosted_invoice_url"] = urls.hosted_invoice_url(ctx, invoice["id"])
    # The sandbox has no PDF renderer: the link opens the printable hosted page.
    invoice["invoice_pdf"] = invoice["hosted_invoice_url"] + "?format=pdf"
    invoice["status_transitions"]["finalized_at"] = now
    invoice["effective_at"] = now
    invoice["ending_balance"] = 0
    invoice["automatically_finalizes_at"] = None
    days = ctx.store.hidden.get(invoice["id"], {}).get("days_until_due")
    if invoice["collection_method"] == "send_invoice" and days is not None:
        invoice["due_date"] = now + int(days) * 86_400
    if invoice["amount_due"] > 0:
        intent = payments.create_intent(
            ctx,
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer=str(invoice["customer"]),
            payment_method=None,
            description="Subscription update"
            if invoice.get("parent")
            else f"Invoice {invoice['number']}",
        )
        add_payment(ctx, invoice, intent)
    ctx.store.save(invoice)
    ctx.emit("invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        mark_paid(ctx, invoice, None)
    return invoice


def add_payment(ctx: Ctx, invoice: Obj, intent: Obj) -> Obj:
    payment = {
        "id": ctx.new_id("inpay"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": intent["amount"],
        "created": ctx.now(),
        "currency": intent["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    ctx.store.insert(payment)
    ctx.store.hidden_of(invoice["id"])["payment_intent"] = intent["id"]
    ctx.store.hidden_of(invoice["id"])["invoice_payment"] = payment["id"]
    return payment


def intent_of(ctx: Ctx, invoice: Obj) -> Obj | None:
    intent_id = ctx.store.hidden.get(invoice["id"], {}).get("payment_intent")
    return ctx.store.get(intent_id) if isinstance(intent_id, str) else None


def payments_list(ctx: Ctx, invoice: Obj) -> Obj:
    """``invoice.payments``: Stripe includes it when asked with ``expand[]=payments``."""
    index = ctx.store.index_for("invoice_payment", "invoice", invoice["id"])
    data = [ctx.store.objects[key[2]] for key in reversed(index.keys)]
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "url": f"/v1/invoice_payments?invoice={invoice['id']}",
    }


# Invoice fields whose changes Stripe reports in ``invoice.updated``'s previous_attributes.
TRACKED = (
    "amount_due",
    "total",
    "attempt_count",
    "attempted",
    "next_payment_attempt",
    "status",
    "amount_paid",
    "amount_remaining",
    "status_transitions",
    "amount_paid_off_stripe",
)


def snapshot(invoice: Obj) -> Obj:
    return {key: clone(invoice.get(key)) for key in TRACKED}


def emit_updated(ctx: Ctx, invoice: Obj, before: Obj) -> None:
    """``invoice.updated`` with what changed since ``before`` (a :func:`snapshot`)."""
    previous: Obj = {}
    for key, old in before.items():
        new = invoice.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            previous[key] = {k: old.get(k) for k in new if old.get(k) != new.get(k)}
        else:
            previous[key] = old
    if previous:
        ctx.emit("invoice.updated", invoice, previous)


def mark_paid(
    ctx: Ctx,
    invoice: Obj,
    charge: Obj | None,
    *,
    out_of_band: bool = False,
    before: Obj | None = None,
) -> None:
    before = before if before is not None else snapshot(invoice)
    now = ctx.now()
    invoice["status"] = "paid"
    invoice["amount_paid"] = invoice["amount_due"]
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["paid_at"] = now
    if out_of_band:
        invoice["amount_paid_off_stripe"] = invoice["amount_due"]
    payment_id = ctx.store.hidden.get(invoice["id"], {}).get("invoice_payment")
    payment = ctx.store.get(payment_id) if isinstance(payment_id, str) else None
    if payment is not None:
        payment["status"] = "paid"
        payment["amount_paid"] = payment["amount_requested"]
        payment["status_transitions"]["paid_at"] = now
        ctx.store.save(payment)
    ctx.store.save(invoice)
    ctx.state.timers.cancel(ctx.account.id, f"invoice.retry:{invoice['id']}")
    ctx.state.timers.cancel(ctx.account.id, f"invoice.exhausted:{invoice['id']}")
    emit_updated(ctx, invoice, before)
    ctx.emit("invoice.paid", invoice)
    if payment is not None:
        ctx.emit("invoice_payment.paid", payment)
    ctx.emit("invoice.payment_succeeded", invoice)


def void(ctx: Ctx, invoice: Obj) -> Obj:
    if invoice["status"] not in ("open", "uncollectible"):
        raise invalid_request(
            "You can only pass in open or uncollectible invoices. "
            f"This invoice is {invoice['status']}.",
            param="invoice",
        )
    before = snapshot(invoice)
    invoice["status"] = "void"
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["voided_at"] = ctx.now()
    _cancel_payment(ctx, invoice)
    ctx.store.save(invoice)
    emit_updated(ctx, invoice, before)
    ctx.emit("invoice.voided", invoice)
    return invoice


def mark_uncollectible(ctx: Ctx, invoice: Obj) -> Obj:
    if invoice["status"] != "open":
        raise invalid_request(
            "You can only mark open invoices as uncollectible. "
            f"This invoice is {invoice['status']}.",
            param="invoice",
        )
    before = snapshot(invoice)
    invoice["status"] = "uncollectible"
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["marked_uncollectible_at"] = ctx.now()
    ctx.store.save(invoice)
    ctx.state.timers.cancel(ctx.account.id, f"invoice.retry:{invoice['id']}")
    emit_updated(ctx, invoice, before)
    ctx.emit("invoice.marked_uncollectible", invoice)
    return invoice


def _cancel_payment(ctx: Ctx, invoice: Obj) -> None:
    ctx.state.timers.cancel(ctx.account.id, f"invoice.retry:{invoice['id']}")
    ctx.state.timers.cancel(ctx.account.id, f"invoice.exhausted:{invoice['id']}")
    intent = intent_of(ctx, invoice)
    if intent is not None and intent["status"] not in ("succeeded", "canceled"):
        intent["status"] = "canceled"
        intent["canceled_at"] = ctx.now()
        intent["cancellation_reason"] = "void_invoice"
        ctx.store.save(intent)
        ctx.emit("payment_intent.canceled", intent)
    payment_id = ctx.store.hidden.get(invoice["id"], {}).get("invoice_payment")
    payment = ctx.store.get(payment_id) if isinstance(payment_id, str) else None
    if payment is not None and payment["status"] == "open":
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = ctx.now()
        ctx.store.save(payment)
