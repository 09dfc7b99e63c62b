"""SetupIntents for cards: save a card for later, with Stripe's test-card outcomes.

Confirming with a card that declines answers 402 and leaves the intent in
``requires_payment_method`` with ``last_setup_error``; a card that always needs 3D Secure
leaves it in ``requires_action``; any other card succeeds and is attached to the customer.
"""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import card_error, invalid_request
from sandbox.forms import Params
from sandbox.lists import eq, list_response
from sandbox.objects import parse_metadata
from sandbox.payment_methods import (
    attach_payment_method,
    behaviour_of,
    resolve_payment_method,
)
from sandbox.resources.customers import live_customer
from sandbox.routing import ApiRoute

Obj = dict[str, Any]
KIND = "SetupIntent"
_FIELDS = (
    "customer",
    "payment_method",
    "description",
    "metadata",
    "usage",
    "payment_method_types",
    "automatic_payment_methods",
    "payment_method_options",
    "return_url",
    "confirm",
    "attach_to_self",
    "flow_directions",
    "mandate_data",
    "on_behalf_of",
    "single_use",
    "use_stripe_sdk",
    "payment_method_data",
)


def _options() -> Obj:
    return {
        "card": {
            "mandate_options": None,
            "network": None,
            "request_three_d_secure": "automatic",
        }
    }


def _payment_method(ctx: Ctx, p: Params) -> str | None:
    ref = p.nullable_str("payment_method")
    return resolve_payment_method(ctx, ref)["id"] if ref else None


def create(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(_FIELDS)
    customer_id = p.nullable_str("customer")
    if customer_id is not None:
        ctx.use_customer(live_customer(ctx, customer_id))
    usage = p.nullable_str("usage") or "off_session"
    if usage not in ("on_session", "off_session"):
        raise invalid_request("Invalid usage: must be one of on_session or off_session", "usage")
    intent_id = ctx.new_id("seti")
    pm_id = _payment_method(ctx, p)
    intent: Obj = {
        "id": intent_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{ctx.state.ids.token('secret', 24)[7:]}",
        "created": ctx.now(),
        "customer": customer_id,
        "description": p.nullable_str("description"),
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": parse_metadata(p),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": pm_id,
        "payment_method_configuration_details": None,
        "payment_method_options": _options(),
        "payment_method_types": p.str_list("payment_method_types") or ["card"],
        "single_use_mandate": None,
        "status": "requires_confirmation" if pm_id else "requires_payment_method",
        "usage": usage,
    }
    ctx.store.insert(intent)
    ctx.emit("setup_intent.created", intent)
    if p.bool("confirm", False):
        return _confirm(ctx, intent)
    return intent


def _intent(ctx: Ctx) -> Obj:
    intent = ctx.store.get_typed("setup_intent", ctx.path["id"], kind="setupintent")
    ctx.use_customer(intent.get("customer"))
    return intent


def _unexpected_state(intent: Obj, action: str) -> Exception:
    return invalid_request(
        f"You cannot {action} this SetupIntent because it has a status of {intent['status']}.",
        code="setup_intent_unexpected_state",
    )


def _confirm(ctx: Ctx, intent: Obj) -> Obj:
    pm_id = intent["payment_method"]
    if pm_id is None:
        raise invalid_request(
            "You cannot confirm this SetupIntent because it's missing a payment method. Update "
            "the SetupIntent with a payment method and then confirm it again.",
            code="setup_intent_unexpected_state",
        )
    card = behaviour_of(ctx, pm_id)
    if card is not None and card.fails_on_attach:
        pm = ctx.store.objects[pm_id]
        failure = card_error(
            card.message or "Your card was declined.",
            card.code or "card_declined",
            card.decline_code,
        )
        error: Obj = {**failure.body()["error"], "payment_method": pm}
        intent.update(status="requires_payment_method", last_setup_error=error, payment_method=None)
        ctx.store.save(intent)
        ctx.emit("setup_intent.setup_failed", intent)
        failure.extra = {"setup_intent": intent, "payment_method": pm}
        raise failure
    if card is not None and card.outcome == "authentication_required":
        intent.update(
            status="requires_action",
            next_action={
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": "",
                    "source": pm_id,
                },
            },
        )
        ctx.store.save(intent)
        ctx.emit("setup_intent.requires_action", intent)
        return intent
    if intent["customer"] is not None:
        customer = live_customer(ctx, intent["customer"])
        attach_payment_method(ctx, pm_id, customer)
    intent.update(status="succeeded", next_action=None, last_setup_error=None)
    ctx.store.save(intent)
    ctx.emit("setup_intent.succeeded", intent)
    return intent


