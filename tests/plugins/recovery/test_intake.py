"""Signed events through the core's webhook intake and job system into recovery's handlers."""

from __future__ import annotations

from typing import Any

import httpx

from core.clock import FrozenClock, to_unix
from core.events.testing import connected_account, signed, stripe_event
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery.models import Case, CaseStatus, CaseStep, StepStatus
from tests.plugins.recovery.conftest import ACCOUNT, enabled_workspace, invoice


async def test_signed_events_open_and_recover_a_case_once(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, drain: Any,
    declines: dict[str, Any],
) -> None:
    ws = await enabled_workspace("a")
    _, token = await connected_account(runtime, ws, stripe_account_id=ACCOUNT)
    failed = stripe_event("invoice.payment_failed", invoice(), created=to_unix(clock.now()))
    for _ in range(2):  # Stripe delivers the same event twice
        response = await client.post(f"/webhooks/stripe/{token}", **signed(failed))
        assert response.status_code == 200
    await drain()
    with workspace_scope(ws):
        case = await Case.get(invoice_id="in_1")
        assert await Case.all().count() == 1
        assert (await CaseStep.get(case_id=case.id, index=0)).status == StepStatus.DONE
    paid = stripe_event(
        "invoice.paid", invoice(status="paid", amount_paid=2900), created=to_unix(clock.now())
    )
    assert (await client.post(f"/webhooks/stripe/{token}", **signed(paid))).status_code == 200
    await drain()
    with workspace_scope(ws):
        case = await Case.get(id=case.id)
    assert case.status == CaseStatus.RECOVERED


async def test_paid_delivered_before_failed_through_the_intake_opens_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, drain: Any,
    declines: dict[str, Any],
) -> None:
    ws = await enabled_workspace("a")
    _, token = await connected_account(runtime, ws, stripe_account_id=ACCOUNT)
    at = to_unix(clock.now())
    failed = stripe_event("invoice.payment_failed", invoice(), created=at)
    paid = stripe_event("invoice.paid", invoice(status="paid", amount_paid=2900), created=at + 5)
    for payload in (paid, failed):
        response = await client.post(f"/webhooks/stripe/{token}", **signed(payload))
        assert response.status_code == 200
        await drain()
    with workspace_scope(ws):
        assert await Case.all().count() == 0
