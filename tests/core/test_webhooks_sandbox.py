"""End to end: the Stripe sandbox signs and delivers real events; the app stores them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from core.events.clocks import customer_now
from core.events.testing import connected_account
from core.models import Event, Job, StripeTestClock, Workspace
from core.models.accounts import ConnectionMode
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped, workspace_scope
from core.testing.fixtures import pointed_at
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox

T0 = 1_800_000_000


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="events-e2e", webhook_retry_schedule=(0.05, 0.1)) as sandbox:
        yield sandbox


@pytest.fixture
def connect_receiver(sb: RunningSandbox) -> Iterator[tuple[WebhookReceiver, str]]:
    """The platform's Connect endpoint on the sandbox, pointing at a local receiver."""
    receiver = WebhookReceiver()
    endpoint = sb.client().v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"], "connect": True}
    )
    yield receiver, str(endpoint.secret)
    receiver.close()


@pytest.fixture
def settings(
    settings: Settings, sb: RunningSandbox, connect_receiver: tuple[WebhookReceiver, str]
) -> Settings:
    return pointed_at(settings, sb).replace(
        stripe_connect_webhook_secret=connect_receiver[1],
        plugins=(),
    )


def _rehearse_a_month(sb: RunningSandbox, key: str, account: str) -> dict[str, Any]:
    """A customer on a test clock, advanced by a day (sync: runs in a thread)."""
    client = sb.client(key)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    customer = client.v1.customers.create(
        params={"email": "ada@example.test", "test_clock": clock.id}
    )
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": T0 + 86400})
    sb.wait_for_clock(account, clock.id)
    sb.wait_for_deliveries()
    return {"clock": clock.id, "customer": customer.id}


async def test_sandbox_deliveries_to_the_account_endpoint(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any, sb: RunningSandbox
) -> None:
    account = sb.create_account(name="Shop")
    receiver = WebhookReceiver()
    try:
        endpoint = sb.client(account["secret_key"]).v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"]}
        )
        ws = await Workspace.create(name="Shop", slug="shop")
        _, token = await connected_account(
            runtime, ws.id, stripe_account_id=account["id"], secret=str(endpoint.secret)
        )
        sb.set_delivery_options(duplicate=1)  # every event twice, as Stripe may
        made = await asyncio.to_thread(_rehearse_a_month, sb, account["secret_key"], account["id"])
        responses = await receiver.forward(client, f"/webhooks/stripe/{token}")
    finally:
        receiver.close()
    assert responses and all(r.status_code == 200 for r in responses)
    await drain()
    stored_counts = {r.json()["stored"] for r in responses}
    assert stored_counts == {0, 1}  # the duplicates stored nothing
    with unscoped():
        events = await Event.filter(workspace_id=ws.id)
        clock_jobs = await Job.filter(name="handler:core.test_clocks").count()
    clock_events = [e for e in events if e.type.startswith("test_helpers.test_clock.")]
    assert len({e.stripe_event_id for e in events}) == len(events) == len(responses) // 2
    assert clock_jobs == len(clock_events) >= 3  # created, advancing, ready: each handled once
    assert all(e.api_version for e in events)
    with workspace_scope(ws.id):
        clock = await StripeTestClock.get(clock_id=made["clock"])
        now = await customer_now(runtime, account["id"], customer_id=made["customer"])
    assert clock.status == "ready"
    assert now == datetime.fromtimestamp(T0 + 86400, UTC)


async def test_sandbox_connect_deliveries(
    app: object,
    runtime: Runtime,
    client: httpx.AsyncClient,
    drain: Any,
    sb: RunningSandbox,
    connect_receiver: tuple[WebhookReceiver, str],
) -> None:
    receiver, _ = connect_receiver
    known = sb.create_account(name="Known")
    stranger = sb.create_account(name="Stranger")
    ws = await Workspace.create(name="Shop", slug="shop")
    await connected_account(
        runtime, ws.id, stripe_account_id=known["id"], mode=ConnectionMode.OAUTH
    )
    receiver.take()  # whatever account creation sent
    for key in (known["secret_key"], stranger["secret_key"]):
        await asyncio.to_thread(
            sb.client(key).v1.customers.create, params={"email": "bo@example.test"}
        )
    await asyncio.to_thread(sb.wait_for_deliveries)
    responses = await receiver.forward(client, "/webhooks/stripe/connect")
    assert responses and all(r.status_code == 200 for r in responses)
    await drain()
    with unscoped():
        mine = await Event.filter(workspace_id=ws.id, type="customer.created")
        orphans = await Event.filter(workspace_id=None, stripe_account_id=stranger["id"])
    assert [e.stripe_account_id for e in mine] == [known["id"]]
    assert [e.type for e in orphans] == ["customer.created"]
    assert all(e.source == "connect" for e in [*mine, *orphans])
