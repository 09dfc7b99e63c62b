"""``/v1/billing_portal/sessions`` and ``/v1/billing_portal/configurations``.

A session's ``url`` opens the sandbox's hosted portal page (``pages.py``), where the
customer can enter a new test card; see :func:`update_card` for what follows.
"""

from __future__ import annotations

from typing import Any

from sandbox.billing import collection, urls
from sandbox.billing.portal_flows import session_flow
from sandbox.context import Ctx
from sandbox.errors import resource_missing
from sandbox.lists import list_response
from sandbox.objects import apply_changes, clone, parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]


def _configuration(ctx: Ctx, config_id: str | None = None, *, default: bool = False) -> Obj:
    now = ctx.now()
    return {
        "id": config_id or ctx.new_id("bpc"),
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {
            "headline": None,
            "privacy_policy_url": None,
            "terms_of_service_url": None,
        },
        "created": now,
        "default_return_url": None,
        "features": {
            "customer_update": {"allowed_updates": ["email", "address"], "enabled": True},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": True, "payment_method_configuration": None},
            "subscription_cancel": {
                "cancellation_reason": {"enabled": False, "options": []},
                "enabled": True,
                "mode": "at_period_end",
                "proration_behavior": "none",
            },
            "subscription_pause": {
                "duration": {"interval_options": [], "type": "indefinite"},
                "enabled": False,
            },
            "subscription_update": {
                "billing_cycle_anchor": None,
                "default_allowed_updates": [],
                "enabled": False,
                "products": [],
                "proration_behavior": "none",
                "schedule_at_period_end": {"conditions": []},
                "trial_update_behavior": "end_trial",
            },
        },
        "is_default": default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "name": None,
        "updated": now,
    }


def default_configuration(ctx: Ctx) -> Obj:
    for config in ctx.store.iter_newest("billing_portal.configuration"):
        if config["is_default"]:
            return config
    config = _configuration(ctx, default=True)
    ctx.store.insert(config)
    return config


def create_configuration(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(
        ("business_profile", "features", "default_return_url", "metadata", "name", "login_page")
    )
    config = _configuration(ctx)
    config["default_return_url"] = p.nullable_str("default_return_url")
    config["name"] = p.nullable_str("name")
    config["metadata"] = parse_metadata(p)
    profile = p.sub("business_profile")
    if profile is not None:
        for key in ("headline", "privacy_policy_url", "terms_of_service_url"):
            if key in profile:
                config["business_profile"][key] = profile.nullable_str(key)
    ctx.store.insert(config)
    ctx.emit("billing_portal.configuration.created", config)
    return config


def retrieve_configuration(ctx: Ctx) -> Obj:
    config = ctx.store.get(ctx.path["id"])
    if config is None or config["object"] != "billing_portal.configuration":
        raise resource_missing("configuration", ctx.path["id"])
    return config


def list_configurations(ctx: Ctx) -> Obj:
    ctx.params.check(("active", "is_default", "limit", "starting_after", "ending_before"))
    return list_response(ctx, "billing_portal.configuration", "/v1/billing_portal/configurations")


def create_session(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("customer", "return_url", "flow_data", "configuration", "locale", "on_behalf_of"))
    from sandbox.resources.customers import live_customer

    customer = live_customer(ctx, p.req_str("customer"))
    ctx.use_customer(customer)
    config_id = p.nullable_str("configuration")
    if config_id is not None:
        config = ctx.store.get(config_id)
        if config is None or config["object"] != "billing_portal.configuration":
            raise resource_missing("configuration", config_id, "configuration")
    else:
        config = default_configuration(ctx)
    session_id = ctx.new_id("bps")
    session: Obj = {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": config["id"],
        "created": ctx.now(),
        "customer": customer["id"],
        "customer_account": None,
        "flow": session_flow(ctx, p.sub("flow_data"), p.nullable_str("return_url"), customer),
        "livemode": False,
        "locale": p.nullable_str("locale"),
        "on_behalf_of": p.nullable_str("on_behalf_of"),
        "return_url": p.nullable_str("return_url") or config.get("default_return_url"),
        "url": urls.portal_url(ctx, session_id),
    }
    ctx.store.insert(session)
    return session


def update_card(
    ctx: Ctx, customer: Obj, number: str, exp_month: int | None, exp_year: int | None
) -> tuple[Obj, list[tuple[Obj, str | None]]]:
    """The portal's "update payment method": the new card is attached and made the default
    (``payment_method.attached``, ``customer.updated``), subscriptions paying with an old
    card switch to it, and every open invoice is retried at once.

    Returns the payment method and, per retried invoice, the decline message (None = paid).
    Raises the card error when the number itself is rejected.
    """
    import datetime

    from sandbox.payment_methods import (
        attach_payment_method,
        card_from_number,
        create_card_payment_method,
    )

    ctx.use_customer(customer)
    today = datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC)
    card = card_from_number(number, exp_month, exp_year, today.year, today.month)
    pm = create_card_payment_method(ctx, card, exp_month=exp_month, exp_year=exp_year)
    attach_payment_method(ctx, pm["id"], customer)
    settings = customer["invoice_settings"]
    previous = apply_changes(
        customer, {"invoice_settings": {**settings, "default_payment_method": pm["id"]}}
    )
    ctx.store.save(customer)
    ctx.emit("customer.updated", customer, previous)
    for sub in list(ctx.store.index_for("subscription", "customer", customer["id"]).keys):
        subscription = ctx.store.objects[sub[2]]
        if subscription.get("default_payment_method") and subscription["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            old = {"default_payment_method": clone(subscription["default_payment_method"])}
            subscription["default_payment_method"] = pm["id"]
            ctx.store.save(subscription)
            ctx.emit("customer.subscription.updated", subscription, old)
    results: list[tuple[Obj, str | None]] = []
    for key in list(reversed(ctx.store.index_for("invoice", "customer", customer["id"]).keys)):
        invoice = ctx.store.objects[key[2]]
        if invoice["status"] != "open" or invoice["collection_method"] != "charge_automatically":
            continue
        attempt = collection.attempt(ctx, invoice, pm, automatic=False, off_session=False)
        failure = None
        if attempt is not None and not attempt.succeeded:
            failure = attempt.charge.get("failure_message") or "Your card was declined."
        results.append((invoice, failure))
    return pm, results


routes = [
    ApiRoute("POST", "/v1/billing_portal/sessions", create_session, "billing_portal"),
    ApiRoute("POST", "/v1/billing_portal/configurations", create_configuration, "billing_portal"),
    ApiRoute("GET", "/v1/billing_portal/configurations", list_configurations, "billing_portal"),
    ApiRoute(
        "GET", "/v1/billing_portal/configurations/{id}", retrieve_configuration, "billing_portal"
    ),
]
