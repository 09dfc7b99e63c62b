"""``/v1/invoices`` and ``/v1/invoice_payments``: retrieve, list, search, finalize, pay, void."""

from __future__ import annotations

from typing import Any

from sandbox.billing import collection, invoices
from sandbox.context import Ctx
from sandbox.errors import invalid_request, resource_missing
from sandbox.expand import register_expander
from sandbox.forms import Params
from sandbox.lists import all_of, eq, list_object, list_response, paginate
from sandbox.objects import parse_metadata
from sandbox.payment_methods import (
    check_customer_payment_method,
    check_reusable,
    resolve_payment_method,
)
from sandbox.routing import ApiRoute
from sandbox.search import field_getter, search_response

Obj = dict[str, Any]

STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def get_invoice(ctx: Ctx, invoice_id: str, param: str = "id") -> Obj:
    invoice = ctx.store.get(invoice_id)
    if invoice is None or invoice["object"] != "invoice":
        raise resource_missing("invoice", invoice_id, param)
    ctx.use_customer(str(invoice["customer"]))
    return invoice


@register_expander("invoice", "payments")
def _expand_payments(ctx: Ctx, invoice: Obj) -> Obj:
    return invoices.payments_list(ctx, invoice)


def retrieve(ctx: Ctx) -> Obj:
    return get_invoice(ctx, ctx.path["id"])


def update(ctx: Ctx) -> Obj:
    invoice = get_invoice(ctx, ctx.path["id"])
    p = ctx.params
    p.check(("metadata", "description", "auto_advance", "default_payment_method", "footer"))
    previous: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, invoice["metadata"])
    if "description" in p:
        changes["description"] = p.nullable_str("description")
    if "footer" in p:
        changes["footer"] = p.nullable_str("footer")
    if "auto_advance" in p:
        changes["auto_advance"] = p.bool("auto_advance")
    if "default_payment_method" in p:
        pm_id = p.nullable_str("default_payment_method")
        if pm_id is not None:
            pm = ctx.store.get(pm_id)
            if pm is None or pm.get("object") != "payment_method":
                raise resource_missing("PaymentMethod", pm_id, "default_payment_method")
            check_customer_payment_method(
                ctx, pm, str(invoice["customer"]), "default_payment_method"
            )
        changes["default_payment_method"] = pm_id
    if invoice["status"] in ("paid", "void", "uncollectible") and set(changes) - {
        "metadata",
        "description",
        "footer",
    }:
        raise invalid_request(
            f"You can't update this invoice because it is {invoice['status']}.", param="id"
        )
    for key, value in changes.items():
        if invoice.get(key) != value:
            previous[key] = invoice.get(key)
            invoice[key] = value
    ctx.store.save(invoice)
    if previous:
        ctx.emit("invoice.updated", invoice, previous)
    return invoice


def finalize(ctx: Ctx) -> Obj:
    invoice = get_invoice(ctx, ctx.path["id"])
    ctx.params.check(("auto_advance",))
    if "auto_advance" in ctx.params:
        invoice["auto_advance"] = bool(ctx.params.bool("auto_advance"))
    ctx.state.timers.cancel(ctx.account.id, f"invoice.finalize:{invoice['id']}")
    invoices.finalize(ctx, invoice)
    return invoice


def pay(ctx: Ctx) -> Obj:
    """``POST /v1/invoices/{id}/pay``: one attempt now; a decline answers 402 after the invoice,
    intent and charge are updated (the failure is recorded, as on Stripe)."""
    invoice = get_invoice(ctx, ctx.path["id"])
    p = ctx.params
    p.check(("payment_method", "off_session", "paid_out_of_band", "forgive", "mandate", "source"))
    if invoice["status"] == "draft":
        invoices.finalize(ctx, invoice)
    if invoice["status"] == "paid":
        raise invalid_request("Invoice is already paid", param="id")
    # An uncollectible invoice can still be paid (and stays uncollectible if that fails).
    if invoice["status"] not in ("open", "uncollectible"):
        raise invalid_request(
            f"This invoice can no longer be paid; it is {invoice['status']}.",
            param="id",
            code="invoice_not_editable",
        )
    if p.bool("paid_out_of_band", False):
        invoices.mark_paid(ctx, invoice, None, out_of_band=True)
        collection._after_paid(ctx, invoice)
        return invoice
    pm = None
    pm_ref = p.nullable_str("payment_method")
    if pm_ref is not None:
        pm = resolve_payment_method(ctx, pm_ref)
        check_reusable(ctx, pm)
        check_customer_payment_method(ctx, pm, str(invoice["customer"]))
    elif collection.default_payment_method(ctx, invoice) is None:
        raise invalid_request(
            "There is no `default_payment_method` set on this Customer or Invoice. It's possible "
            "this is because the payment method was detached.",
            param="payment_method",
        )
    result = collection.attempt(
        ctx, invoice, pm, automatic=False, off_session=bool(p.bool("off_session", False))
    )
    if result is not None and not result.succeeded:
        intent = invoices.intent_of(ctx, invoice) or {}
        charged = ctx.store.get(str(result.charge.get("payment_method"))) or {}
        raise result.error(intent, charged)
    return invoice


def void(ctx: Ctx) -> Obj:
    invoice = get_invoice(ctx, ctx.path["id"])
    ctx.params.check(())
    return invoices.void(ctx, invoice)


def mark_uncollectible(ctx: Ctx) -> Obj:
    invoice = get_invoice(ctx, ctx.path["id"])
    ctx.params.check(())
    return invoices.mark_uncollectible(ctx, invoice)


