"""``POST /v1/subscriptions``: a new subscription, its first invoice and first charge."""

from __future__ import annotations

from typing import Any

from sandbox.billing import collection, discounts, invoices, subscriptions
from sandbox.billing.settings import DAY
from sandbox.context import Ctx
from sandbox.errors import invalid_request, resource_missing
from sandbox.forms import Params
from sandbox.objects import clone, parse_metadata
from sandbox.payment_methods import check_customer_payment_method

Obj = dict[str, Any]

CREATE_PARAMS = (
    "customer",
    "items",
    "trial_period_days",
    "trial_end",
    "default_payment_method",
    "collection_method",
    "days_until_due",
    "cancel_at_period_end",
    "cancel_at",
    "metadata",
    "payment_behavior",
    "off_session",
    "description",
    "trial_settings",
    "currency",
    "payment_settings",
    "proration_behavior",
    "discounts",
)


def _price(ctx: Ctx, price_id: str, param: str) -> Obj:
    price = ctx.store.get(price_id)
    if price is None or price["object"] != "price":
        raise resource_missing("price", price_id, param)
    if not price.get("recurring"):
        raise invalid_request(
            "The price specified is set to `type=one_time` but this field only accepts "
            "prices with `type=recurring`.",
            param=param,
        )
    return price


def payment_method_ref(ctx: Ctx, pm_id: str | None, param: str, customer: str) -> str | None:
    """A default payment method must exist and be attached to the customer (Stripe's 400)."""
    if pm_id is None:
        return None
    pm = ctx.store.get(pm_id)
    if pm is None or pm["object"] != "payment_method":
        raise resource_missing("PaymentMethod", pm_id, param)
    check_customer_payment_method(ctx, pm, customer, param)
    return pm_id


def create(ctx: Ctx) -> Obj:
    """``POST /v1/subscriptions``: the first invoice is charged now unless there is a trial."""
    p = ctx.params
    p.check(CREATE_PARAMS)
    from sandbox.resources.customers import live_customer

    customer = live_customer(ctx, p.req_str("customer"))
    ctx.use_customer(customer)
    raw_items = p.list("items")
    if not raw_items:
        raise invalid_request(
            "Missing required param: items.", param="items", code="parameter_missing"
        )
    now = ctx.now()
    specs: list[tuple[Obj, int]] = []
    for i, raw in enumerate(raw_items):
        item = Params(raw if isinstance(raw, dict) else {}, f"items[{i}]")
        item.check(("price", "quantity", "metadata", "tax_rates", "discounts"))
        specs.append(
            (
                _price(ctx, item.req_str("price"), f"items[{i}][price]"),
                item.int("quantity", 1, minimum=0) or 1,
            )
        )
    currency = specs[0][0]["currency"]
    if any(price["currency"] != currency for price, _ in specs):
        raise invalid_request(
            "All prices on a subscription must have the same `currency`.", param="items"
        )
    trial_end = _trial_end(p, now)
    redemptions = discounts.parse(ctx, p.list("discounts") or [], currency=currency, current=[])
    sub_id = ctx.new_id("sub")
    first = specs[0][0]["recurring"]
    period_end = trial_end or subscriptions.add_interval(
        now, first.get("interval", "month"), int(first.get("interval_count") or 1), now
    )
    items = [
        subscriptions.new_item(ctx, sub_id, price, qty, now, period_end) for price, qty in specs
    ]
    sub = _build(ctx, p, customer, sub_id, items, currency, trial_end, period_end)
    sub["discounts"], redeemed = discounts.redeem(
        ctx, redemptions, customer=customer["id"], subscription=sub_id
    )
    ctx.store.insert(sub)
    ctx.emit("customer.subscription.created", sub)
    discounts.announce(ctx, redeemed)
    invoice = subscriptions.bill_period(ctx, sub, "subscription_create", trial=bool(trial_end))
    if trial_end:
        _zero_for_trial(invoice)
    invoices.finalize(ctx, invoice)
    subscriptions.schedule_cycle(ctx, sub)
    if not trial_end:
        _collect_first(ctx, sub, invoice, p)
    return sub


