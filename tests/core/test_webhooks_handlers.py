"""From a stored event to its handlers: once each, isolated failures, retries, the sweeper."""

from __future__ import annotations

import asyncio
import types
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core import jobs
from core.clock import FrozenClock
from core.contributions import StripeEventHandler
from core.events.normalize import StripeEvent
from core.events.testing import connected_account, signed, stripe_event
from core.jobs import Uninterpretable
from core.models import Event, Job, Workspace
from core.models.events import EventStatus, JobStatus
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import current_workspace_id, unscoped

calls: list[tuple[str, str, int | None]] = []
crashes = {"left": 0}
broken = {"on": False}
stored: list[str] = []
# The test's record of each subscription's state, kept the way a correct handler keeps it:
# an event older than what was applied never overwrites it.
subscriptions: dict[str, tuple[int, str]] = {}


async def _record(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    calls.append(("record", event.stripe_event_id, current_workspace_id()))


async def _crashy(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    calls.append(("crashy", event.stripe_event_id, current_workspace_id()))
    if crashes["left"] > 0:
        crashes["left"] -= 1
        raise RuntimeError("boom")


async def _track_subscription(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    if broken["on"] and not isinstance(event.object.get("items"), dict):
        raise Uninterpretable("subscription without an items list")
    view = event.subscription
    assert view is not None
    created = int(event.created.timestamp())
    if view.id in subscriptions and subscriptions[view.id][0] > created:
        return  # stale: a newer state was already applied
    subscriptions[view.id] = (created, view.status or "")


def _event_stored(event: Event, runtime: Runtime) -> None:
    stored.append(event.stripe_event_id)


plugin = types.SimpleNamespace(
    register_stripe_handlers=hookimpl(
        lambda: [
            StripeEventHandler("test.record", ["invoice.payment_failed"], _record),
            StripeEventHandler("test.crashy", ["invoice.payment_failed"], _crashy, max_attempts=3),
            StripeEventHandler(
                "test.subscriptions", ["customer.subscription.updated"], _track_subscription
            ),
        ]
    ),
    event_stored=hookimpl(_event_stored),
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Only the core and this test's plugin: installed plugins' handlers would add jobs."""
    return settings.replace(plugins=())


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    calls.clear()
    stored.clear()
    subscriptions.clear()
    crashes["left"] = 0
    broken["on"] = False
    return [("webhook-handlers-test", plugin)]


def _invoice_failed(**kwargs: Any) -> dict[str, Any]:
    return stripe_event(
        "invoice.payment_failed", {"object": "invoice", "id": "in_1", "customer": "cus_1"}, **kwargs
    )


async def _jobs() -> dict[str, Job]:
    with unscoped():
        return {job.name: job for job in await Job.all()}


async def _event() -> Event:
    with unscoped():
        return await Event.get()


async def test_each_handler_runs_once_even_when_delivered_twice(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    payload = _invoice_failed()
    for _ in range(3):
        assert (
            await client.post(f"/webhooks/stripe/{token}", **signed(payload))
        ).status_code == 200
    await drain()
    assert sorted(calls) == [("crashy", payload["id"], ws.id), ("record", payload["id"], ws.id)]
    assert stored == [payload["id"]]
    event = await _event()
    assert event.status == EventStatus.PROCESSED
    assert {name: job.status for name, job in (await _jobs()).items()} == {
        "handler:test.crashy": JobStatus.DONE,
        "handler:test.record": JobStatus.DONE,
    }


async def test_a_crashing_handler_is_retried_while_the_others_finish(
    app: object, runtime: Runtime, clock: FrozenClock, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    crashes["left"] = 1
    await client.post(f"/webhooks/stripe/{token}", **signed(_invoice_failed()))
    await drain()
    found = await _jobs()
    assert found["handler:test.record"].status == JobStatus.DONE
    crashy = found["handler:test.crashy"]
    assert (crashy.status, crashy.attempts) == (JobStatus.PENDING, 1)
    assert "boom" in crashy.last_error
    assert crashy.run_after > runtime.now()
    assert (await _event()).status == EventStatus.RECEIVED
    clock.advance(timedelta(minutes=5))
    await drain()
    crashy = (await _jobs())["handler:test.crashy"]
    assert (crashy.status, crashy.attempts) == (JobStatus.DONE, 2)
    assert (await _event()).status == EventStatus.PROCESSED


async def test_a_handler_that_keeps_crashing_fails_the_event_after_its_attempts(
    app: object, runtime: Runtime, clock: FrozenClock, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    crashes["left"] = 99
    await client.post(f"/webhooks/stripe/{token}", **signed(_invoice_failed()))
    for _ in range(4):
        await drain()
        clock.advance(timedelta(hours=1))
    crashy = (await _jobs())["handler:test.crashy"]
    assert (crashy.status, crashy.attempts) == (JobStatus.FAILED, 3)
    assert (await _event()).status == EventStatus.FAILED
    assert [c for c in calls if c[0] == "record"] != []


async def test_a_lost_broker_message_is_recovered_by_the_sweeper(
    app: object,
    runtime: Runtime,
    clock: FrozenClock,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    assert runtime.broker is not None

    async def lost(*args: Any, **kwargs: Any) -> None:
        return None  # the broker swallowed the message

    monkeypatch.setattr(runtime.broker, "kick", lost)
    assert (
        await client.post(f"/webhooks/stripe/{token}", **signed(_invoice_failed()))
    ).status_code == 200
    assert calls == []
    monkeypatch.undo()
    clock.advance(jobs.DISPATCH_GRACE + timedelta(seconds=1))
    assert await jobs.sweep(runtime) == 2
    if runtime.settings.embedded_broker:
        assert sorted(c[0] for c in calls) == ["crashy", "record"]


async def test_out_of_order_delivery_keeps_the_newest_state(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    t = 1_800_000_000

    def update(status: str, created: int) -> dict[str, Any]:
        return stripe_event(
            "customer.subscription.updated",
            {"object": "subscription", "id": "sub_1", "status": status, "customer": "cus_1"},
            created=created,
        )

    for payload in (update("active", t + 60), update("past_due", t)):
        assert (
            await client.post(f"/webhooks/stripe/{token}", **signed(payload))
        ).status_code == 200
    await drain()
    assert subscriptions["sub_1"] == (t + 60, "active")


async def test_concurrent_duplicates_store_one_event(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    request = signed(_invoice_failed())
    responses = await asyncio.gather(
        *(client.post(f"/webhooks/stripe/{token}", **request) for _ in range(6))
    )
    assert [r.status_code for r in responses] == [200] * 6
    assert sum(r.json()["stored"] for r in responses) == 1
    await drain()
    assert sorted(c[0] for c in calls) == ["crashy", "record"]


async def test_an_uninterpretable_event_is_kept_and_marked(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    payload = stripe_event(
        "customer.subscription.updated", {"object": "subscription", "id": "sub_1", "items": 7}
    )
    broken["on"] = True
    response = await client.post(f"/webhooks/stripe/{token}", **signed(payload))
    assert response.status_code == 200
    await drain()
    event = await _event()
    assert event.status == EventStatus.UNINTERPRETABLE
    job = (await _jobs())["handler:test.subscriptions"]
    assert (job.status, job.attempts) == (JobStatus.SKIPPED, 1)
    assert "uninterpretable" in job.last_error
