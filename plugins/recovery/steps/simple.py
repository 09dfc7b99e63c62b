"""Small built-in steps: wait, notify the operator, and the final action."""

from __future__ import annotations

import stripe

from core.email import send_email
from core.models import Membership, User
from core.models.workspaces import Role
from plugins.recovery import gateway, slack, winback
from plugins.recovery.cases import close_lost
from plugins.recovery.copy import OPERATOR_TEMPLATES, format_amount, render
from plugins.recovery.models import CaseStep, FinalAction
from plugins.recovery.steps.base import StepContext, StepResult, StepType


class WaitStep(StepType):
    """Does nothing: its delay is the point (the next step is planned after it)."""

    key = "wait"
    label = "Wait"

    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        return StepResult.done()


class NotifyOperatorStep(StepType):
    """Email the workspace's owners and admins about the case."""

    key = "notify_operator"
    label = "Notify the operator"

    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        case = ctx.case
        copy = OPERATOR_TEMPLATES.get(
            str(step.config.get("template") or ""), OPERATOR_TEMPLATES["investigate"]
        )
        subject, text = render(
            copy,
            {
                "customer_id": case.customer_id,
                "customer_email": case.customer_email or case.customer_id,
                "category": case.category,
                "decline": case.decline_code or case.code or "an unknown decline",
                "amount": format_amount(case.amount, case.currency),
                "case_id": case.id,
            },
        )
        members = await Membership.filter(role__in=[Role.OWNER, Role.ADMIN])
        users = await User.filter(id__in=[m.user_id for m in members])
        for user in users:
            await send_email(
                ctx.runtime,
                workspace_id=case.workspace_id,
                to=user.email,
                subject=subject,
                text=text,
                idempotency_key=f"recovery:step:{step.id}:user:{user.id}",
            )
        url = slack.webhook_url(ctx.runtime, ctx.settings)
        if url:
            again = await slack.post(step, url, f"*{subject}*\n{text}")
            if again is not None:  # Slack was busy or down: the emails are sent, post later
                return StepResult.retry(again, notified=len(users))
        return StepResult.done(notified=len(users))


class CloseStep(StepType):
    """End the case as lost without touching Stripe (the end of a win-back sequence)."""

    key = "close"
    label = "Close the case"

    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        reason = str(step.config.get("reason") or "sequence ended")[:64]
        await close_lost(reason, ctx.now, kind=ctx.case.kind, id=ctx.case.id)
        return StepResult.stop(closed=reason)


class FinalActionStep(StepType):
    """Cancel the subscription or leave it past due, per the workspace's setting; case lost."""

    key = "final_action"
    label = "Final action"

    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        case = ctx.case
        if ctx.settings.final_action != FinalAction.CANCEL or not case.subscription_id:
            await close_lost("sequence ended; left past due", ctx.now, id=case.id)
            return StepResult.stop(action="leave_past_due")
        access = await gateway.access_for(ctx.runtime, case.stripe_account_id)
        try:
            await access.client.v1.subscriptions.cancel_async(
                case.subscription_id,
                options=access.options(idempotency_key=f"recovery:final:{step.id}"),
            )
        except (stripe.RateLimitError, stripe.APIConnectionError, stripe.APIError) as exc:
            return StepResult.retry(300, error=str(exc)[:300])
        except stripe.InvalidRequestError as exc:  # already cancelled: the outcome stands
            await close_lost("subscription cancelled", ctx.now, id=case.id)
            return StepResult.stop(action="cancel", note=str(exc)[:300])
        await close_lost(winback.CANCELLED_BY_US, ctx.now, id=case.id)
        # The subscription ended for non-payment: invite the customer back.
        comeback = await winback.start_from_case(ctx.runtime, case, ctx.now)
        return StepResult.stop(action="cancel", winback_case=comeback.id if comeback else None)


def builtin_steps() -> list[StepType]:
    from plugins.recovery.steps.email import EmailStep
    from plugins.recovery.steps.retry import RetryStep

    return [
        EmailStep(),
        RetryStep(),
        WaitStep(),
        NotifyOperatorStep(),
        FinalActionStep(),
        CloseStep(),
    ]
