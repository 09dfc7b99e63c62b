"""Collecting an open invoice: payment attempts, Smart-Retries-like schedule, end states.

Every attempt (automatic, ``POST /v1/invoices/{id}/pay``, a card update in the portal)
goes through :func:`attempt`. After an automatic failure the next retry is scheduled on the
customer's clock; codes Smart Retries never retries get no retry. When the retry window
closes with the invoice still open, the account's end state is applied: the subscription is
canceled, marked unpaid or left past_due, and the invoice is left open or marked
uncollectible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.billing import invoices, payments
from sandbox.billing.declines import retryable
from sandbox.billing.payments import Attempt
from sandbox.billing.settings import settings_for
from sandbox.errors import invalid_request
from sandbox.timers import Timer, timer_handler

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]


def default_payment_method(ctx: Ctx, invoice: Obj) -> Obj | None:
    """Invoice's, then subscription's, then customer's default payment method — only one
    still attached to the invoice's customer is ever charged (a detached card never is)."""
    candidates: list[Any] = [invoice.get("default_payment_method")]
    sub_id = invoices.subscription_of(invoice)
    sub = ctx.store.get(sub_id) if sub_id else None
    if sub is not None:
        candidates.append(sub.get("default_payment_method"))
    customer = ctx.store.get(str(invoice.get("customer"))) or {}
    candidates.append((customer.get("invoice_settings") or {}).get("default_payment_method"))
    for candidate in candidates:
        pm_id = candidate.get("id") if isinstance(candidate, dict) else candidate
        if isinstance(pm_id, str):
            pm = ctx.store.get(pm_id)
            if pm is not None and pm.get("customer") == invoice.get("customer"):
                return pm
    return None


def attempt(
    ctx: Ctx,
    invoice: Obj,
    payment_method: Obj | None = None,
    *,
    automatic: bool,
    off_session: bool = True,
) -> Attempt | None:
    """One payment attempt on an open invoice; returns None when there was nothing to charge."""
    if invoice["status"] not in ("open", "uncollectible"):
        raise invalid_request(f"Invoice is already {invoice['status']}.", param="invoice")
    ctx.use_customer(str(invoice["customer"]))
    pm = payment_method or default_payment_method(ctx, invoice)
    intent = invoices.intent_of(ctx, invoice)
    if intent is None:
        return None
    before = invoices.snapshot(invoice)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if pm is None:
        _record_failure(ctx, invoice, None, automatic=automatic, before=before)
        return None
    result = payments.confirm(ctx, intent, pm, off_session=off_session)
    if result.succeeded:
        invoices.mark_paid(ctx, invoice, result.charge, before=before)
        _after_paid(ctx, invoice)
    else:
        _record_failure(ctx, invoice, result, automatic=automatic, before=before)
    return result


def _record_failure(
    ctx: Ctx, invoice: Obj, result: Attempt | None, *, automatic: bool, before: Obj
) -> None:
    """Schedule the next automatic retry (or none) and announce the failure."""
    now = ctx.now()
    hidden = ctx.store.hidden_of(invoice["id"])
    settings = settings_for(ctx.store.hidden)
    first = int(hidden.setdefault("first_failure_at", now))
    if automatic:
        if hidden.pop("retry_pending", False):
            hidden["retries_done"] = int(hidden.get("retries_done", 0)) + 1
        offsets = settings.retry_offsets()
        done = int(hidden.get("retries_done", 0))
        next_at: int | None = None
        # Stripe does not retry a first invoice (the subscription goes incomplete instead),
        # a hard decline, or when there is no payment method to retry with.
        if (
            invoice["billing_reason"] != "subscription_create"
            and result is not None
            and will_retry(result)
            and done < len(offsets)
        ):
            next_at = max(first + offsets[done], now + 60)
        invoice["next_payment_attempt"] = next_at
        if next_at is not None:
            hidden["retry_pending"] = True
            ctx.state.timers.schedule(
                ctx.account.id,
                ctx.clock,
                next_at,
                "invoice.retry",
                f"invoice.retry:{invoice['id']}",
                {"invoice": invoice["id"]},
            )
        else:
            ctx.state.timers.cancel(ctx.account.id, f"invoice.retry:{invoice['id']}")
        if (
            not hidden.get("exhaustion_scheduled")
            and invoice["billing_reason"] != "subscription_create"
        ):
            hidden["exhaustion_scheduled"] = True
            window_end = first + max([*offsets, 0])
            ctx.state.timers.schedule(
                ctx.account.id,
                ctx.clock,
                max(window_end, now),
                "invoice.exhausted",
                f"invoice.exhausted:{invoice['id']}",
                {"invoice": invoice["id"]},
            )
    ctx.store.save(invoice)
    _set_delinquent(ctx, str(invoice["customer"]), True)
    invoices.emit_updated(ctx, invoice, before)
    ctx.emit("invoice.payment_failed", invoice)
    if result is not None and result.behaviour.requires_action:
        ctx.emit("invoice.payment_action_required", invoice)
    _after_failed(ctx, invoice)


def will_retry(result: Attempt) -> bool:
    """Whether the automatic schedule tries this failure again: not a decline code Smart
    Retries never retries, not a charge whose outcome says ``do_not_try_again`` (fraudulent,
    lost, stolen cards), and not one Radar blocked."""
    outcome = result.charge.get("outcome") or {}
    if outcome.get("type") == "blocked" or outcome.get("advice_code") == "do_not_try_again":
        return False
    return retryable(result.behaviour.decline_code)


