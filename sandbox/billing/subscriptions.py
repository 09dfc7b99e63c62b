"""Subscriptions: creation, renewals on the customer's clock, status changes, cancellation.

Periods live on the items (``items.data[].current_period_start/end``), the 2025+ shape.
Renewals, trial ends, ``invoice.upcoming`` reminders and ``cancel_at`` run as timers on the
customer's test clock (or the sandbox clock), so advancing a clock replays them in order.
"""

from __future__ import annotations

import calendar
import datetime
from typing import TYPE_CHECKING, Any

from sandbox.billing import collection, discounts, invoice_items, invoices
from sandbox.billing.invoices import LineSpec
from sandbox.billing.settings import DAY, settings_for
from sandbox.errors import resource_missing
from sandbox.objects import clone
from sandbox.payment_methods import PAYMENT_METHOD_DETACHED
from sandbox.resources.customers import CUSTOMER_DELETED
from sandbox.store import register_index
from sandbox.timers import Timer, timer_handler

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]

register_index("subscription", "customer")
register_index("subscription", "status")
register_index("subscription_item", "subscription")


def get_subscription(ctx: Ctx, sub_id: str, param: str = "id") -> Obj:
    """The subscription or Stripe's 404."""
    sub = ctx.store.get(sub_id)
    if sub is None or sub["object"] != "subscription":
        raise resource_missing("subscription", sub_id, param)
    return sub


def add_interval(ts: int, interval: str, count: int, anchor: int) -> int:
    """``ts`` moved by ``count`` intervals, keeping the anchor's day of month (clamped)."""
    if interval == "day":
        return ts + count * DAY
    if interval == "week":
        return ts + count * 7 * DAY
    months = count * (12 if interval == "year" else 1)
    start = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    anchor_day = datetime.datetime.fromtimestamp(anchor, datetime.UTC).day
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def plan_from_price(price: Obj) -> Obj:
    recurring = price.get("recurring") or {}
    amount = price.get("unit_amount")
    return {
        "id": price["id"],
        "object": "plan",
        "active": bool(price.get("active", True)),
        "amount": amount,
        "amount_decimal": str(amount) if amount is not None else None,
        "billing_scheme": price.get("billing_scheme") or "per_unit",
        "created": price.get("created", 0),
        "currency": price["currency"],
        "interval": recurring.get("interval", "month"),
        "interval_count": int(recurring.get("interval_count") or 1),
        "livemode": False,
        "metadata": dict(price.get("metadata") or {}),
        "meter": None,
        "nickname": price.get("nickname"),
        "product": price.get("product"),
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": recurring.get("usage_type") or "licensed",
    }


def new_item(ctx: Ctx, sub_id: str, price: Obj, quantity: int, start: int, end: int) -> Obj:
    item = {
        "id": ctx.new_id("si"),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": ctx.now(),
        "current_period_end": end,
        "current_period_start": start,
        "discounts": [],
        "metadata": {},
        "plan": plan_from_price(price),
        "price": clone(price),
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }
    ctx.store.insert(item)
    return item


def items_of(sub: Obj) -> list[Obj]:
    return list(sub["items"]["data"])


def period_end(sub: Obj) -> int:
    return int(sub["items"]["data"][0]["current_period_end"])


def period_start(sub: Obj) -> int:
    return int(sub["items"]["data"][0]["current_period_start"])


def sync_items(ctx: Ctx, sub: Obj) -> None:
    """Stored subscription_item objects mirror the copies embedded in the subscription."""
    for item in sub["items"]["data"]:
        stored = ctx.store.get(item["id"])
        if stored is not None:
            stored.update(clone(item))
            ctx.store.save(stored)


def set_status(ctx: Ctx, sub: Obj, status: str, **extra: Any) -> None:
    """Change status (and any other top-level fields) with one ``updated`` event."""
    changes = {"status": status, **extra}
    previous = {k: clone(sub.get(k)) for k, v in changes.items() if sub.get(k) != v}
    if not previous:
        return
    sub.update(changes)
    ctx.store.save(sub)
    ctx.emit("customer.subscription.updated", sub, previous)
    if status == "paused" and previous.get("status") != "paused":
        ctx.emit("customer.subscription.paused", sub)
    if previous.get("status") == "paused" and status != "paused":
        ctx.emit("customer.subscription.resumed", sub)


