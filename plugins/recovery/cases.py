"""The case lifecycle: one case per failed invoice, opened once, closed once.

Every transition is a conditional UPDATE on the case's status, so duplicate and out-of-order
events settle to the same state whichever arrives first.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.jobs import enqueue
from core.runtime import Runtime
from plugins.recovery import gateway, ledger
from plugins.recovery.declines import Category, classify
from plugins.recovery.lookup import Decline
from plugins.recovery.models import (
    Case,
    CaseKind,
    CaseStatus,
    CaseStep,
    CustomerDispute,
    EndedSubscription,
    RecoverySettings,
    StepStatus,
)
from plugins.recovery.sequences import FLAGGED, current_version, plan

RUN_STEP_TASK = "recovery.run_step"
ACTIVE = (CaseStatus.OPEN, CaseStatus.PAUSED)


async def settings_for() -> RecoverySettings:
    """The current workspace's recovery settings (created, switched off, on first use)."""
    found = await RecoverySettings.first()
    if found is not None:
        return found
    try:
        return await RecoverySettings.create()
    except IntegrityError:
        found = await RecoverySettings.first()
        assert found is not None
        return found


def _id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def subscription_of(invoice: dict[str, Any]) -> str:
    """The invoice's subscription in the 2025+ shape (`parent`) or the older one."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription") or invoice.get("subscription"))


def case_fields(invoice: dict[str, Any], decline: Decline, category: Category) -> dict[str, Any]:
    next_attempt = invoice.get("next_payment_attempt")
    return {
        "customer_id": _id(invoice.get("customer")),
        "customer_email": str(invoice.get("customer_email") or ""),
        "customer_name": str(invoice.get("customer_name") or ""),
        "subscription_id": subscription_of(invoice),
        "test_clock": _id(invoice.get("test_clock")),
        "amount": int(invoice.get("amount_remaining") or invoice.get("amount_due") or 0),
        "currency": str(invoice.get("currency") or "usd"),
        "code": decline.code,
        "decline_code": decline.decline_code,
        "advice_code": decline.advice_code,
        "outcome": decline.outcome,
        "category": category.value,
        # Stripe's own retries are on when it has scheduled the next attempt.
        "stripe_retries_active": bool(invoice.get("next_payment_attempt")),
        "stripe_next_attempt_at": gateway.unix(next_attempt),
    }


async def open_or_update(
    runtime: Runtime,
    *,
    stripe_account_id: str,
    invoice: dict[str, Any],
    decline: Decline,
    event_at: datetime,
    now: datetime,
) -> Case | None:
    """Open THE case for this failed invoice, or update it (Stripe's retries), never both."""
    invoice_id = _id(invoice)
    if await ledger.is_paid(stripe_account_id, invoice_id):
        return None  # the invoice.paid came first: this failure is old news
    category = classify(
        decline.decline_code or None, decline.code or None, decline.advice_code or None,
        decline.outcome or None, host=runtime.host,
    )
    fields = case_fields(invoice, decline, category)
    case = await Case.get_or_none(stripe_account_id=stripe_account_id, invoice_id=invoice_id)
    if case is None:
        settings = await settings_for()
        if not settings.enabled:
            return None
        if await has_ended(stripe_account_id, fields["subscription_id"]):
            return None  # the cancellation came first: never dun a cancelled customer
        try:
            case = await _open(stripe_account_id, invoice_id, fields, category, event_at, now)
        except IntegrityError:  # the same failure delivered twice at once: the other opened it
            case = await Case.get(stripe_account_id=stripe_account_id, invoice_id=invoice_id)
        else:
            await enqueue_due_steps(runtime, case, now)
            return case
    if case.status in ACTIVE and (case.last_event_at is None or event_at >= case.last_event_at):
        # A later attempt's decline replaces the earlier one; the sequence stays the same.
        keep = {
            "code", "decline_code", "advice_code", "outcome", "amount",
            "stripe_retries_active", "stripe_next_attempt_at",
        }
        await Case.filter(id=case.id).update(
            last_event_at=event_at, **{k: v for k, v in fields.items() if k in keep}
        )
        await case.refresh_from_db()
    return case


async def _open(
    stripe_account_id: str,
    invoice_id: str,
    fields: dict[str, Any],
    category: Category,
    event_at: datetime,
    now: datetime,
) -> Case:
    version = await current_version(category)
    # The customer is disputing an earlier charge: retrying them now would only make it worse.
    disputed = await CustomerDispute.filter(
        stripe_account_id=stripe_account_id, customer_id=fields["customer_id"], closed=False
    ).exists()
    async with in_transaction():
        case = await Case.create(
            stripe_account_id=stripe_account_id,
            invoice_id=invoice_id,
            sequence_version=version,
            opened_at=now,
            last_event_at=event_at,
            customer_flagged=category in FLAGGED,
            disputed=disputed,
            retries_suspended=disputed,
            **fields,
        )
        for planned in plan(version.steps, now):
            await CaseStep.create(
                case=case,
                index=planned.index,
                type=planned.type,
                config=planned.config,
                due_at=planned.due_at,
                idempotency_key=f"recovery:{case.workspace_id}:{case.id}:{planned.index}",
            )
    return case


async def enqueue_due_steps(
    runtime: Runtime, case: Case, now: datetime, *, occasion: str = ""
) -> int:
    """Run steps already due (the day-0 email) now, not at the next tick.

    `occasion` tells this enqueue apart from an earlier one for the same attempt (a resume
    after a pause: the job queued while paused ran and found the case paused). Running a
    step job twice is harmless: the step's claim lets one through.
    """
    due = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING, due_at__lte=now)
    for step in due:
        await enqueue(
            runtime, RUN_STEP_TASK, workspace_id=case.workspace_id,
            payload={"step_id": step.id, "not_before": now.isoformat()},
            dedupe_key=f"recovery:run:{step.id}:{step.attempts}{occasion}",
        )
    return len(due)


