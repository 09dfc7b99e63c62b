"""Customer time follows Stripe test clocks, whatever order their events arrive in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from core.events.clocks import customer_now
from core.events.testing import connected_account, signed, stripe_event
from core.models import StripeTestClock, Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import workspace_scope

T0 = 1_800_000_000


def _clock(type: str, frozen: int, status: str, created: int) -> dict[str, Any]:
    obj = {
        "object": "test_helpers.test_clock",
        "id": "clock_1",
        "frozen_time": frozen,
        "status": status,
    }
    return stripe_event(f"test_helpers.test_clock.{type}", obj, created=created)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Only the core and this test's plugin: installed plugins' handlers would add jobs."""
    return settings.replace(plugins=())


async def _deliver(client: httpx.AsyncClient, token: str, *payloads: dict[str, Any]) -> None:
    for payload in payloads:
        response = await client.post(f"/webhooks/stripe/{token}", **signed(payload))
        assert response.status_code == 200, response.text


async def test_a_customer_on_a_clock_lives_in_its_time(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    customer = stripe_event(
        "customer.created", {"object": "customer", "id": "cus_1", "test_clock": "clock_1"}
    )
    await _deliver(client, token, _clock("created", T0, "ready", T0), customer)
    await drain()
    with workspace_scope(ws.id):
        assert await customer_now(
            runtime, "acct_test1", customer_id="cus_1"
        ) == datetime.fromtimestamp(T0, UTC)
        assert await customer_now(runtime, "acct_test1", customer_id="cus_live") == runtime.now()
        assert await customer_now(
            runtime, "acct_test1", test_clock="clock_1"
        ) == datetime.fromtimestamp(T0, UTC)
    await _deliver(client, token, _clock("ready", T0 + 86400, "ready", T0 + 5))
    await drain()
    with workspace_scope(ws.id):
        assert await customer_now(runtime, "acct_test1", "cus_1") == datetime.fromtimestamp(
            T0 + 86400, UTC
        )


async def test_an_older_clock_event_arriving_late_does_not_roll_the_clock_back(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    advancing = _clock("advancing", T0 + 3600, "advancing", T0 + 10)
    ready = _clock("ready", T0 + 3600, "ready", T0 + 10)  # same second: ready is the later state
    created = _clock("created", T0, "ready", T0)
    await _deliver(client, token, ready, advancing, created, ready)
    await drain()
    with workspace_scope(ws.id):
        clock = await StripeTestClock.get(clock_id="clock_1")
    assert (clock.status, clock.frozen_time) == ("ready", datetime.fromtimestamp(T0 + 3600, UTC))


async def test_clock_mappings_stay_in_their_workspace(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    a = await Workspace.create(name="A", slug="a")
    b = await Workspace.create(name="B", slug="b")
    _, token = await connected_account(runtime, a.id)
    await connected_account(runtime, b.id)
    invoice = stripe_event(
        "invoice.created",
        {"object": "invoice", "id": "in_1", "customer": "cus_1", "test_clock": "clock_1"},
    )
    await _deliver(client, token, _clock("created", T0, "ready", T0), invoice)
    await drain()
    with workspace_scope(b.id):
        assert await customer_now(runtime, "acct_test1", customer_id="cus_1") == runtime.now()
    with workspace_scope(a.id):
        assert await customer_now(
            runtime, "acct_test1", customer_id="cus_1"
        ) == datetime.fromtimestamp(T0, UTC)
