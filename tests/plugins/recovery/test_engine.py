from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from core.models import StripeTestClock
from core.models.email import OutboundEmail
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import engine, gateway, handlers, operations
from plugins.recovery.models import Case, CaseStatus, CaseStep, RecoverySettings, StepStatus
from tests.plugins.recovery.conftest import ACCOUNT, enabled_workspace, event, invoice, settle


@dataclass
class FakeInvoices:
    """Stands in for Stripe's invoices.pay: records each call and its idempotency key."""

    status: str = "paid"
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def pay_async(self, invoice_id: str, options: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((invoice_id, options["idempotency_key"]))
        return {"id": invoice_id, "status": self.status, "amount_paid": 2900}


@dataclass
class FakeSubscriptions:
    cancelled: list[str] = field(default_factory=list)

    async def cancel_async(self, subscription_id: str, options: dict[str, Any]) -> dict[str, Any]:
        self.cancelled.append(subscription_id)
        return {"id": subscription_id, "status": "canceled"}


@dataclass
class FakeAccess:
    invoices: FakeInvoices = field(default_factory=FakeInvoices)
    subscriptions: FakeSubscriptions = field(default_factory=FakeSubscriptions)

    @property
    def client(self) -> Any:
        return self

    @property
    def v1(self) -> Any:
        return self

    def options(self, idempotency_key: str | None = None) -> dict[str, Any]:
        return {"idempotency_key": idempotency_key}


@pytest.fixture
def stripe_fake(monkeypatch: pytest.MonkeyPatch) -> FakeAccess:
    access = FakeAccess()

    async def access_for(runtime: object, account: str) -> FakeAccess:
        return access

    monkeypatch.setattr(gateway, "access_for", access_for)
    return access


async def _open(runtime: Runtime, ws: int, clock: FrozenClock, **extra: Any) -> Case:
    with workspace_scope(ws):
        ev = event("invoice.payment_failed", invoice(**extra), clock.now())
        await handlers.payment_failed(ev, ws, runtime)
        await settle()
        return await Case.get(invoice_id="in_1")


async def _statuses(ws: int, case: Case) -> list[str]:
    with workspace_scope(ws):
        steps = await CaseStep.filter(case_id=case.id).order_by("index")
    return [str(s.status) for s in steps]


async def test_the_tick_runs_steps_as_they_fall_due_and_not_before(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    stripe_fake.invoices.status = "open"  # the retry goes through but the invoice stays open
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))  # day 2 (the 5th) is no payday move
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    clock.advance(timedelta(days=1))
    assert await engine.run_due(runtime) == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert await engine.run_due(runtime) == 1
    assert await _statuses(ws, case) == ["done", "done"] + ["pending"] * 5
    assert stripe_fake.invoices.calls == [("in_1", f"recovery:{ws}:{case.id}:1")]
    clock.advance(timedelta(days=30))
    assert await engine.run_due(runtime) == 5
    with workspace_scope(ws):
        case = await Case.get(id=case.id)
    assert case.status == CaseStatus.LOST and case.closed_reason == "cancelled by SecondLoop"
    assert stripe_fake.subscriptions.cancelled == ["sub_1"]
    assert await _statuses(ws, case) == ["done"] * 7


