"""Stripe event handlers: read the event, then delegate to the case lifecycle.

Each is idempotent under duplicate and out-of-order delivery; the conditional updates in
`cases` and the ledger's unique keys carry that.
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.contributions import StripeEventHandler
from core.events.normalize import StripeEvent
from core.jobs import Uninterpretable, current_job
from core.runtime import Runtime
from plugins.recovery import cases, engine, gateway, ledger, lookup, signals, winback
from plugins.recovery.models import AttemptOutcome, AttemptSource

log = logging.getLogger(__name__)
PREFIX = "recovery."
# The customer is on-session for these: the subscription stays incomplete, nothing to dun.
FIRST_INVOICE = frozenset({"subscription_create"})


async def _now(runtime: Runtime, event: StripeEvent) -> datetime:
    """The customer's time, never earlier than the event itself.

    Handlers may run before the `test_clock.ready` that moves the core's copy of the clock
    (same delivery, later job); a test-clock event's `created` is already in the clock's time.
    """
    clock = cases._id(event.object.get("test_clock")) or None
    now = await gateway.now_for(runtime, event.account, event.customer_id, clock)
    return max(now, event.created)


async def _last_attempt(event: StripeEvent, handler: str) -> bool:
    """Is this the handler job's last try? Then a failed lookup falls back instead of raising."""
    job = current_job()
    return job is None or job.last_attempt


async def _decline(runtime: Runtime, event: StripeEvent, handler: str) -> lookup.InvoiceState:
    if event.type == "invoice.payment_action_required":
        code = "authentication_required"
        return lookup.InvoiceState("open", lookup.Decline(code=code, decline_code=code))
    try:
        return await lookup.fetch_invoice_state(runtime, event.account, event.object_id)
    except Exception:
        if not await _last_attempt(event, handler):
            raise  # let the job retry with backoff; Stripe may be down for a moment
        log.warning("decline lookup for %s failed for good; category other", event.object_id)
        return lookup.InvoiceState(str(event.object.get("status") or "open"), None)