def _set_delinquent(ctx: Ctx, customer_id: str, delinquent: bool) -> None:
    """Stripe flags a customer ``delinquent`` while an invoice payment has failed."""
    customer = ctx.store.get(customer_id)
    if customer is None or customer.get("delinquent") == delinquent:
        return
    previous = {"delinquent": customer.get("delinquent")}
    customer["delinquent"] = delinquent
    ctx.store.save(customer)
    ctx.emit("customer.updated", customer, previous)


def _unpaid_invoices(ctx: Ctx, customer_id: str) -> bool:
    index = ctx.store.index_for("invoice", "customer", customer_id)
    return any(
        ctx.store.objects[key[2]]["status"] == "open" and ctx.store.objects[key[2]]["attempted"]
        for key in index.keys
    )


def _after_paid(ctx: Ctx, invoice: Obj) -> None:
    from sandbox.billing import subscriptions

    if not _unpaid_invoices(ctx, str(invoice["customer"])):
        _set_delinquent(ctx, str(invoice["customer"]), False)
    sub_id = invoices.subscription_of(invoice)
    sub = ctx.store.get(sub_id) if sub_id else None
    if sub is None or sub["status"] not in ("past_due", "unpaid", "incomplete"):
        return
    if sub.get("latest_invoice") == invoice["id"] or not _other_open_invoices(ctx, sub, invoice):
        subscriptions.set_status(ctx, sub, "active")


def _after_failed(ctx: Ctx, invoice: Obj) -> None:
    from sandbox.billing import subscriptions

    sub_id = invoices.subscription_of(invoice)
    sub = ctx.store.get(sub_id) if sub_id else None
    if sub is None:
        return
    if (
        sub["status"] in ("active", "trialing")
        and invoice["billing_reason"] != "subscription_create"
    ):
        subscriptions.set_status(ctx, sub, "past_due")


def _other_open_invoices(ctx: Ctx, sub: Obj, paid: Obj) -> bool:
    index = ctx.store.index_for("invoice", "customer", str(sub["customer"]))
    for key in index.keys:
        other = ctx.store.objects[key[2]]
        if (
            other["id"] != paid["id"]
            and other["status"] == "open"
            and invoices.subscription_of(other) == sub["id"]
        ):
            return True
    return False


def stop_automatic_collection(ctx: Ctx, customer_id: str) -> None:
    """No more automatic attempts on the customer's invoices (its customer is going away):
    open invoices lose ``next_payment_attempt`` and ``auto_advance``, drafts are not
    finalised; each change is announced with ``invoice.updated``."""
    account = ctx.account.id
    for key in list(ctx.store.index_for("invoice", "customer", customer_id).keys):
        invoice = ctx.store.objects[key[2]]
        if invoice["status"] not in ("draft", "open"):
            continue
        for kind in ("retry", "exhausted", "finalize"):
            ctx.state.timers.cancel(account, f"invoice.{kind}:{invoice['id']}")
        changes = {"auto_advance": False, "next_payment_attempt": None}
        if invoice["status"] == "draft":
            changes["automatically_finalizes_at"] = None
        previous = {k: invoice.get(k) for k, v in changes.items() if invoice.get(k) != v}
        if previous:
            invoice.update(changes)
            ctx.store.save(invoice)
            ctx.emit("invoice.updated", invoice, previous)


@timer_handler("invoice.retry")
def _retry(ctx: Ctx, timer: Timer) -> None:
    invoice = ctx.store.get(timer.payload["invoice"])
    if invoice is None or invoice["status"] != "open":
        return
    sub_id = invoices.subscription_of(invoice)
    sub = ctx.store.get(sub_id) if sub_id else None
    if sub is not None and sub["status"] in ("canceled", "incomplete_expired"):
        return
    attempt(ctx, invoice, automatic=True)


@timer_handler("invoice.exhausted")
def _exhausted(ctx: Ctx, timer: Timer) -> None:
    """The retry window closed: apply the account's end state if the invoice is still open."""
    from sandbox.billing import subscriptions

    invoice = ctx.store.get(timer.payload["invoice"])
    if invoice is None or invoice["status"] != "open":
        return
    if invoice.get("next_payment_attempt") is not None:
        # A retry is still ahead (the schedule was changed): check again after it.
        ctx.state.timers.schedule(
            ctx.account.id,
            ctx.clock,
            int(invoice["next_payment_attempt"]) + 1,
            "invoice.exhausted",
            timer.key,
            timer.payload,
        )
        return
    settings = settings_for(ctx.store.hidden)
    sub_id = invoices.subscription_of(invoice)
    sub = ctx.store.get(sub_id) if sub_id else None
    if settings.invoice_end_state == "uncollectible":
        invoices.mark_uncollectible(ctx, invoice)
    if sub is None or sub["status"] in ("canceled", "incomplete", "incomplete_expired"):
        return
    if settings.subscription_end_state == "canceled":
        subscriptions.cancel(ctx, sub, reason="payment_failed")
    elif settings.subscription_end_state == "unpaid":
        subscriptions.set_status(ctx, sub, "unpaid")