async def test_the_final_action_can_leave_the_subscription_past_due(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    from plugins.recovery.models import CaseKind, FinalAction

    stripe_fake.invoices.status = "open"
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(
            final_action=FinalAction.LEAVE_PAST_DUE
        )
    case = await _open(runtime, ws, clock)
    clock.advance(timedelta(days=40))
    await engine.run_due(runtime)
    with workspace_scope(ws):
        case = await Case.get(id=case.id)
        final = await CaseStep.get(case_id=case.id, type="final_action")
        winbacks = await Case.filter(kind=CaseKind.WINBACK).count()
    assert case.status == CaseStatus.LOST and "left past due" in case.closed_reason
    assert final.result["action"] == "leave_past_due"
    assert stripe_fake.subscriptions.cancelled == []  # Stripe's subscription is untouched
    assert winbacks == 0  # nothing ended, so there is no one to win back


async def test_a_paused_workspace_runs_nothing(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(processing_paused=True)
    clock.advance(timedelta(days=20))
    assert await engine.run_due(runtime) == 0
    assert (await _statuses(ws, case))[1:] == ["pending"] * 6


async def test_a_step_rerun_after_a_crash_sends_no_second_email(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    with workspace_scope(ws):
        first = await CaseStep.get(case_id=case.id, index=0)
        # The worker died after sending, before recording: the step is still running, its
        # lease runs out, and another worker picks it up.
        await CaseStep.filter(id=first.id).update(
            status=StepStatus.RUNNING, locked_until=clock.now() + engine.LEASE
        )
    assert await engine.run_due(runtime) == 0  # the lease still holds
    clock.advance(engine.LEASE + timedelta(seconds=1))
    assert await engine.run_due(runtime) == 1
    with workspace_scope(ws):
        again = await CaseStep.get(id=first.id)
    with unscoped():
        emails = await OutboundEmail.filter(workspace_id=ws).count()
    assert again.status == StepStatus.DONE and again.attempts == 2
    assert emails == 1


async def test_a_step_is_claimed_once(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    with workspace_scope(ws):
        step = await CaseStep.get(case_id=case.id, index=1)
        later = step.due_at + timedelta(seconds=1)
        assert not await engine.claim(step.id, step.due_at - timedelta(seconds=1), clock.now())
        assert await engine.claim(step.id, later, clock.now())
        assert not await engine.claim(step.id, later, clock.now())


async def test_a_new_card_holds_emails_and_retries_at_once(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    pm = {"id": "pm_new", "object": "payment_method", "customer": "cus_1"}
    with workspace_scope(ws):
        for type_ in ("payment_method.attached", "payment_method.automatically_updated"):
            await handlers.payment_method_changed(event(type_, pm, clock.now()), ws, runtime)
            await settle()
        case = await Case.get(id=case.id)
        retries = await CaseStep.filter(case_id=case.id, type="retry", index__gte=7)
    assert len(stripe_fake.invoices.calls) == 1  # one retry for one new card
    assert stripe_fake.invoices.calls[0][1] == retries[0].idempotency_key
    assert case.status == CaseStatus.RECOVERED and case.recovered_by_step == "7:retry"


async def test_held_emails_go_out_once_the_new_card_retry_has_failed_for_good(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    # No Stripe account is connected, so the retry on the new card fails on every run.
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    pm = {"id": "pm_new", "object": "payment_method", "customer": "cus_1"}
    with workspace_scope(ws):
        await handlers.payment_method_changed(
            event("payment_method.attached", pm, clock.now()), ws, runtime
        )
        await settle()
    for _ in range(40):  # ten days, a tick every six hours
        clock.advance(timedelta(hours=6))
        await engine.run_due(runtime)
    with workspace_scope(ws):
        case = await Case.get(id=case.id)
        card_retry = await CaseStep.get(case_id=case.id, type="retry", index__gte=7)
        emails = await CaseStep.filter(case_id=case.id, type="email").order_by("index")
    assert card_retry.status == StepStatus.FAILED
    assert not case.hold_emails
    # Day 0, day 3 and day 7: the reminders resumed instead of waiting on the dead retry.
    assert [str(e.status) for e in emails[:3]] == ["done", "done", "done"]


async def test_a_paused_case_takes_the_new_card_and_retries_on_resume(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    pm = {"id": "pm_new", "object": "payment_method", "customer": "cus_1"}
    with workspace_scope(ws):
        assert await operations.pause(case)
        await handlers.payment_method_changed(
            event("payment_method.attached", pm, clock.now()), ws, runtime
        )
        await settle()
        assert await CaseStep.filter(case_id=case.id, type="retry", index__gte=7).exists()
        assert stripe_fake.invoices.calls == []  # paused: nothing runs
        assert await operations.resume(runtime, await Case.get(id=case.id))
        await settle()
        case = await Case.get(id=case.id)
    assert len(stripe_fake.invoices.calls) == 1
    assert case.status == CaseStatus.RECOVERED and case.recovered_by_step == "7:retry"


async def test_test_clock_customers_live_in_the_clocks_time(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    stripe_fake.invoices.status = "open"
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        await StripeTestClock.create(
            stripe_account_id=ACCOUNT,
            clock_id="clock_1",
            frozen_time=clock.now(),
            status="ready",
            updated_at=clock.now(),
        )
    case = await _open(runtime, ws, clock, test_clock="clock_1")
    assert case.test_clock == "clock_1"
    # Real time moves a month; the customer's clock does not, so nothing is due for them.
    clock.advance(timedelta(days=30))
    await engine.run_due(runtime)
    assert (await _statuses(ws, case))[1:] == ["pending"] * 6
    with workspace_scope(ws):
        await StripeTestClock.filter(clock_id="clock_1").update(
            frozen_time=case.opened_at + timedelta(days=7, minutes=1)
        )
        ready = {"id": "clock_1", "object": "test_helpers.test_clock", "status": "ready"}
        tick = event("test_helpers.test_clock.ready", ready, clock.now())
        await handlers.clock_ready(tick, ws, runtime)
        await settle()
    assert await _statuses(ws, case) == ["done"] * 4 + ["pending"] * 3
    assert len(stripe_fake.invoices.calls) == 1


async def test_the_schedule_fires_the_tick_through_the_job_system(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, drain: Any
) -> None:
    from core.scheduler import fire_due

    assert runtime.schedules["recovery.tick"].every == 60
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    clock.advance(timedelta(days=3, minutes=1))  # the day-3 reminder email is due
    assert "recovery.tick" in await fire_due(runtime)
    await drain()
    statuses = await _statuses(ws, case)
    assert statuses[2] == "done"
    with unscoped():
        assert await OutboundEmail.filter(workspace_id=ws).count() == 2


async def test_the_tick_fans_out_drains_once_per_slot_and_only_when_work_is_due(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, drain: Any
) -> None:
    from core.models import Job
    from plugins.recovery import tasks

    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    await tasks.tick(None, runtime)  # nothing is due: no drain is started
    with unscoped():
        assert await Job.filter(name=tasks.DRAIN_TASK).count() == 0
    case = await _open(runtime, ws, clock)
    clock.advance(timedelta(days=3, minutes=1))
    await tasks.tick(None, runtime)
    await tasks.tick(None, runtime)  # the same slot fired twice starts its drains once
    await drain()
    with unscoped():
        assert await Job.filter(name=tasks.DRAIN_TASK).count() == tasks.DRAINS
    assert (await _statuses(ws, case))[2] == "done"  # the day-3 email, through a drain


def test_the_tick_interval_and_drains_come_from_the_environment(settings: Any) -> None:
    from core.app import create_runtime
    from core.plugins import build_plugin_host
    from plugins.recovery import tasks

    tuned = settings.replace(extra={
        "SECONDLOOP_RECOVERY_TICK_SECONDS": "15", "SECONDLOOP_RECOVERY_DRAINS": "4"
    })
    runtime = create_runtime(tuned, host=build_plugin_host(tuned.plugins), inline_jobs=True)
    assert runtime.schedules["recovery.tick"].every == 15
    assert tasks.drains(tuned) == 4
    for bad in ("often", "0", "-5"):
        broken = settings.replace(extra={"SECONDLOOP_RECOVERY_TICK_SECONDS": bad})
        with pytest.raises(ValueError, match="SECONDLOOP_RECOVERY_TICK_SECONDS"):
            create_runtime(broken, host=build_plugin_host(broken.plugins), inline_jobs=True)


async def test_no_retry_races_stripes_own_retry(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    stripe_next = int((clock.now() + timedelta(days=2, hours=6)).timestamp())
    case = await _open(runtime, ws, clock, next_payment_attempt=stripe_next)
    assert case.stripe_retries_active
    clock.advance(timedelta(days=2, seconds=1))
    assert await engine.run_due(runtime) == 1
    with workspace_scope(ws):
        retry = await CaseStep.get(case_id=case.id, index=1)
    assert retry.status == StepStatus.DONE and "Stripe retries" in retry.result["skipped"]
    assert stripe_fake.invoices.calls == []


async def test_two_ticks_at_once_run_each_step_exactly_once(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, monkeypatch: Any
) -> None:
    import asyncio

    monkeypatch.setattr(engine, "BATCH", 3)  # several batches per tick
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        for n in range(8):
            failed = invoice(f"in_{n}", customer=f"cus_{n}")
            ev = event("invoice.payment_failed", failed, clock.now())
            await handlers.payment_failed(ev, ws, runtime)
            await settle()
    clock.advance(timedelta(days=3, minutes=1))  # day 2's retry and day 3's email
    results = await asyncio.gather(engine.run_due(runtime), engine.run_due(runtime))
    with workspace_scope(ws):
        emails = await CaseStep.filter(index=2, status=StepStatus.DONE)
    with unscoped():
        sent = await OutboundEmail.filter(workspace_id=ws).count()
    assert len(emails) == 8 and all(step.attempts == 1 for step in emails)
    assert sent == 16  # day 0 and day 3, once each per case
    assert sum(results) == 16  # 8 emails and 8 retry steps, each run by exactly one tick


class FlakyInvoices(FakeInvoices):
    """Answers 429, then 500, then pays: the same idempotency key every time."""

    async def pay_async(self, invoice_id: str, options: dict[str, Any]) -> dict[str, Any]:
        import stripe

        self.calls.append((invoice_id, options["idempotency_key"]))
        if len(self.calls) == 1:
            raise stripe.RateLimitError("slow down", http_status=429)
        if len(self.calls) == 2:
            raise stripe.APIError("boom", http_status=500)
        return {"id": invoice_id, "status": "paid", "amount_paid": 2900}


async def test_429_and_5xx_retry_the_step_with_the_same_key(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    stripe_fake.invoices = FlakyInvoices()
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    clock.advance(timedelta(days=2, seconds=1))
    for _ in range(3):
        await engine.run_due(runtime)
        clock.advance(timedelta(minutes=2))  # past each backoff
    with workspace_scope(ws):
        retry = await CaseStep.get(case_id=case.id, index=1)
        case = await Case.get(id=case.id)
    keys = {key for _, key in stripe_fake.invoices.calls}
    assert len(stripe_fake.invoices.calls) == 3 and keys == {retry.idempotency_key}
    assert retry.status == StepStatus.DONE and retry.attempts == 3 and retry.result["paid"]
    assert case.status == CaseStatus.RECOVERED and case.recovered_by_step == "1:retry"


class AlreadyPaid(FakeInvoices):
    async def pay_async(self, invoice_id: str, options: dict[str, Any]) -> dict[str, Any]:
        import stripe

        self.calls.append((invoice_id, options["idempotency_key"]))
        raise stripe.InvalidRequestError("Invoice is already paid", param=None)


async def test_a_customer_paying_while_the_retry_runs(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    stripe_fake.invoices = AlreadyPaid()
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    clock.advance(timedelta(days=2, seconds=1))
    assert await engine.run_due(runtime) == 1
    paid = invoice(status="paid", amount_paid=2900)
    with workspace_scope(ws):
        await handlers.invoice_paid(event("invoice.paid", paid, clock.now()), ws, runtime)
        await settle()
        retry = await CaseStep.get(case_id=case.id, index=1)
        case = await Case.get(id=case.id)
    assert retry.status == StepStatus.DONE and "already paid" in retry.result["skipped"]
    assert case.status == CaseStatus.RECOVERED


async def test_held_emails_resume_when_the_new_card_retry_is_not_allowed(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    from plugins.recovery import ledger
    from plugins.recovery.models import AttemptOutcome, AttemptSource

    ws = await enabled_workspace("a")
    case = await _open(runtime, ws, clock)
    with workspace_scope(ws):
        for n in range(ledger.MAX_ATTEMPTS):  # the new card's retry budget is spent
            await ledger.record(
                ACCOUNT, "in_1", key=f"attempt:{n + 10}", source=AttemptSource.STRIPE,
                at=clock.now(), outcome=AttemptOutcome.FAILED, payment_method_id="pm_new",
            )
        pm = {"id": "pm_new", "object": "payment_method", "customer": "cus_1"}
        ev = event("payment_method.attached", pm, clock.now())
        await handlers.payment_method_changed(ev, ws, runtime)
        await settle()
        case = await Case.get(id=case.id)
        retry = await CaseStep.get(case_id=case.id, index=7)
    assert stripe_fake.invoices.calls == []
    assert retry.status == StepStatus.DONE and "attempts in 30 days" in retry.result["skipped"]
    assert not case.hold_emails and case.status == CaseStatus.OPEN
