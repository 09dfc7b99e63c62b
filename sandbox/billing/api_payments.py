"""``/v1/payment_intents``, ``/v1/charges``, ``/v1/refunds``, ``/v1/disputes``."""

from __future__ import annotations

from typing import Any

from sandbox.billing import disputes, payments
from sandbox.context import Ctx
from sandbox.errors import invalid_request, resource_missing
from sandbox.lists import all_of, eq, list_response
from sandbox.objects import parse_metadata
from sandbox.routing import ApiRoute
from sandbox.search import field_getter, search_response

Obj = dict[str, Any]


def _get(ctx: Ctx, object_type: str, object_id: str, kind: str, param: str = "id") -> Obj:
    obj = ctx.store.get(object_id)
    if obj is None or obj["object"] != object_type:
        raise resource_missing(kind, object_id, param)
    customer = obj.get("customer")
    if isinstance(customer, str):
        ctx.use_customer(customer)
    return obj


# --- payment intents --------------------------------------------------------------------


def create_intent(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "amount",
            "currency",
            "customer",
            "payment_method",
            "confirm",
            "off_session",
            "description",
            "metadata",
            "payment_method_types",
            "automatic_payment_methods",
            "setup_future_usage",
            "receipt_email",
        )
    )
    amount = p.req_int("amount", minimum=50)
    currency = p.req_str("currency").lower()
    customer = p.nullable_str("customer")
    if customer is not None:
        from sandbox.resources.customers import live_customer

        ctx.use_customer(live_customer(ctx, customer))
    pm = None
    pm_ref = p.nullable_str("payment_method")
    if pm_ref is not None:
        from sandbox.payment_methods import check_reusable, resolve_payment_method

        pm = resolve_payment_method(ctx, pm_ref)
        check_reusable(ctx, pm)
    intent = payments.create_intent(
        ctx,
        amount=amount,
        currency=currency,
        customer=customer,
        payment_method=pm["id"] if pm else None,
        description=p.nullable_str("description"),
        metadata=parse_metadata(p),
    )
    if p.bool("confirm", False):
        _confirm(ctx, intent, pm, bool(p.bool("off_session", False)))
    return intent


def _confirm(ctx: Ctx, intent: Obj, pm: Obj | None, off_session: bool) -> None:
    if pm is None:
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            param="payment_method",
            code="payment_intent_unexpected_state",
        )
    from sandbox.payment_methods import check_reusable

    check_reusable(ctx, pm)
    result = payments.confirm(ctx, intent, pm, off_session=off_session)
    if not result.succeeded and not result.behaviour.requires_action:
        raise result.error(intent, pm)


def confirm_intent(ctx: Ctx) -> Obj:
    intent = _get(ctx, "payment_intent", ctx.path["id"], "payment_intent")
    p = ctx.params
    p.check(("payment_method", "off_session", "return_url", "mandate_data", "setup_future_usage"))
    if intent["status"] in ("succeeded", "canceled"):
        raise invalid_request(
            f"This PaymentIntent's status is {intent['status']}, so it cannot be confirmed.",
            param="intent",
            code="payment_intent_unexpected_state",
        )
    pm_ref = p.nullable_str("payment_method") or intent.get("payment_method")
    pm = None
    if pm_ref:
        from sandbox.payment_methods import resolve_payment_method

        pm = resolve_payment_method(ctx, str(pm_ref))
    _confirm(ctx, intent, pm, bool(p.bool("off_session", False)))
    return intent


def cancel_intent(ctx: Ctx) -> Obj:
    intent = _get(ctx, "payment_intent", ctx.path["id"], "payment_intent")
    ctx.params.check(("cancellation_reason",))
    if intent["status"] in ("succeeded", "canceled"):
        raise invalid_request(
            f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
            param="intent",
            code="payment_intent_unexpected_state",
        )
    intent["status"] = "canceled"
    intent["canceled_at"] = ctx.now()
    intent["cancellation_reason"] = (
        ctx.params.nullable_str("cancellation_reason") or "requested_by_customer"
    )
    ctx.store.save(intent)
    ctx.emit("payment_intent.canceled", intent)
    return intent


def retrieve_intent(ctx: Ctx) -> Obj:
    return _get(ctx, "payment_intent", ctx.path["id"], "payment_intent")


def list_intents(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("customer", "created", "limit", "starting_after", "ending_before"))
    customer = p.str("customer")
    if customer:
        return list_response(
            ctx, "payment_intent", "/v1/payment_intents", field="customer", value=customer
        )
    return list_response(ctx, "payment_intent", "/v1/payment_intents")


# --- charges ----------------------------------------------------------------------------


def retrieve_charge(ctx: Ctx) -> Obj:
    return _get(ctx, "charge", ctx.path["id"], "charge")


def list_charges(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "customer",
            "payment_intent",
            "created",
            "limit",
            "starting_after",
            "ending_before",
            "transfer_group",
        )
    )
    if p.str("payment_intent"):
        return list_response(
            ctx, "charge", "/v1/charges", field="payment_intent", value=p.str("payment_intent")
        )
    if p.str("customer"):
        return list_response(
            ctx, "charge", "/v1/charges", field="customer", value=p.str("customer")
        )
    return list_response(ctx, "charge", "/v1/charges")


