"""Win-back: after a subscription ends for non-payment, invite the customer back.

A win-back is a `Case` of kind `winback` keyed by the ended subscription (its `invoice_id`
holds the subscription id), so the engine runs it like any case: steps due in the customer's
time, the workspace's on/off and pause switches, operator pause/cancel, the suppression list
(through the email service). Its emails link to `/r/{token}`, which at click time opens a Stripe
Checkout Session for the same prices. A new active subscription for the customer, or a completed
Checkout Session, closes it as recovered.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.runtime import Runtime
from plugins.recovery import gateway
from plugins.recovery.cases import (
    ACTIVE,
    _id,
    cancel_pending,
    enqueue_due_steps,
    settings_for,
)
from plugins.recovery.lookup import _as_dict
from plugins.recovery.models import Case, CaseKind, CaseStatus, CaseStep, StepStatus
from plugins.recovery.sequences import WINBACK, current_version, plan

log = logging.getLogger(__name__)
# What a win-back case says about itself where a decline category would be.
CATEGORY = "winback"
# The closing reason a final action that cancelled the subscription leaves on its case.
CANCELLED_BY_US = "cancelled by SecondLoop"
# A comeback counts for a win-back opened at most this long before it.
COMEBACK_WINDOW = timedelta(days=90)


def amount_of(subscription: dict[str, Any]) -> tuple[int, str]:
    """What the subscription charged per period (items with their prices expanded)."""
    total, currency = 0, ""
    for item in _as_dict(subscription.get("items")).get("data", []):
        item = _as_dict(item)
        price = _as_dict(item.get("price"))
        total += int(price.get("unit_amount") or 0) * int(item.get("quantity") or 1)
        currency = currency or str(price.get("currency") or "")
    return total, currency or str(subscription.get("currency") or "usd")


async def start_from_subscription(
    runtime: Runtime, stripe_account_id: str, subscription: dict[str, Any], now: datetime
) -> Case | None:
    """Start the win-back of an ended subscription (a `customer.subscription.deleted`)."""
    sub_id = _id(subscription)
    customer_id = _id(subscription.get("customer"))
    amount, currency = amount_of(subscription)
    details: dict[str, Any] = {
        "customer_id": customer_id,
        "amount": amount,
        "currency": currency,
        "test_clock": _id(subscription.get("test_clock")),
    }
    dunned = (
        await Case.filter(
            stripe_account_id=stripe_account_id, subscription_id=sub_id, kind=CaseKind.DUNNING
        )
        .order_by("-id")
        .first()
    )
    if dunned is not None and dunned.customer_email:
        details.update(customer_email=dunned.customer_email, customer_name=dunned.customer_name)
    return await start(runtime, stripe_account_id, sub_id, details, now)


async def start_from_case(runtime: Runtime, case: Case, now: datetime) -> Case | None:
    """Start the win-back after a case's final action cancelled its subscription."""
    details = {
        "customer_id": case.customer_id,
        "customer_email": case.customer_email,
        "customer_name": case.customer_name,
        "amount": case.amount,
        "currency": case.currency,
        "test_clock": case.test_clock,
    }
    return await start(runtime, case.stripe_account_id, case.subscription_id, details, now)


async def _customer(runtime: Runtime, stripe_account_id: str, customer_id: str) -> dict[str, Any]:
    access = await gateway.access_for(runtime, stripe_account_id)
    return _as_dict(
        await access.client.v1.customers.retrieve_async(customer_id, options=access.options())
    )


async def start(
    runtime: Runtime,
    stripe_account_id: str,
    subscription_id: str,
    details: dict[str, Any],
    now: datetime,
) -> Case | None:
    """Open THE win-back of `subscription_id` (once: a second call returns the first)."""
    settings = await settings_for()
    if not (settings.enabled and settings.winback_enabled) or not subscription_id:
        return None
    existing = await Case.get_or_none(
        stripe_account_id=stripe_account_id, invoice_id=subscription_id
    )
    if existing is not None:
        return existing
    if not details.get("customer_email") and details.get("customer_id"):
        customer = await _customer(runtime, stripe_account_id, details["customer_id"])
        details["customer_email"] = str(customer.get("email") or "")
        details["customer_name"] = str(customer.get("name") or "")
    version = await current_version(WINBACK)
    steps = [
        {**spec, "day": 0, "hours": settings.winback_first_hours}
        if spec.get("first_delay_setting")
        else spec
        for spec in version.steps
    ]
    try:
        async with in_transaction():
            case = await Case.create(
                stripe_account_id=stripe_account_id,
                invoice_id=subscription_id,
                subscription_id=subscription_id,
                kind=CaseKind.WINBACK,
                category=CATEGORY,
                sequence_version=version,
                opened_at=now,
                last_event_at=now,
                **{k: v for k, v in details.items() if v is not None},
            )
            for planned in plan(steps, now):
                await CaseStep.create(
                    case=case,
                    index=planned.index,
                    type=planned.type,
                    config=planned.config,
                    due_at=planned.due_at,
                    idempotency_key=f"recovery:{case.workspace_id}:{case.id}:{planned.index}",
                )
    except IntegrityError:  # the deleted event and the final action raced: one win-back
        return await Case.get(stripe_account_id=stripe_account_id, invoice_id=subscription_id)
    await enqueue_due_steps(runtime, case, now)
    return case