def schedule_cycle(ctx: Ctx, sub: Obj) -> None:
    """Timers for the current period's end: renewal, ``invoice.upcoming``, trial reminder."""
    account = ctx.account.id
    timers = ctx.state.timers
    end = period_end(sub)
    settings = settings_for(ctx.store.hidden)
    timers.schedule(
        account,
        ctx.clock,
        end,
        "subscription.cycle",
        f"sub.cycle:{sub['id']}",
        {"subscription": sub["id"]},
    )
    upcoming_at = end - settings.upcoming_days * DAY
    if upcoming_at > ctx.now() and not sub.get("cancel_at_period_end"):
        timers.schedule(
            account,
            ctx.clock,
            upcoming_at,
            "subscription.upcoming",
            f"sub.upcoming:{sub['id']}",
            {"subscription": sub["id"], "period_end": end},
        )
    if sub["status"] == "trialing" and sub.get("trial_end"):
        reminder = int(sub["trial_end"]) - 3 * DAY
        if reminder > ctx.now():
            timers.schedule(
                account,
                ctx.clock,
                reminder,
                "subscription.trial_will_end",
                f"sub.trial_will_end:{sub['id']}",
                {"subscription": sub["id"]},
            )


def cancel(
    ctx: Ctx,
    sub: Obj,
    *,
    reason: str = "cancellation_requested",
    comment: str | None = None,
    feedback: str | None = None,
) -> Obj:
    """Cancel now: ``customer.subscription.deleted``; open invoices stop being retried."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        return sub
    now = ctx.now()
    sub["status"] = "canceled" if sub["status"] != "incomplete" else "incomplete_expired"
    sub["canceled_at"] = now
    sub["ended_at"] = now
    sub["cancellation_details"] = {"comment": comment, "feedback": feedback, "reason": reason}
    ctx.store.save(sub)
    for kind in ("cycle", "upcoming", "trial_will_end", "cancel_at", "resume"):
        ctx.state.timers.cancel(ctx.account.id, f"sub.{kind}:{sub['id']}")
    _stop_retries(ctx, sub)
    ctx.emit("customer.subscription.deleted", sub)
    return sub


def _customer_deleted(ctx: Ctx, customer: Obj) -> None:
    """Stripe cancels a deleted customer's subscriptions at once and stops collecting."""
    index = ctx.store.index_for("subscription", "customer", str(customer["id"]))
    for key in list(index.keys):
        cancel(ctx, ctx.store.objects[key[2]], reason="cancellation_requested")
    collection.stop_automatic_collection(ctx, str(customer["id"]))


CUSTOMER_DELETED.append(_customer_deleted)