async def payment_failed(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    invoice = event.object
    if not event.object_id.startswith("in_"):
        raise Uninterpretable("payment_failed without an invoice id")
    if invoice.get("billing_reason") in FIRST_INVOICE:
        return  # a sign-up that failed is the checkout's business, not a renewal to recover
    state = await _decline(runtime, event, PREFIX + "payment_failed")
    now = await _now(runtime, event)
    if state.status == "paid":
        await ledger.record_paid(event.account, event.object_id, now)
        return
    if state.status == "void":
        return
    if state.status == "uncollectible":
        invoice = {**invoice, "next_payment_attempt": None}  # Stripe stopped retrying it
    decline = state.decline or lookup.Decline()
    # Stripe sends invoice.payment_failed for the same attempt too: that one is counted.
    if event.type == "invoice.payment_failed":
        await ledger.record(
            event.account, event.object_id,
            key=ledger.attempt_key(
                decline.charge_id, invoice.get("attempt_count"), f"event:{event.stripe_event_id}"
            ),
            source=AttemptSource.STRIPE, at=now, outcome=AttemptOutcome.FAILED,
            code=decline.code, decline_code=decline.decline_code,
            advice_code=decline.advice_code, charge_id=decline.charge_id,
            payment_method_id=decline.payment_method_id,
        )
    await cases.open_or_update(
        runtime, stripe_account_id=event.account, invoice=invoice, decline=decline,
        event_at=event.created, now=now,
    )


async def invoice_paid(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    paid_at = gateway.unix((event.object.get("status_transitions") or {}).get("paid_at"))
    at = paid_at or await _now(runtime, event)
    await cases.recover(event.account, event.object, at)


async def invoice_voided(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    at = await _now(runtime, event)
    await cases.close_lost(
        "invoice voided", at, stripe_account_id=event.account, invoice_id=event.object_id
    )


async def invoice_uncollectible(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """Stripe stops collecting; the case goes on (emails, our retries) to its final action."""
    await cases.mark_uncollectible(event.account, event.object_id)


async def subscription_deleted(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    sub = event.object
    at = await _now(runtime, event)
    reason = str((sub.get("cancellation_details") or {}).get("reason") or "")
    # First the tombstone: a failure event of this subscription delivered later opens nothing.
    await cases.record_ended(event.account, event.object_id, event.customer_id or "", reason, at)
    await cases.close_lost(
        "subscription cancelled", at,
        stripe_account_id=event.account, subscription_id=event.object_id,
    )
    ours = await winback.cancelled_by_us(event.account, event.object_id)
    # A sign-up whose first payment never went through (`incomplete_expired`) was never a
    # customer to win back.
    if (reason == "payment_failed" or ours) and sub.get("status") == "canceled":
        await winback.start_from_subscription(runtime, event.account, sub, at)


async def subscription_started(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """A new active subscription for a customer with a win-back: they came back."""
    sub = event.object
    if sub.get("status") not in ("active", "trialing") or not event.customer_id:
        return
    if not await winback.awaiting(event.account, event.customer_id):
        return  # most subscription events: no win-back to look at, no more work
    started = gateway.unix(sub.get("start_date") or sub.get("created")) or event.created
    at = await _now(runtime, event)
    await winback.reactivated(event.account, event.customer_id, event.object_id, started, at)


async def checkout_completed(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """A completed Checkout Session in subscription mode is a comeback too."""
    session = event.object
    subscription = cases._id(session.get("subscription"))
    if session.get("mode") != "subscription" or not subscription or not event.customer_id:
        return
    if not await winback.awaiting(event.account, event.customer_id):
        return
    at = await _now(runtime, event)
    await winback.reactivated(event.account, event.customer_id, subscription, event.created, at)


async def customer_updated(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """New email or name: later emails use them. A new default card counts as a new card."""
    customer = event.object_id
    previous = event.previous_attributes or {}
    if "email" in previous or "name" in previous:
        await signals.customer_details_changed(runtime, event.account, customer)
    before = previous.get("invoice_settings")
    if isinstance(before, dict) and "default_payment_method" in before:
        after = (event.object.get("invoice_settings") or {}).get("default_payment_method")
        new = cases._id(after)
        if new and new != cases._id(before.get("default_payment_method")):
            now = await _now(runtime, event)
            await signals.payment_method_changed(runtime, event.account, customer, new, now)


async def payment_method_changed(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    customer = event.customer_id
    if not customer:
        return  # a detached or customer-less method changes no case
    now = await _now(runtime, event)
    if event.type == "payment_method.automatically_updated":
        card = event.object.get("card") or {}
        await signals.card_updated_automatically(event.account, event.object_id, card, now)
    await signals.payment_method_changed(runtime, event.account, customer, event.object_id, now)


async def dispute(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    customer = event.customer_id
    charge = cases._id(event.object.get("charge"))
    if not customer and charge:
        customer = await lookup.charge_customer(runtime, event.account, charge)
    if not customer:
        return
    at = await _now(runtime, event)
    if event.type == "charge.dispute.created":
        await signals.dispute_opened(event.account, customer, event.object_id, at)
    else:
        won = event.object.get("status") == "won"
        await signals.dispute_closed(event.account, customer, event.object_id, won, at)


async def clock_ready(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """A test clock advanced: run the steps of its customers that fell due in its time."""
    await engine.run_due_for_clock(runtime, event.account, event.object_id)


def stripe_handlers() -> list[StripeEventHandler]:
    def handler(name: str, types: list[str], func: object) -> StripeEventHandler:
        return StripeEventHandler(name=PREFIX + name, event_types=types, func=func)  # type: ignore[arg-type]

    return [
        handler(
            "payment_failed",
            ["invoice.payment_failed", "invoice.payment_action_required"],
            payment_failed,
        ),
        handler("invoice_paid", ["invoice.paid", "invoice.payment_succeeded"], invoice_paid),
        handler("invoice_voided", ["invoice.voided"], invoice_voided),
        handler(
            "invoice_uncollectible", ["invoice.marked_uncollectible"], invoice_uncollectible
        ),
        handler("subscription_deleted", ["customer.subscription.deleted"], subscription_deleted),
        handler(
            "subscription_started",
            ["customer.subscription.created", "customer.subscription.updated"],
            subscription_started,
        ),
        handler("checkout_completed", ["checkout.session.completed"], checkout_completed),
        handler("customer_updated", ["customer.updated"], customer_updated),
        handler(
            "payment_method",
            ["payment_method.attached", "payment_method.automatically_updated"],
            payment_method_changed,
        ),
        handler("dispute", ["charge.dispute.created", "charge.dispute.closed"], dispute),
        handler("clock_ready", ["test_helpers.test_clock.ready"], clock_ready),
    ]