async def credited_step(case: Case) -> str:
    """The comeback's credit: the last email whose link was followed, else the last sent
    (never the step that closed the case)."""
    ran = await CaseStep.filter(case_id=case.id, status=StepStatus.DONE).order_by("-index")
    emails = [s for s in ran if s.type != "close"]
    chosen = next((s for s in emails if s.result.get("clicked_at")), emails[0] if emails else None)
    return f"{chosen.index}:{chosen.type}" if chosen else ""


async def cancelled_by_us(stripe_account_id: str, subscription_id: str) -> bool:
    """Did a case's final action cancel this subscription (done, or still running: Stripe's
    `deleted` event can overtake the step that caused it)?"""
    dunned = Case.filter(
        stripe_account_id=stripe_account_id,
        subscription_id=subscription_id,
        kind=CaseKind.DUNNING,
    )
    if await dunned.filter(closed_reason=CANCELLED_BY_US).exists():
        return True
    ids = await dunned.values_list("id", flat=True)
    return await CaseStep.filter(
        case_id__in=list(ids), type="final_action", status=StepStatus.RUNNING
    ).exists()


async def awaiting(stripe_account_id: str, customer_id: str) -> bool:
    """Does this customer have a win-back still waiting for them?"""
    return await Case.filter(
        stripe_account_id=stripe_account_id,
        customer_id=customer_id,
        kind=CaseKind.WINBACK,
        status__in=(*ACTIVE, CaseStatus.LOST),
    ).exists()


async def reactivated(
    stripe_account_id: str,
    customer_id: str,
    subscription_id: str,
    started_at: datetime,
    at: datetime,
) -> int:
    """The customer subscribed again: their win-backs are recovered, pending emails cancelled.

    Only a subscription that started after the win-back opened counts (another subscription
    of the same customer renewing is not a comeback). A win-back its sequence closed as lost
    is recovered too, as a dunning case is when its invoice is paid late.
    """
    recovered = 0
    closable = (*ACTIVE, CaseStatus.LOST)
    found = await Case.filter(
        stripe_account_id=stripe_account_id,
        customer_id=customer_id,
        kind=CaseKind.WINBACK,
        status__in=closable,
        opened_at__lte=started_at + timedelta(seconds=1),
        opened_at__gte=started_at - COMEBACK_WINDOW,
    ).exclude(subscription_id=subscription_id)
    for case in found:
        updated = await Case.filter(id=case.id, status__in=closable).update(
            status=CaseStatus.RECOVERED,
            recovered_at=at,
            recovered_amount=case.amount,
            recovered_by_step=await credited_step(case),
            time_to_recover=max(int((at - case.opened_at).total_seconds()), 0),
            closed_at=at,
            closed_reason=f"resubscribed ({subscription_id})"[:64],
        )
        if updated:
            await cancel_pending(case.id, "resubscribed")
            recovered += updated
    return recovered


async def checkout_url(
    runtime: Runtime, case: Case, step_id: int | None, success_url: str, cancel_url: str
) -> str:
    """A Checkout Session made at click time for the ended subscription's prices."""
    access = await gateway.access_for(runtime, case.stripe_account_id)
    ended = _as_dict(
        await access.client.v1.subscriptions.retrieve_async(
            case.subscription_id, options=access.options()
        )
    )
    items = []
    for item in _as_dict(ended.get("items")).get("data", []):
        item = _as_dict(item)
        items.append({"price": _id(item.get("price")), "quantity": int(item.get("quantity") or 1)})
    params: Any = {
        "mode": "subscription",
        "customer": case.customer_id,
        "line_items": items,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": f"secondloop-case-{case.id}",
        "metadata": {"secondloop_case": str(case.id), "secondloop_step": str(step_id or "")},
    }
    session = await access.client.v1.checkout.sessions.create_async(
        params=params, options=access.options()
    )
    return str(session.url)