def list_invoices(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "customer",
            "subscription",
            "status",
            "created",
            "collection_method",
            "due_date",
            "limit",
            "starting_after",
            "ending_before",
            "customer_account",
        )
    )
    status = p.str("status")
    if status is not None and status not in STATUSES:
        raise invalid_request(
            f"Invalid status: must be one of {', '.join(STATUSES)}", param="status"
        )
    subscription = p.str("subscription")
    predicate = all_of(
        eq("status", status) if status else None,
        (lambda inv: invoices.subscription_of(inv) == subscription) if subscription else None,
        eq("collection_method", p.str("collection_method")) if p.str("collection_method") else None,
    )
    customer = p.str("customer")
    if customer is None and subscription is not None:
        sub = ctx.store.get(subscription)
        customer = (
            str(sub["customer"])
            if sub is not None and sub.get("object") == "subscription"
            else None
        )
        if customer is None:
            return list_object([], False, "/v1/invoices")
    if customer is not None:
        return list_response(
            ctx, "invoice", "/v1/invoices", field="customer", value=customer, predicate=predicate
        )
    return list_response(ctx, "invoice", "/v1/invoices", predicate=predicate)


def lines(ctx: Ctx) -> Obj:
    invoice = get_invoice(ctx, ctx.path["id"])
    ctx.params.check(("limit", "starting_after", "ending_before"))
    data = invoice["lines"]["data"]
    limit = ctx.params.int("limit", 10, minimum=1, maximum=100) or 10
    after = ctx.params.nullable_str("starting_after")
    if after:
        ids = [line["id"] for line in data]
        data = data[ids.index(after) + 1 :] if after in ids else []
    return list_object(data[:limit], len(data) > limit, f"/v1/invoices/{invoice['id']}/lines")


SEARCH_FIELDS = {
    "customer": field_getter("customer"),
    "status": field_getter("status"),
    "subscription": invoices.subscription_of,
    "total": field_getter("total"),
    "created": field_getter("created"),
    "number": field_getter("number"),
    "currency": field_getter("currency"),
}


def search(ctx: Ctx) -> Obj:
    return search_response(ctx, "invoice", "/v1/invoices/search", SEARCH_FIELDS, "invoices")


def _payment_filter(payment: Params | None) -> Any:
    """``payment[type]=payment_intent&payment[payment_intent]=pi_…``: from a charge or intent
    event back to its invoice."""
    if payment is None:
        return None
    payment.check(("type", "payment_intent", "charge"))
    kind = payment.req_str("type")
    target = payment.str(kind)

    def matches(invoice_payment: Obj) -> bool:
        ref = invoice_payment["payment"]
        return bool(ref["type"] == kind and (target is None or ref.get(kind) == target))

    return matches


def list_payments(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("invoice", "payment", "status", "limit", "starting_after", "ending_before", "created"))
    status = p.str("status")
    payment_filter = _payment_filter(p.sub("payment"))
    predicate = all_of(eq("status", status) if status else None, payment_filter)
    invoice_id = p.str("invoice")
    if invoice_id:
        return list_response(
            ctx,
            "invoice_payment",
            "/v1/invoice_payments",
            field="invoice",
            value=invoice_id,
            predicate=predicate,
        )
    data, has_more = paginate(
        ctx, ctx.store.index_for("invoice_payment"), predicate=predicate, kind="invoice_payment"
    )
    return list_object(data, has_more, "/v1/invoice_payments")


def retrieve_payment(ctx: Ctx) -> Obj:
    payment = ctx.store.get(ctx.path["id"])
    if payment is None or payment["object"] != "invoice_payment":
        raise resource_missing("invoice_payment", ctx.path["id"])
    return payment


def create_preview(ctx: Ctx) -> Obj:
    """``POST /v1/invoices/create_preview`` for a subscription's next renewal."""
    from sandbox.billing import subscriptions

    p = ctx.params
    p.check(("customer", "subscription", "automatic_tax", "subscription_details"))
    sub_id = p.nullable_str("subscription")
    if sub_id is None:
        raise invalid_request("Missing required param: subscription.", param="subscription")
    sub = ctx.store.get(sub_id)
    if sub is None or sub["object"] != "subscription":
        raise resource_missing("subscription", sub_id, "subscription")
    customer = p.nullable_str("customer")
    if customer is not None and customer != sub["customer"]:
        raise invalid_request(
            "The subscription does not belong to this customer.", param="customer"
        )
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid_request(
            "No upcoming invoices for customer: the subscription is canceled.",
            param="subscription",
            code="invoice_upcoming_none",
        )
    ctx.use_customer(str(sub["customer"]))
    return subscriptions.preview(ctx, sub)


routes = [
    ApiRoute("POST", "/v1/invoices/create_preview", create_preview, "invoices"),
    ApiRoute("GET", "/v1/invoices", list_invoices, "invoices"),
    ApiRoute("GET", "/v1/invoices/search", search, "invoices"),
    ApiRoute("GET", "/v1/invoices/{id}", retrieve, "invoices"),
    ApiRoute("POST", "/v1/invoices/{id}", update, "invoices"),
    ApiRoute("GET", "/v1/invoices/{id}/lines", lines, "invoices"),
    ApiRoute("POST", "/v1/invoices/{id}/finalize", finalize, "invoices"),
    ApiRoute("POST", "/v1/invoices/{id}/pay", pay, "invoices"),
    ApiRoute("POST", "/v1/invoices/{id}/void", void, "invoices"),
    ApiRoute("POST", "/v1/invoices/{id}/mark_uncollectible", mark_uncollectible, "invoices"),
    ApiRoute("GET", "/v1/invoice_payments", list_payments, "invoices"),
    ApiRoute("GET", "/v1/invoice_payments/{id}", retrieve_payment, "invoices"),
]
