"""The email step: one message to the customer, sent at most once (keyed by the step).

What it sends is the step's own subject and body when an operator edited them (or the
sequence set them), else its template's default wording; see `compose.py`.
"""

from __future__ import annotations

from core.email import send_email
from plugins.recovery import compose, tracking
from plugins.recovery.models import Case, CaseStep, StepStatus
from plugins.recovery.steps.base import StepContext, StepResult, StepType

HOLD_RECHECK = 15 * 60.0


def email_key(step_id: int) -> str:
    """The email service's idempotency key for a step: one message per step, ever."""
    return f"recovery:step:{step_id}"


async def new_card_retry_in_flight(case: Case) -> bool:
    """Whether a retry queued for a new payment method has still to run."""
    waiting = await CaseStep.filter(
        case_id=case.id, type="retry", status__in=(StepStatus.PENDING, StepStatus.RUNNING)
    )
    return any(step.config.get("payment_method") for step in waiting)


class EmailStep(StepType):
    key = "email"
    label = "Email the customer"
    customer_facing = True

    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        case, settings = ctx.case, ctx.settings
        if case.hold_emails and not step.config.get("manual"):
            # A new card arrived: the retry on it decides whether this email is needed.
            # (A resend the operator asked for goes out anyway.)
            if await new_card_retry_in_flight(case):
                return StepResult.wait(HOLD_RECHECK, held="waiting for the retry on the new card")
            # That retry ended without deciding (failed, skipped, cancelled): the hold lapses.
            await Case.filter(id=case.id).update(hold_emails=False)
        if not case.customer_email:
            return StepResult.done(skipped="the invoice has no customer email")
        message = await compose.for_step(ctx.runtime, case, step, settings, ctx.now)
        opened = tracking.pixel_url(ctx.runtime.settings, case.workspace_id, case.id, step.id)
        email = await send_email(
            ctx.runtime,
            workspace_id=case.workspace_id,
            to=case.customer_email,
            subject=message.subject,
            text=message.text,
            html=tracking.with_pixel(message.html, opened),
            idempotency_key=email_key(step.id),
            customer_facing=True,
            category="recovery",
            reply_to=settings.reply_to or None,
            from_name=settings.sender_name or None,
        )
        return StepResult.done(email_id=email.id, subject=message.subject)
