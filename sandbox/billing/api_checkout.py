"""``/v1/checkout/sessions`` in ``subscription`` mode, and what its hosted page completes.

A minimal, faithful Checkout: create (``mode=subscription``, recurring ``line_items``,
``customer`` or ``customer_email``, ``success_url``/``cancel_url``, ``client_reference_id``,
``metadata``), retrieve, list, expire. The session's ``url`` opens the hosted page
(``pages.py``); paying there with a test card creates the customer if needed, attaches the
card, creates the subscription the same way ``POST /v1/subscriptions`` does (so
``customer.subscription.created``, the first invoice and its charge follow), and completes the
session with ``checkout.session.completed``. A declined card leaves the session open, as on
Stripe, and creates no subscription.
"""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import card_error, invalid_request, resource_missing
from sandbox.forms import Params
from sandbox.lists import all_of, eq, list_response
from sandbox.objects import parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]

EXPIRES_AFTER = 24 * 3600
CREATE_PARAMS = (
    "mode",
    "line_items",
    "customer",
    "customer_email",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "metadata",
    "payment_method_types",
    "subscription_data",
    "locale",
    "expires_at",
)


def checkout_url(ctx: Ctx, session_id: str) -> str:
    from sandbox.billing.urls import base_url

    return f"{base_url(ctx)}/_sandbox/checkout/{ctx.account.id}/{session_id}"


def _line_items(ctx: Ctx, p: Params) -> list[tuple[Obj, int]]:
    raw = p.list("line_items")
    if not raw:
        raise invalid_request(
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
            param="line_items",
        )
    found = []
    for i, entry in enumerate(raw):
        item = Params(entry if isinstance(entry, dict) else {}, f"line_items[{i}]")
        item.check(("price", "quantity"))
        price_id = item.req_str("price")
        price = ctx.store.get(price_id)
        if price is None or price.get("object") != "price":
            raise resource_missing("price", price_id, f"line_items[{i}][price]")
        if not price.get("recurring"):
            raise invalid_request(
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
                param=f"line_items[{i}][price]",
            )
        found.append((price, item.int("quantity", 1, minimum=1) or 1))
    currencies = {price["currency"] for price, _ in found}
    if len(currencies) > 1:
        raise invalid_request("All prices must use the same currency.", param="line_items")
    return found


def create(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(CREATE_PARAMS)
    mode = p.req_str("mode")
    if mode != "subscription":
        raise invalid_request(
            "The sandbox's Checkout supports `mode=subscription` only.", param="mode"
        )
    if p.nullable_str("success_url") is None:
        raise invalid_request(
            "Missing required param: success_url.", param="success_url", code="parameter_missing"
        )
    customer_id = p.nullable_str("customer")
    customer = None
    if customer_id is not None:
        from sandbox.resources.customers import live_customer

        customer = live_customer(ctx, customer_id)
        ctx.use_customer(customer)
        if p.nullable_str("customer_email") is not None:
            raise invalid_request(
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer_email",
            )
    items = _line_items(ctx, p)
    amount = sum(int(price["unit_amount"] or 0) * quantity for price, quantity in items)
    now = ctx.now()
    session_id = ctx.new_id("cs_test")
    session = _shape(ctx, session_id, now, customer, items, amount)
    session["cancel_url"] = p.nullable_str("cancel_url")
    session["success_url"] = p.nullable_str("success_url")
    session["client_reference_id"] = p.nullable_str("client_reference_id")
    session["customer_email"] = p.nullable_str("customer_email")
    session["locale"] = p.nullable_str("locale")
    session["metadata"] = parse_metadata(p)
    session["expires_at"] = p.int("expires_at") or now + EXPIRES_AFTER
    session["payment_method_types"] = p.str_list("payment_method_types") or ["card"]
    hidden = {"line_items": [{"price": price["id"], "quantity": qty} for price, qty in items]}
    ctx.store.insert(session, hidden)
    return session


def _shape(
    ctx: Ctx,
    session_id: str,
    now: int,
    customer: Obj | None,
    items: list[tuple[Obj, int]],
    amount: int,
) -> Obj:
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": items[0][0]["currency"],
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer["id"] if customer else None,
        "customer_creation": None if customer else "always",
        "customer_details": _details(customer) if customer else None,
        "customer_email": None,
        "discounts": [],
        "expires_at": now + EXPIRES_AFTER,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": {},
        "mode": "subscription",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "redirect_on_completion": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "url": checkout_url(ctx, session_id),
    }


