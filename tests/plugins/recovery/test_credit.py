"""Which step a recovery is credited to, when a retry queued by a new card races the payment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import handlers
from plugins.recovery.models import Case, CaseStep, StepStatus
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle


async def _recovered_by(
    runtime: Runtime,
    clock: FrozenClock,
    *,
    clicked: bool,
    retry: StepStatus,
    result: dict[str, Any],
) -> str:
    """A case whose day-0 email ran, then a new-card retry in `retry` state, then paid."""
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        failed = event("invoice.payment_failed", invoice(), clock.now())
        await handlers.payment_failed(failed, ws, runtime)
        await settle()
        case = await Case.get(invoice_id="in_1")
        email = await CaseStep.get(case_id=case.id, index=0)
        assert email.status == StepStatus.DONE
        if clicked:
            await CaseStep.filter(id=email.id).update(
                result={**email.result, "clicked_at": clock.now().isoformat()}
            )
        await CaseStep.create(
            case_id=case.id,
            index=7,
            type="retry",
            due_at=clock.now(),
            status=retry,
            idempotency_key=f"recovery:{ws}:{case.id}:pm:pm_new",
            result=result,
        )
        clock.advance(timedelta(hours=3))
        paid = invoice(status="paid", amount_paid=2900)
        await handlers.invoice_paid(event("invoice.paid", paid, clock.now()), ws, runtime)
        return (await Case.get(id=case.id)).recovered_by_step


@pytest.mark.parametrize(
    ("retry", "result"),
    [
        (StepStatus.RUNNING, {"called_at": "now"}),  # still waiting for Stripe's answer
        (StepStatus.DONE, {"skipped": "This invoice is already paid"}),
    ],
)
async def test_the_email_whose_link_was_followed_keeps_the_credit(
    app: object,
    runtime: Runtime,
    clock: FrozenClock,
    declines: Any,
    retry: StepStatus,
    result: dict[str, Any],
) -> None:
    by = await _recovered_by(runtime, clock, clicked=True, retry=retry, result=result)
    assert by == "0:email"


async def test_a_skipped_retry_is_not_credited(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    by = await _recovered_by(
        runtime, clock, clicked=False, retry=StepStatus.DONE, result={"skipped": "paid"}
    )
    assert by == "0:email"


async def test_a_paid_retry_takes_the_credit_even_after_a_click(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    by = await _recovered_by(
        runtime, clock, clicked=True, retry=StepStatus.DONE, result={"paid": True}
    )
    assert by == "7:retry"
