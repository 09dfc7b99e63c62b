"""Win-back: started by a non-payment cancellation or our final action, run like any case
(switches, suppression, customer time), stopped by a comeback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.clock import FrozenClock, to_unix
from core.email import suppress
from core.models.email import EmailStatus, OutboundEmail
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import engine, gateway, handlers, signals
from plugins.recovery.models import (
    Case,
    CaseKind,
    CaseStatus,
    CaseStep,
    RecoverySettings,
    StepStatus,
)
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle
from tests.plugins.recovery.test_engine import FakeAccess


@pytest.fixture
def stripe_fake(monkeypatch: pytest.MonkeyPatch) -> FakeAccess:
    access = FakeAccess()

    async def access_for(runtime: object, account: str) -> FakeAccess:
        return access

    monkeypatch.setattr(gateway, "access_for", access_for)
    return access


def subscription(
    sub_id: str = "sub_1",
    status: str = "canceled",
    reason: str | None = "payment_failed",
    created: int = 0,
    customer: str = "cus_1",
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "created": created,
        "start_date": created,
        "test_clock": None,
        "cancellation_details": {"reason": reason, "comment": None, "feedback": None},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_1",
                    "quantity": 2,
                    "price": {"id": "price_1", "unit_amount": 1450, "currency": "eur"},
                },
            ],
        },
    }


async def _dunning(runtime: Runtime, ws: int, clock: FrozenClock) -> Case:
    with workspace_scope(ws):
        ev = event("invoice.payment_failed", invoice(), clock.now())
        await handlers.payment_failed(ev, ws, runtime)
        await settle()
        return await Case.get(invoice_id="in_1")


async def _deleted(runtime: Runtime, ws: int, clock: FrozenClock, **sub: Any) -> None:
    with workspace_scope(ws):
        ev = event("customer.subscription.deleted", subscription(**sub), clock.now())
        await handlers.subscription_deleted(ev, ws, runtime)


async def _winbacks(ws: int) -> list[Case]:
    with workspace_scope(ws):
        return list(await Case.filter(kind=CaseKind.WINBACK))


async def _steps(ws: int, case: Case) -> list[CaseStep]:
    with workspace_scope(ws):
        return list(await CaseStep.filter(case_id=case.id).order_by("index"))


async def test_a_non_payment_cancellation_starts_one_win_back(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(winback_first_hours=4)
    dunning = await _dunning(runtime, ws, clock)
    clock.advance(timedelta(days=14))
    await _deleted(runtime, ws, clock)
    await _deleted(runtime, ws, clock)  # a duplicate delivery
    [winback] = await _winbacks(ws)
    with workspace_scope(ws):
        dunning = await Case.get(id=dunning.id)
    assert dunning.status == CaseStatus.LOST  # the win-back is not closed by the same event
    assert (winback.status, winback.category, winback.customer_email) == (
        CaseStatus.OPEN,
        "winback",
        "ada@example.test",
    )
    assert (winback.amount, winback.currency) == (2900, "eur")
    steps = await _steps(ws, winback)
    assert [s.due_at - clock.now() for s in steps] == [
        timedelta(hours=4),
        timedelta(days=4),
        timedelta(days=14),
        timedelta(days=30),
    ]
    assert [s.config.get("template", s.type) for s in steps] == [
        "winback_first",
        "winback_reminder",
        "winback_last",
        "close",
    ]

    clock.advance(timedelta(hours=3))
    assert await engine.run_due(runtime) == 0
    clock.advance(timedelta(hours=1))
    assert await engine.run_due(runtime) == 1
    with unscoped():
        email = await OutboundEmail.get(idempotency_key=f"recovery:step:{steps[0].id}")
    assert email.subject == "Your subscription has ended"
    assert "/r/" in email.text_body and email.to_address == "ada@example.test"

    # A new card for this customer retries dunning cases only; a win-back has no invoice.
    with workspace_scope(ws):
        await signals.payment_method_changed(runtime, "acct_rec1", "cus_1", "pm_9", clock.now())
    assert [s.type for s in await _steps(ws, winback)] == ["email"] * 3 + ["close"]


async def test_a_voluntary_cancellation_or_a_switched_off_win_back_starts_none(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    await _dunning(runtime, ws, clock)
    await _deleted(runtime, ws, clock, reason="cancellation_requested")
    assert await _winbacks(ws) == []
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(winback_enabled=False)
    await _deleted(runtime, ws, clock, sub_id="sub_2")
    assert await _winbacks(ws) == []
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(winback_enabled=True)
    await _deleted(runtime, ws, clock, sub_id="sub_4", status="incomplete_expired")
    assert await _winbacks(ws) == []  # a sign-up that never paid
    off = await enabled_workspace("off", enabled=False)
    await _deleted(runtime, off, clock, sub_id="sub_3")
    assert await _winbacks(off) == []


async def test_our_final_action_starts_the_win_back(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, stripe_fake: FakeAccess
) -> None:
    stripe_fake.invoices.status = "open"
    ws = await enabled_workspace("a")
    dunning = await _dunning(runtime, ws, clock)
    clock.advance(timedelta(days=17))
    await engine.run_due(runtime)
    assert stripe_fake.subscriptions.cancelled == ["sub_1"]
    [winback] = await _winbacks(ws)
    final = (await _steps(ws, dunning))[-1]
    assert final.result["winback_case"] == winback.id
    # Stripe's `customer.subscription.deleted` for our own cancellation: still one win-back.
    await _deleted(runtime, ws, clock, reason="cancellation_requested")
    assert [c.id for c in await _winbacks(ws)] == [winback.id]


async def test_win_back_emails_respect_the_pause_and_the_suppression_list(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    await _dunning(runtime, ws, clock)
    await _deleted(runtime, ws, clock)
    assert len(await _winbacks(ws)) == 1
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(processing_paused=True)
    clock.advance(timedelta(days=5))
    assert await engine.run_due(runtime) == 0
    await suppress(runtime, ws, "Ada@example.test", "unsubscribed")
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(processing_paused=False)
    assert await engine.run_due(runtime) == 2  # the two emails that fell due meanwhile
    await settle()
    with unscoped():
        sent = await OutboundEmail.filter(
            workspace_id=ws, subject="Pick up where you left off"
        ).first()
    assert sent is not None and sent.status == EmailStatus.SUPPRESSED


async def test_a_comeback_recovers_the_win_back_and_a_renewal_of_another_does_not(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    await _dunning(runtime, ws, clock)
    await _deleted(runtime, ws, clock)
    [winback] = await _winbacks(ws)
    clock.advance(timedelta(hours=2))
    await engine.run_due(runtime)  # the first email went out
    with workspace_scope(ws):
        # Another subscription the customer had all along renews: not a comeback.
        old = subscription("sub_old", status="active", created=to_unix(clock.now()) - 86_400 * 90)
        await handlers.subscription_started(
            event("customer.subscription.updated", old, clock.now()), ws, runtime
        )
        assert (await Case.get(id=winback.id)).status == CaseStatus.OPEN
        clock.advance(timedelta(days=1))
        new = subscription("sub_new", status="active", created=to_unix(clock.now()))
        session = {
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": "subscription",
            "status": "complete",
            "customer": "cus_1",
            "subscription": "sub_new",
        }
        await handlers.checkout_completed(
            event("checkout.session.completed", session, clock.now()), ws, runtime
        )
        await handlers.subscription_started(
            event("customer.subscription.created", new, clock.now()), ws, runtime
        )
        case = await Case.get(id=winback.id)
        left = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
    assert case.status == CaseStatus.RECOVERED and case.recovered_by_step == "0:email"
    assert case.recovered_amount == 2900 and case.time_to_recover == 26 * 3600
    assert case.closed_reason == "resubscribed (sub_new)" and left == 0


def test_the_lifecycle_events_are_registered_through_the_handler_hook(runtime: Runtime) -> None:
    listened = {
        kind
        for handler in runtime.handlers.values()
        if handler.name.startswith("recovery.")
        for kind in handler.event_types
    }
    assert {
        "invoice.marked_uncollectible",
        "customer.updated",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "checkout.session.completed",
    } <= listened


async def test_a_win_back_has_no_invoice_to_retry(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    from plugins.recovery import operations

    ws = await enabled_workspace("a")
    await _dunning(runtime, ws, clock)
    await _deleted(runtime, ws, clock)
    [winback] = await _winbacks(ws)
    with workspace_scope(ws):
        assert await operations.retry_now(runtime, winback) is None
    assert [s.type for s in await _steps(ws, winback)] == ["email"] * 3 + ["close"]


async def test_the_sequence_closes_the_win_back_and_a_late_comeback_still_counts(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    await _dunning(runtime, ws, clock)
    await _deleted(runtime, ws, clock)
    [winback] = await _winbacks(ws)
    opened = clock.now()
    clock.advance(timedelta(days=31))
    assert await engine.run_due(runtime) == 4
    with workspace_scope(ws):
        lost = await Case.get(id=winback.id)
    assert (lost.status, lost.closed_reason) == (CaseStatus.LOST, "no comeback")
    with workspace_scope(ws):
        new = subscription("sub_new", status="active", created=to_unix(clock.now()))
        await handlers.subscription_started(
            event("customer.subscription.created", new, clock.now()), ws, runtime
        )
        back = await Case.get(id=winback.id)
    assert back.status == CaseStatus.RECOVERED and back.recovered_by_step == "2:email"
    assert back.time_to_recover == int((clock.now() - opened).total_seconds())


async def test_a_comeback_recovers_only_its_own_workspace_win_back(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    mine, theirs = await enabled_workspace("a"), await enabled_workspace("b")
    for ws in (mine, theirs):  # the same account and customer ids in two workspaces
        await _dunning(runtime, ws, clock)
        await _deleted(runtime, ws, clock)
    clock.advance(timedelta(days=1))
    with workspace_scope(theirs):
        new = subscription("sub_new", status="active", created=to_unix(clock.now()))
        await handlers.subscription_started(
            event("customer.subscription.created", new, clock.now()), theirs, runtime
        )
    [kept], [back] = await _winbacks(mine), await _winbacks(theirs)
    assert (kept.status, back.status) == (CaseStatus.OPEN, CaseStatus.RECOVERED)


async def test_stripe_reporting_our_cancellation_before_the_step_finishes_still_wins_back(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    dunning = await _dunning(runtime, ws, clock)
    with workspace_scope(ws):
        # The final action is mid-flight: Stripe cancelled, the step has not recorded it yet.
        await CaseStep.filter(case_id=dunning.id, type="final_action").update(
            status=StepStatus.RUNNING
        )
    await _deleted(runtime, ws, clock, reason="cancellation_requested")
    assert len(await _winbacks(ws)) == 1


async def test_a_comeback_long_after_the_win_back_is_not_credited_to_it(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    await _dunning(runtime, ws, clock)
    await _deleted(runtime, ws, clock)
    [winback] = await _winbacks(ws)
    clock.advance(timedelta(days=120))
    await engine.run_due(runtime)  # the sequence closes it
    with workspace_scope(ws):
        new = subscription("sub_new", status="active", created=to_unix(clock.now()))
        await handlers.subscription_started(
            event("customer.subscription.created", new, clock.now()), ws, runtime
        )
        assert (await Case.get(id=winback.id)).status == CaseStatus.LOST