def _ref(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _payment_method_detached(ctx: Ctx, pm: Obj, customer: Obj) -> None:
    """A detached card is nobody's default any more: Stripe clears the subscriptions' and
    the unpaid invoices' ``default_payment_method`` that named it."""
    store = ctx.store
    for key in list(store.index_for("subscription", "customer", str(customer["id"])).keys):
        sub = store.objects[key[2]]
        if _ref(sub.get("default_payment_method")) == pm["id"]:
            previous = {"default_payment_method": sub["default_payment_method"]}
            sub["default_payment_method"] = None
            store.save(sub)
            ctx.emit("customer.subscription.updated", sub, previous)
    for key in list(store.index_for("invoice", "customer", str(customer["id"])).keys):
        invoice = store.objects[key[2]]
        if invoice["status"] in ("draft", "open") and (
            _ref(invoice.get("default_payment_method")) == pm["id"]
        ):
            previous = {"default_payment_method": invoice["default_payment_method"]}
            invoice["default_payment_method"] = None
            store.save(invoice)
            ctx.emit("invoice.updated", invoice, previous)


PAYMENT_METHOD_DETACHED.append(_payment_method_detached)


def _stop_retries(ctx: Ctx, sub: Obj) -> None:
    index = ctx.store.index_for("invoice", "customer", str(sub["customer"]))
    for key in index.keys:
        invoice = ctx.store.objects[key[2]]
        if invoices.subscription_of(invoice) != sub["id"] or invoice["status"] != "open":
            continue
        if invoice["next_payment_attempt"] is not None:
            invoice["next_payment_attempt"] = None
            ctx.store.save(invoice)
        ctx.state.timers.cancel(ctx.account.id, f"invoice.retry:{invoice['id']}")
        ctx.state.timers.cancel(ctx.account.id, f"invoice.exhausted:{invoice['id']}")


def bill_period(
    ctx: Ctx,
    sub: Obj,
    reason: str,
    previous_period: tuple[int, int] | None = None,
    *,
    announce: bool = True,
    trial: bool = False,
) -> Obj:
    """Invoice the items for their current period (draft; the caller decides finalisation),
    with the customer's pending invoice items, less the subscription's active discounts —
    neither for a ``trial``'s $0 first invoice.

    As on Stripe, a renewal invoice's own ``period_start/end`` is the period that just
    ended (``previous_period``); a first invoice's is its creation instant.
    """
    customer = ctx.store.objects[str(sub["customer"])]
    specs = [
        LineSpec(
            item["price"],
            int(item.get("quantity") or 1),
            item["current_period_start"],
            item["current_period_end"],
            item["id"],
        )
        for item in items_of(sub)
    ]
    invoice = invoices.create(
        ctx,
        customer=customer,
        lines=specs,
        billing_reason=reason,
        subscription=sub,
        period_start=previous_period[0] if previous_period else ctx.now(),
        period_end=previous_period[1] if previous_period else ctx.now(),
        currency=sub["currency"],
        discounts=None if trial else discounts.active(ctx, list(sub["discounts"]), ctx.now()),
        items=None if trial else invoice_items.pending(ctx, customer["id"], sub["currency"]),
    )
    previous = {"latest_invoice": sub.get("latest_invoice")}
    sub["latest_invoice"] = invoice["id"]
    ctx.store.save(sub)
    if announce and reason != "subscription_create":
        ctx.emit("customer.subscription.updated", sub, previous)
    return invoice


def _advance_period(ctx: Ctx, sub: Obj) -> dict[str, Any]:
    """Move every item to its next period; returns previous_attributes for the event."""
    previous_items = clone(sub["items"])
    for item in sub["items"]["data"]:
        plan = item["plan"]
        start = int(item["current_period_end"])
        item["current_period_start"] = start
        item["current_period_end"] = add_interval(
            start, plan["interval"], int(plan["interval_count"]), int(sub["billing_cycle_anchor"])
        )
    sync_items(ctx, sub)
    return {"items": previous_items}


@timer_handler("subscription.cycle")
def _cycle(ctx: Ctx, timer: Timer) -> None:
    sub = ctx.store.get(timer.payload["subscription"])
    if sub is None or sub["status"] in ("canceled", "incomplete_expired", "incomplete", "paused"):
        return
    if ctx.store.get(str(sub["customer"])) is None:
        # The customer was deleted: Stripe cancels its subscriptions.
        cancel(ctx, sub, reason="cancellation_requested")
        return
    if sub.get("cancel_at_period_end") or (
        sub.get("cancel_at") and int(sub["cancel_at"]) <= ctx.now()
    ):
        cancel(ctx, sub, reason="cancellation_requested")
        return
    ending_trial = sub["status"] == "trialing"
    ended = (period_start(sub), period_end(sub))
    previous = _advance_period(ctx, sub)
    if ending_trial:
        customer = ctx.store.objects[str(sub["customer"])]
        has_pm = bool(
            sub.get("default_payment_method")
            or (customer.get("invoice_settings") or {}).get("default_payment_method")
        )
        behaviour = ((sub.get("trial_settings") or {}).get("end_behavior") or {}).get(
            "missing_payment_method"
        )
        if not has_pm and behaviour in ("pause", "cancel"):
            ctx.store.save(sub)
            if behaviour == "cancel":
                cancel(ctx, sub, reason="cancellation_requested")
            else:
                set_status(ctx, sub, "paused")
            return
        previous["status"] = "trialing"
        sub["status"] = "active"
    previous["latest_invoice"] = sub.get("latest_invoice")
    ended_discounts = discounts.expire(ctx, sub)
    if ended_discounts is not None:
        previous["discounts"] = ended_discounts
    invoice = bill_period(ctx, sub, "subscription_cycle", ended, announce=False)
    # One event for the renewal: the new period and the new latest invoice, as on Stripe.
    ctx.emit("customer.subscription.updated", sub, previous)
    schedule_cycle(ctx, sub)
    pause = sub.get("pause_collection")
    if sub["status"] == "unpaid":
        # Stripe keeps invoicing an unpaid subscription but leaves the invoices as drafts.
        invoice["auto_advance"] = False
        ctx.store.save(invoice)
        return
    if isinstance(pause, dict):
        behaviour = pause.get("behavior")
        if behaviour == "void":
            invoices.finalize(ctx, invoice)
            if invoice["status"] == "open":
                invoices.void(ctx, invoice)
        elif behaviour == "mark_uncollectible":
            invoice["auto_advance"] = False
            invoices.finalize(ctx, invoice)
            if invoice["status"] == "open":
                invoices.mark_uncollectible(ctx, invoice)
        else:
            invoice["auto_advance"] = False
            ctx.store.save(invoice)
        return
    settings = settings_for(ctx.store.hidden)
    invoice["automatically_finalizes_at"] = ctx.now() + settings.finalize_after_seconds
    ctx.store.save(invoice)
    ctx.state.timers.schedule(
        ctx.account.id,
        ctx.clock,
        ctx.now() + settings.finalize_after_seconds,
        "invoice.finalize",
        f"invoice.finalize:{invoice['id']}",
        {"invoice": invoice["id"]},
    )


@timer_handler("invoice.finalize")
def _finalize(ctx: Ctx, timer: Timer) -> None:
    """Stripe finalises a renewal draft about an hour after creating it, then charges it."""
    invoice = ctx.store.get(timer.payload["invoice"])
    if invoice is None or invoice["status"] != "draft" or not invoice.get("auto_advance"):
        return
    invoices.finalize(ctx, invoice)
    if invoice["status"] == "open" and invoice["collection_method"] == "charge_automatically":
        collection.attempt(ctx, invoice, automatic=True)


@timer_handler("subscription.upcoming")
def _upcoming(ctx: Ctx, timer: Timer) -> None:
    sub = ctx.store.get(timer.payload["subscription"])
    if (
        sub is None
        or sub["status"] in ("canceled", "incomplete_expired")
        or sub.get("cancel_at_period_end")
    ):
        return
    if period_end(sub) != timer.payload.get("period_end"):
        return
    ctx.emit("invoice.upcoming", preview(ctx, sub))


def preview(ctx: Ctx, sub: Obj) -> Obj:
    """The next renewal invoice as Stripe previews it (id ``upcoming_in_...``, not stored)."""
    customer = ctx.store.objects[str(sub["customer"])]
    start = period_end(sub)
    specs = []
    for item in items_of(sub):
        plan = item["plan"]
        end = add_interval(
            start, plan["interval"], int(plan["interval_count"]), int(sub["billing_cycle_anchor"])
        )
        specs.append(
            LineSpec(item["price"], int(item.get("quantity") or 1), start, end, item["id"])
        )
    draft = invoices.build(
        ctx,
        customer=customer,
        lines=specs,
        billing_reason="upcoming",
        subscription=sub,
        period_start=start,
        period_end=start,
        currency=sub["currency"],
        invoice_id=f"upcoming_{ctx.new_id('in')}",
        discounts=discounts.active(ctx, list(sub.get("discounts") or []), start),
        items=invoice_items.pending(ctx, customer["id"], sub["currency"]),
    )
    draft["created"] = start
    return draft


@timer_handler("subscription.trial_will_end")
def _trial_will_end(ctx: Ctx, timer: Timer) -> None:
    sub = ctx.store.get(timer.payload["subscription"])
    if sub is not None and sub["status"] == "trialing":
        ctx.emit("customer.subscription.trial_will_end", sub)


@timer_handler("subscription.resume")
def _resume_collection(ctx: Ctx, timer: Timer) -> None:
    sub = ctx.store.get(timer.payload["subscription"])
    if sub is None or not sub.get("pause_collection"):
        return
    previous = {"pause_collection": clone(sub["pause_collection"])}
    sub["pause_collection"] = None
    ctx.store.save(sub)
    ctx.emit("customer.subscription.updated", sub, previous)


@timer_handler("subscription.incomplete_expire")
def _incomplete_expire(ctx: Ctx, timer: Timer) -> None:
    """An incomplete subscription whose first invoice stayed unpaid for 23 hours expires."""
    sub = ctx.store.get(timer.payload["subscription"])
    if sub is None or sub["status"] != "incomplete":
        return
    latest = ctx.store.get(str(sub.get("latest_invoice")))
    if latest is not None and latest["status"] == "open":
        invoices.void(ctx, latest)
    previous = {"status": "incomplete"}
    sub["status"] = "incomplete_expired"
    sub["ended_at"] = ctx.now()
    ctx.store.save(sub)
    for kind in ("cycle", "upcoming", "trial_will_end"):
        ctx.state.timers.cancel(ctx.account.id, f"sub.{kind}:{sub['id']}")
    ctx.emit("customer.subscription.updated", sub, previous)