async def append_step(
    case: Case, type_: str, due_at: datetime, key: str, config: dict[str, Any]
) -> CaseStep | None:
    """Add a step after the case's last one; None when a step with `key` already exists."""
    if await CaseStep.filter(idempotency_key=key).exists():
        return None
    last = await CaseStep.filter(case_id=case.id).order_by("-index").first()
    try:
        return await CaseStep.create(
            case_id=case.id, index=(last.index + 1) if last else 0, type=type_, due_at=due_at,
            idempotency_key=key, config=config,
        )
    except IntegrityError:  # the same key, or the same index, taken concurrently
        return None


async def cancel_pending(case_id: int, reason: str) -> int:
    return await CaseStep.filter(case_id=case_id, status=StepStatus.PENDING).update(
        status=StepStatus.CANCELLED, result={"reason": reason}
    )


async def recovering_step(case: Case) -> str:
    """The step to credit: a retry that was paid, else the last step whose link the customer
    followed, else the last step that ran and did something.

    A customer who pays in the portal from an email's link also attaches a new card, which
    queues a retry; that retry finds the invoice paid (skipped) or is still running when the
    `invoice.paid` arrives, so it must not take the credit from the email.
    """
    ran = await CaseStep.filter(
        case_id=case.id, status__in=[StepStatus.DONE, StepStatus.RUNNING]
    ).order_by("-index")
    for step in ran:
        if step.result.get("paid"):
            return f"{step.index}:{step.type}"
    for step in ran:
        if step.result.get("clicked_at"):
            return f"{step.index}:{step.type}"
    acted = [step for step in ran if not step.result.get("skipped")] or ran
    return f"{acted[0].index}:{acted[0].type}" if acted else ""


async def recover(
    stripe_account_id: str, invoice: dict[str, Any], at: datetime
) -> Case | None:
    """The invoice was paid (by any means): the case is recovered, pending steps cancelled."""
    invoice_id = _id(invoice)
    await ledger.record_paid(stripe_account_id, invoice_id, at)
    case = await Case.get_or_none(stripe_account_id=stripe_account_id, invoice_id=invoice_id)
    if case is None:
        return None
    closable = (*ACTIVE, CaseStatus.LOST)
    if case.status in closable:
        amount = invoice.get("amount_paid") or case.amount
        updated = await Case.filter(id=case.id, status__in=closable).update(
            status=CaseStatus.RECOVERED,
            recovered_at=at,
            recovered_amount=int(amount),
            recovered_by_step=await recovering_step(case),
            time_to_recover=max(int((at - case.opened_at).total_seconds()), 0),
            closed_at=at,
            closed_reason="paid",
        )
        if updated:
            await cancel_pending(case.id, "recovered")
    await case.refresh_from_db()
    return case


async def close_lost(
    reason: str, at: datetime, kind: CaseKind = CaseKind.DUNNING, **match: Any
) -> int:
    """Close the matching active cases as lost (voided invoice, cancelled subscription)."""
    closed = 0
    for case in await Case.filter(status__in=ACTIVE, kind=kind, **match).only("id"):
        closed += await Case.filter(id=case.id, status__in=ACTIVE).update(
            status=CaseStatus.LOST, closed_at=at, closed_reason=reason
        )
        await cancel_pending(case.id, reason)
    return closed


async def record_ended(
    stripe_account_id: str, subscription_id: str, customer_id: str, reason: str, at: datetime
) -> None:
    """Remember that a subscription ended, so a failure event delivered later opens nothing."""
    with contextlib.suppress(IntegrityError):  # a duplicate delivery: the first recorded it
        await EndedSubscription.create(
            stripe_account_id=stripe_account_id, subscription_id=subscription_id,
            customer_id=customer_id, reason=reason, ended_at=at,
        )


async def has_ended(stripe_account_id: str, subscription_id: str) -> bool:
    if not subscription_id:
        return False
    return await EndedSubscription.filter(
        stripe_account_id=stripe_account_id, subscription_id=subscription_id
    ).exists()


async def mark_uncollectible(stripe_account_id: str, invoice_id: str) -> int:
    """Stripe gave up on the invoice: its own retries stop, the case goes on by email.

    The customer can still pay an uncollectible invoice (the link, a new card, our retries),
    so the case stays open until the final action, like any sequence; only the coordination
    with Stripe's retries is switched off.
    """
    return await Case.filter(
        stripe_account_id=stripe_account_id, invoice_id=invoice_id,
        kind=CaseKind.DUNNING, status__in=ACTIVE,
    ).update(stripe_retries_active=False, stripe_next_attempt_at=None)
