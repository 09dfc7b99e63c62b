"""The retry step: one more attempt on the invoice through Stripe, within the retry budget.

The idempotency key is fixed when the step is created and written to the step before the call,
so a step re-run after a crash (or after a 5xx/429) can never charge twice.
"""

from __future__ import annotations

from datetime import timedelta

import stripe

from core.jobs import backoff
from plugins.recovery import gateway, ledger
from plugins.recovery.cases import recover
from plugins.recovery.declines import Category, is_retryable
from plugins.recovery.lookup import _as_dict
from plugins.recovery.models import AttemptOutcome, AttemptSource, Case, CaseStep
from plugins.recovery.steps.base import Outcome, StepContext, StepResult, StepType

DISPUTE_RECHECK = 6 * 3600.0
# Stripe's own retry this close to ours makes ours pointless (and a second decline).
STRIPE_RETRY_MARGIN = timedelta(hours=24)


class RetryStep(StepType):
    key = "retry"
    label = "Retry the payment"

    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        result = await self._attempt(step, ctx)
        if result.outcome == Outcome.DONE and not result.detail.get("paid"):
            # Whatever stopped this retry, emails held for it must not wait forever.
            await Case.filter(id=ctx.case.id).update(hold_emails=False)
        return result

    async def _attempt(self, step: CaseStep, ctx: StepContext) -> StepResult:
        case = ctx.case
        if case.retries_suspended:
            return StepResult.wait(DISPUTE_RECHECK, waiting="a dispute is open")
        if not (case.decline_resolved or is_retryable(Category(case.category), case.decline_code)):
            return StepResult.done(skipped=f"no off-session retry for {case.category} declines")
        stripe_next = case.stripe_next_attempt_at
        if (
            not case.decline_resolved
            and stripe_next is not None
            and abs(stripe_next - ctx.now) < STRIPE_RETRY_MARGIN
        ):
            return StepResult.done(
                skipped=f"Stripe retries this invoice itself at {stripe_next.isoformat()}"
            )
        card = str(step.config.get("payment_method") or "")
        verdict = await ledger.may_retry(case.stripe_account_id, case.invoice_id, ctx.now, card)
        if not verdict.allowed:
            return StepResult.done(skipped=verdict.reason)
        key = step.idempotency_key
        await CaseStep.filter(id=step.id).update(
            result={**step.result, "idempotency_key": key, "called_at": ctx.now.isoformat()}
        )
        access = await gateway.access_for(ctx.runtime, case.stripe_account_id)
        try:
            invoice = await access.client.v1.invoices.pay_async(
                case.invoice_id, options=access.options(idempotency_key=key)
            )
        except stripe.CardError as exc:
            return await _declined(step, case, exc, ctx)
        except (stripe.RateLimitError, stripe.APIConnectionError, stripe.APIError) as exc:
            # Transient: the same key on the next run makes the retry safe.
            return StepResult.retry(backoff(step.attempts).total_seconds(), error=str(exc)[:300])
        except stripe.InvalidRequestError as exc:
            return StepResult.done(skipped=str(exc.user_message or exc)[:300])
        data = _as_dict(invoice)
        if data.get("status") != "paid":
            return StepResult.done(outcome=str(data.get("status")))
        await CaseStep.filter(id=step.id).update(
            result={**step.result, "idempotency_key": key, "paid": True}
        )
        await recover(case.stripe_account_id, data, ctx.now)
        return StepResult.done(paid=True)


async def _declined(
    step: CaseStep, case: Case, exc: stripe.CardError, ctx: StepContext
) -> StepResult:
    error = exc.error
    code = str(getattr(error, "code", "") or exc.code or "")
    decline_code = str(getattr(error, "decline_code", "") or "")
    advice_code = str(getattr(error, "advice_code", "") or "")
    charge = str(getattr(error, "charge", "") or "")
    card = _card_of(error) or str(step.config.get("payment_method") or "")
    await ledger.record(
        case.stripe_account_id, case.invoice_id,
        key=ledger.attempt_key(charge, None, f"step:{step.id}"),
        source=AttemptSource.SECONDLOOP, at=ctx.now, outcome=AttemptOutcome.FAILED,
        code=code, decline_code=decline_code, advice_code=advice_code, charge_id=charge,
        payment_method_id=card,
    )
    # The new card (if any) failed too: emails resume, and retries follow the category again.
    await Case.filter(id=case.id).update(
        hold_emails=False, decline_resolved=False, code=code, decline_code=decline_code
    )
    return StepResult.done(declined=decline_code or code, charge=charge)


def _card_of(error: object) -> str:
    """The payment method a card error names (Stripe sends it expanded), or ""."""
    method = getattr(error, "payment_method", None)
    if isinstance(method, str):
        return method
    return str(getattr(method, "id", "") or "") if method is not None else ""