def _details(customer: Obj) -> Obj:
    return {
        "address": customer.get("address"),
        "email": customer.get("email"),
        "name": customer.get("name"),
        "phone": customer.get("phone"),
        "tax_exempt": customer.get("tax_exempt") or "none",
        "tax_ids": [],
    }


def _session(ctx: Ctx, session_id: str) -> Obj:
    session = ctx.store.get(session_id)
    if session is None or session.get("object") != "checkout.session":
        raise resource_missing("checkout.session", session_id)
    _expire_if_due(ctx, session)
    return session


def _expire_if_due(ctx: Ctx, session: Obj) -> None:
    if session["status"] == "open" and ctx.now() >= int(session["expires_at"]):
        expire_session(ctx, session)


def expire_session(ctx: Ctx, session: Obj) -> Obj:
    session["status"] = "expired"
    session["url"] = None
    ctx.store.save(session)
    ctx.emit("checkout.session.expired", session)
    return session


def retrieve(ctx: Ctx) -> Obj:
    ctx.params.check(("expand",))
    return _session(ctx, ctx.path["id"])


def expire(ctx: Ctx) -> Obj:
    ctx.params.check(("expand",))
    session = _session(ctx, ctx.path["id"])
    if session["status"] != "open":
        raise invalid_request(
            f'Only Checkout Sessions with a status in ["open"] can be expired. This '
            f'Checkout Session has a status of "{session["status"]}".',
        )
    return expire_session(ctx, session)


def list_sessions(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "customer",
            "subscription",
            "status",
            "limit",
            "starting_after",
            "ending_before",
            "created",
            "expand",
        )
    )
    customer = p.nullable_str("customer")
    predicate = all_of(
        *(
            eq(name, p.nullable_str(name))
            for name in ("subscription", "status")
            if p.nullable_str(name) is not None
        )
    )
    if customer is None:
        return list_response(ctx, "checkout.session", "/v1/checkout/sessions", predicate=predicate)
    return list_response(
        ctx,
        "checkout.session",
        "/v1/checkout/sessions",
        predicate=all_of(eq("customer", customer), predicate),
    )


def complete(ctx: Ctx, session: Obj, pm: Obj) -> Obj:
    """Pay the session with ``pm``: customer, subscription, ``checkout.session.completed``.

    Raises the card error (and changes nothing) when the card is refused on attaching.
    """
    from sandbox.billing import signup
    from sandbox.payment_methods import attach_payment_method, behaviour_of, check_attachable
    from sandbox.resources.customers import create_customer

    customer = ctx.store.get(session["customer"]) if session["customer"] else None
    check_attachable(ctx, pm, customer["id"] if customer else None, "payment_method")
    card = behaviour_of(ctx, pm["id"])
    if card is not None and card.outcome not in ("succeed", "dispute"):
        # Checkout confirms the first payment before it creates anything.
        raise card_error(
            card.message or "Your card was declined.",
            card.code or "card_declined",
            card.decline_code,
        )
    if customer is None:
        email = session.get("customer_email")
        made = Ctx(ctx.state, ctx.account, Params({"email": email} if email else {}))
        customer = create_customer(made)
    ctx.use_customer(customer)
    attach_payment_method(ctx, pm["id"], customer)
    items = ctx.store.hidden_of(session["id"])["line_items"]
    params: dict[str, Any] = {
        "customer": customer["id"],
        "items": [{"price": i["price"], "quantity": str(i["quantity"])} for i in items],
        "default_payment_method": pm["id"],
        "payment_behavior": "allow_incomplete",
    }
    sub_ctx = Ctx(ctx.state, ctx.account, Params(params), url=ctx.url, clock=ctx.clock)
    sub = signup.create(sub_ctx)
    session.update(
        {
            "customer": customer["id"],
            "customer_details": _details(customer),
            "subscription": sub["id"],
            "invoice": sub.get("latest_invoice"),
            "status": "complete",
            "payment_status": "paid" if sub["status"] in ("active", "trialing") else "unpaid",
            "url": None,
        }
    )
    ctx.store.save(session)
    ctx.emit("checkout.session.completed", session)
    return session


routes = [
    ApiRoute("POST", "/v1/checkout/sessions", create, "checkout_sessions"),
    ApiRoute("GET", "/v1/checkout/sessions", list_sessions, "checkout_sessions"),
    ApiRoute("GET", "/v1/checkout/sessions/{id}", retrieve, "checkout_sessions"),
    ApiRoute("POST", "/v1/checkout/sessions/{id}/expire", expire, "checkout_sessions"),
]