def _zero_for_trial(invoice: Obj) -> None:
    """A trial's first invoice is for zero (and so is paid at once on finalisation)."""
    for line in invoice["lines"]["data"]:
        line["amount"] = line["subtotal"] = 0
        line["description"] = (
            "Trial period for " + line["description"].split("× ", 1)[-1].split(" (at")[0]
        )
    for key in (
        "amount_due",
        "amount_remaining",
        "subtotal",
        "subtotal_excluding_tax",
        "total",
        "total_excluding_tax",
    ):
        invoice[key] = 0


def _build(
    ctx: Ctx,
    p: Params,
    customer: Obj,
    sub_id: str,
    items: list[Obj],
    currency: str,
    trial_end: int | None,
    period_end: int,
) -> Obj:
    now = ctx.now()
    collection_method = p.str("collection_method", "charge_automatically")
    if collection_method not in ("charge_automatically", "send_invoice"):
        raise invalid_request("Invalid collection_method", param="collection_method")
    missing_pm = "create_invoice"
    trial_settings = p.sub("trial_settings")
    if trial_settings is not None:
        end = trial_settings.sub("end_behavior")
        if end is not None:
            missing_pm = end.str("missing_payment_method", "create_invoice") or "create_invoice"
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": period_end if trial_end else now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": p.int("cancel_at"),
        "cancel_at_period_end": bool(p.bool("cancel_at_period_end", False)),
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": collection_method,
        "created": now,
        "currency": currency,
        "customer": customer["id"],
        "days_until_due": p.int("days_until_due") if collection_method == "send_invoice" else None,
        "default_payment_method": payment_method_ref(
            ctx, p.nullable_str("default_payment_method"), "default_payment_method", customer["id"]
        ),
        "default_source": None,
        "default_tax_rates": [],
        "description": p.nullable_str("description"),
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [clone(i) for i in items],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": parse_metadata(p),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "trialing" if trial_end else "incomplete",
        "test_clock": customer.get("test_clock"),
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": missing_pm}},
        "trial_start": now if trial_end else None,
    }


def _trial_end(p: Params, now: int) -> int | None:
    days = p.int("trial_period_days", minimum=0, maximum=730)
    raw_end = p.raw("trial_end")
    if raw_end not in (None, "", "now"):
        end = p.int("trial_end")
        if end is not None and end <= now:
            raise invalid_request(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="trial_end",
            )
        return end
    return now + days * DAY if days else None


def _collect_first(ctx: Ctx, sub: Obj, invoice: Obj, p: Params) -> None:
    if invoice["status"] == "paid":
        subscriptions.set_status(ctx, sub, "active")
        return
    if sub["collection_method"] == "send_invoice":
        subscriptions.set_status(ctx, sub, "active")
        return
    behavior = p.str("payment_behavior", "allow_incomplete")
    if behavior not in (
        "allow_incomplete",
        "default_incomplete",
        "error_if_incomplete",
        "pending_if_incomplete",
    ):
        raise invalid_request(f"Invalid payment_behavior: {behavior}", param="payment_behavior")
    result = None
    if behavior != "default_incomplete":
        # default_incomplete leaves the first invoice for the customer to pay (hosted page).
        result = collection.attempt(
            ctx, invoice, automatic=True, off_session=bool(p.bool("off_session", True))
        )
    if result is not None and result.succeeded:
        return  # collection moved the subscription to active
    if behavior == "error_if_incomplete" and result is not None:
        intent = invoices.intent_of(ctx, invoice) or {}
        pm = ctx.store.get(str(intent.get("payment_method"))) or {}
        raise result.error(intent, pm)
    ctx.state.timers.schedule(
        ctx.account.id,
        ctx.clock,
        ctx.now() + 23 * 3600,
        "subscription.incomplete_expire",
        f"sub.incomplete_expire:{sub['id']}",
        {"subscription": sub["id"]},
    )