# The fields Stripe's charge search accepts (no more: a query that works here must work there).
CHARGE_SEARCH = {
    name: field_getter(name)
    for name in (
        "amount",
        "billing_details.address.postal_code",
        "created",
        "currency",
        "customer",
        "disputed",
        "payment_method_details.card.brand",
        "payment_method_details.card.exp_month",
        "payment_method_details.card.exp_year",
        "payment_method_details.card.fingerprint",
        "payment_method_details.card.last4",
        "payment_intent",
        "refunded",
        "status",
    )
}


def search_charges(ctx: Ctx) -> Obj:
    return search_response(ctx, "charge", "/v1/charges/search", CHARGE_SEARCH, "charges")


# --- refunds ----------------------------------------------------------------------------


def create_refund(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("charge", "payment_intent", "amount", "reason", "metadata"))
    charge_id = p.nullable_str("charge")
    if charge_id is None:
        intent_id = p.nullable_str("payment_intent")
        if intent_id is None:
            raise invalid_request(
                "One of `charge` or `payment_intent` is required.", param="charge"
            )
        intent = _get(ctx, "payment_intent", intent_id, "payment_intent", "payment_intent")
        charge_id = intent.get("latest_charge")
        if not charge_id:
            raise invalid_request(
                "This PaymentIntent does not have a successful charge to refund.",
                param="payment_intent",
            )
    charge = _get(ctx, "charge", str(charge_id), "charge", "charge")
    reason = p.nullable_str("reason")
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid_request(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason",
        )
    return payments.refund_charge(
        ctx, charge, p.int("amount", minimum=1), reason, parse_metadata(p)
    )


def retrieve_refund(ctx: Ctx) -> Obj:
    refund = ctx.store.get(ctx.path["id"])
    if refund is None or refund["object"] != "refund":
        raise resource_missing("refund", ctx.path["id"])
    return refund


def list_refunds(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("charge", "payment_intent", "created", "limit", "starting_after", "ending_before"))
    if p.str("charge"):
        return list_response(ctx, "refund", "/v1/refunds", field="charge", value=p.str("charge"))
    predicate = eq("payment_intent", p.str("payment_intent")) if p.str("payment_intent") else None
    return list_response(ctx, "refund", "/v1/refunds", predicate=predicate)


# --- disputes ---------------------------------------------------------------------------


def retrieve_dispute(ctx: Ctx) -> Obj:
    return _get(ctx, "dispute", ctx.path["id"], "dispute")


def update_dispute(ctx: Ctx) -> Obj:
    dispute = _get(ctx, "dispute", ctx.path["id"], "dispute")
    return disputes.update(ctx, dispute, ctx.params)


def close_dispute(ctx: Ctx) -> Obj:
    dispute = _get(ctx, "dispute", ctx.path["id"], "dispute")
    ctx.params.check(())
    return disputes.close(ctx, dispute)


def list_disputes(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("charge", "payment_intent", "created", "limit", "starting_after", "ending_before"))
    if p.str("charge"):
        return list_response(ctx, "dispute", "/v1/disputes", field="charge", value=p.str("charge"))
    predicate = all_of(
        eq("payment_intent", p.str("payment_intent")) if p.str("payment_intent") else None
    )
    return list_response(ctx, "dispute", "/v1/disputes", predicate=predicate)


# --- balance transactions ---------------------------------------------------------------


def retrieve_balance_transaction(ctx: Ctx) -> Obj:
    return _get(ctx, "balance_transaction", ctx.path["id"], "balance transaction")


def list_balance_transactions(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "type",
            "source",
            "currency",
            "created",
            "payout",
            "limit",
            "starting_after",
            "ending_before",
        )
    )
    predicate = all_of(
        eq("type", p.str("type")) if p.str("type") else None,
        eq("currency", p.str("currency")) if p.str("currency") else None,
    )
    if p.str("source"):
        return list_response(
            ctx,
            "balance_transaction",
            "/v1/balance_transactions",
            field="source",
            value=p.str("source"),
            predicate=predicate,
        )
    return list_response(
        ctx, "balance_transaction", "/v1/balance_transactions", predicate=predicate
    )


routes = [
    ApiRoute("GET", "/v1/balance_transactions", list_balance_transactions, "balance"),
    ApiRoute("GET", "/v1/balance_transactions/{id}", retrieve_balance_transaction, "balance"),
    ApiRoute("POST", "/v1/payment_intents", create_intent, "payment_intents"),
    ApiRoute("GET", "/v1/payment_intents", list_intents, "payment_intents"),
    ApiRoute("GET", "/v1/payment_intents/{id}", retrieve_intent, "payment_intents"),
    ApiRoute("POST", "/v1/payment_intents/{id}/confirm", confirm_intent, "payment_intents"),
    ApiRoute("POST", "/v1/payment_intents/{id}/cancel", cancel_intent, "payment_intents"),
    ApiRoute("GET", "/v1/charges", list_charges, "charges"),
    ApiRoute("GET", "/v1/charges/search", search_charges, "charges"),
    ApiRoute("GET", "/v1/charges/{id}", retrieve_charge, "charges"),
    ApiRoute("POST", "/v1/refunds", create_refund, "refunds"),
    ApiRoute("GET", "/v1/refunds", list_refunds, "refunds"),
    ApiRoute("GET", "/v1/refunds/{id}", retrieve_refund, "refunds"),
    ApiRoute("GET", "/v1/disputes", list_disputes, "disputes"),
    ApiRoute("GET", "/v1/disputes/{id}", retrieve_dispute, "disputes"),
    ApiRoute("POST", "/v1/disputes/{id}", update_dispute, "disputes"),
    ApiRoute("POST", "/v1/disputes/{id}/close", close_dispute, "disputes"),
]
