"""Helpers for recovery tests: an enabled workspace and hand-made Stripe events."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from core.events.normalize import StripeEvent
from core.models import Workspace
from core.tenancy import workspace_scope
from plugins.recovery import lookup
from plugins.recovery.models import RecoverySettings

ACCOUNT = "acct_rec1"
_ids = itertools.count(1)


def invoice(
    invoice_id: str = "in_1", *, customer: str = "cus_1", attempt: int = 1, **extra: Any
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "customer_email": "ada@example.test",
        "customer_name": "Ada",
        "amount_due": 2900,
        "amount_remaining": 2900,
        "currency": "usd",
        "status": "open",
        "attempt_count": attempt,
        "next_payment_attempt": None,
        "parent": {"subscription_details": {"subscription": "sub_1"}},
        **extra,
    }


def event(
    type_: str, obj: dict[str, Any], created: datetime, *, account: str = ACCOUNT,
    event_id: str | None = None,
) -> StripeEvent:
    return StripeEvent(
        id=-next(_ids),
        stripe_event_id=event_id or f"evt_{next(_ids)}",
        type=type_,
        account=account,
        api_version="2026-10-28.endive",
        created=created,
        object=obj,
        previous_attributes={},
    )


async def enabled_workspace(slug: str, enabled: bool = True) -> int:
    ws = await Workspace.create(name=slug, slug=slug)
    with workspace_scope(ws.id):
        await RecoverySettings.create(enabled=enabled, sender_name="Acme")
    return ws.id


@pytest.fixture
def declines(monkeypatch: pytest.MonkeyPatch) -> dict[str, lookup.Decline | str | None]:
    """Stands in for Stripe's answer about an invoice; set `decline` and `status` per test."""
    state: dict[str, Any] = {
        "decline": lookup.Decline(
            code="card_declined", decline_code="insufficient_funds", charge_id="ch_1"
        ),
        "status": "open",
    }

    async def fake(runtime: object, account: str, invoice_id: str) -> lookup.InvoiceState:
        return lookup.InvoiceState(state["status"], state["decline"])

    monkeypatch.setattr(lookup, "fetch_invoice_state", fake)
    return state


def later(clock: FrozenClock, **delta: float) -> datetime:
    return clock.now() + timedelta(**delta)


_drain: list[Any] = []


@pytest.fixture(autouse=True)
def _remember_drain(request: pytest.FixtureRequest) -> Iterator[None]:
    """Lets `settle()` wait for jobs whichever broker runs them (inline or a Redis worker)."""
    if "app" in request.fixturenames or "client" in request.fixturenames:
        _drain.append(request.getfixturevalue("drain"))
    yield
    _drain.clear()


async def settle() -> None:
    """Wait until the jobs a handler enqueued (the day-0 step, a new-card retry) have run."""
    for drain in _drain:
        await drain()