def confirm(ctx: Ctx) -> Obj:
    intent = _intent(ctx)
    ctx.params.check(
        (
            "payment_method",
            "return_url",
            "mandate_data",
            "use_stripe_sdk",
            "payment_method_data",
            "payment_method_options",
            "client_secret",
        )
    )
    if intent["status"] not in (
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ):
        raise _unexpected_state(intent, "confirm")
    pm_id = _payment_method(ctx, ctx.params)
    if pm_id is not None:
        intent["payment_method"] = pm_id
    return _confirm(ctx, intent)


def update(ctx: Ctx) -> Obj:
    intent = _intent(ctx)
    p = ctx.params
    p.check(
        (
            "customer",
            "payment_method",
            "description",
            "metadata",
            "payment_method_types",
            "attach_to_self",
            "flow_directions",
            "payment_method_options",
            "payment_method_data",
        )
    )
    if intent["status"] in ("succeeded", "canceled"):
        raise _unexpected_state(intent, "update")
    if "customer" in p:
        customer_id = p.nullable_str("customer")
        if customer_id is not None:
            live_customer(ctx, customer_id)
        intent["customer"] = customer_id
    if "payment_method" in p:
        intent["payment_method"] = _payment_method(ctx, p)
        intent["status"] = (
            "requires_confirmation" if intent["payment_method"] else "requires_payment_method"
        )
    if "description" in p:
        intent["description"] = p.nullable_str("description")
    if "metadata" in p:
        intent["metadata"] = parse_metadata(p, intent["metadata"])
    ctx.store.save(intent)
    return intent


def cancel(ctx: Ctx) -> Obj:
    intent = _intent(ctx)
    ctx.params.check(("cancellation_reason",))
    if intent["status"] in ("succeeded", "canceled", "processing"):
        raise _unexpected_state(intent, "cancel")
    reason = ctx.params.nullable_str("cancellation_reason")
    if reason is not None and reason not in ("abandoned", "duplicate", "requested_by_customer"):
        raise invalid_request("Invalid cancellation_reason", "cancellation_reason")
    intent.update(status="canceled", cancellation_reason=reason, next_action=None)
    ctx.store.save(intent)
    ctx.emit("setup_intent.canceled", intent)
    return intent


def list_intents(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        (
            "created",
            "customer",
            "ending_before",
            "limit",
            "payment_method",
            "starting_after",
            "attach_to_self",
        )
    )
    customer = p.nullable_str("customer")
    pm = p.nullable_str("payment_method")
    predicate = eq("payment_method", pm) if pm else None
    if customer:
        return list_response(
            ctx,
            "setup_intent",
            "/v1/setup_intents",
            field="customer",
            value=customer,
            predicate=predicate,
            kind=KIND,
        )
    return list_response(ctx, "setup_intent", "/v1/setup_intents", predicate=predicate, kind=KIND)


routes = [
    ApiRoute("POST", "/v1/setup_intents", create, "setup_intents"),
    ApiRoute("GET", "/v1/setup_intents", list_intents, "setup_intents"),
    ApiRoute("GET", "/v1/setup_intents/{id}", _intent, "setup_intents"),
    ApiRoute("POST", "/v1/setup_intents/{id}", update, "setup_intents"),
    ApiRoute("POST", "/v1/setup_intents/{id}/confirm", confirm, "setup_intents"),
    ApiRoute("POST", "/v1/setup_intents/{id}/cancel", cancel, "setup_intents"),
]
