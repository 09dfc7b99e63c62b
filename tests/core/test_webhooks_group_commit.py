"""Group commit: concurrent deliveries share one transaction, and still each get their own
truthful answer — stored, duplicate, or 5xx with nothing stored."""

from __future__ import annotations

import asyncio
import types
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tortoise import connections

from core.contributions import StripeEventHandler
from core.events.normalize import StripeEvent
from core.events.store import Target, group_commit, store_event
from core.events.testing import connected_account, signed, stripe_event
from core.models import Event, Job, Workspace
from core.models.accounts import CustomerClock
from core.models.events import EventStatus, JobStatus
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped

handled: list[tuple[str, str]] = []


async def _first(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    handled.append(("first", event.stripe_event_id))


async def _second(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    handled.append(("second", event.stripe_event_id))


plugin = types.SimpleNamespace(
    register_stripe_handlers=hookimpl(
        lambda: [
            StripeEventHandler("gc.first", ["invoice.payment_failed"], _first),
            StripeEventHandler("gc.second", ["invoice.payment_failed"], _second),
        ]
    )
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(plugins=())


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    handled.clear()
    return [("group-commit-test", plugin)]


def _invoice_failed(**kwargs: Any) -> dict[str, Any]:
    obj = {"object": "invoice", "id": "in_1", "customer": "cus_1", "test_clock": "clock_1"}
    return stripe_event("invoice.payment_failed", obj, **kwargs)


async def _events() -> list[Event]:
    with unscoped():
        return await Event.all().order_by("id")


async def _jobs() -> list[Job]:
    with unscoped():
        return await Job.all().order_by("id")


@pytest_asyncio.fixture
async def refuse_events(app: object) -> AsyncIterator[Any]:
    """`await refuse_events(pattern)`: the database itself refuses to insert any event whose id
    is LIKE `pattern` (a real failure inside the batch's transaction, not a mock)."""
    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"

    async def refuse(pattern: str) -> None:
        if sqlite:
            await conn.execute_script(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON core_event "
                f"WHEN NEW.stripe_event_id LIKE '{pattern}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END;"
            )
        else:
            await conn.execute_script(
                "CREATE FUNCTION refuse_events() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.stripe_event_id LIKE '{pattern}' THEN "
                "RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql; CREATE TRIGGER refuse_events BEFORE INSERT ON core_event "
                "FOR EACH ROW EXECUTE FUNCTION refuse_events();"
            )

    async def allow() -> None:
        if sqlite:
            await conn.execute_script("DROP TRIGGER IF EXISTS refuse_events;")
        else:
            await conn.execute_script(
                "DROP TRIGGER IF EXISTS refuse_events ON core_event; "
                "DROP FUNCTION IF EXISTS refuse_events();"
            )

    refuse.allow = allow  # type: ignore[attr-defined]
    yield refuse
    await allow()


async def test_deliveries_queued_together_share_one_transaction(
    app: object, runtime: Runtime, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    target = Target(ws.id, "acct_test1", "account")
    known = _invoice_failed()
    await store_event(runtime, known, [target])
    writer = group_commit(runtime)
    before = writer.batches
    fresh = [_invoice_failed() for _ in range(3)]
    # A repeat of an earlier event, and the same new event twice within the batch.
    results = await asyncio.gather(
        *(store_event(runtime, p, [target]) for p in [*fresh, known, fresh[0]])
    )
    assert writer.batches == before + 1
    assert [(len(r.event_ids), r.duplicates) for r in results] == [(1, 0)] * 3 + [(0, 1)] * 2
    events = await _events()
    assert sorted(e.stripe_event_id for e in events) == sorted(p["id"] for p in [known, *fresh])
    jobs = await _jobs()
    assert sorted((j.event_id, j.name) for j in jobs) == sorted(
        (e.id, name) for e in events for name in ("handler:gc.first", "handler:gc.second")
    )
    with unscoped():  # the customer's clock is learned once, in the event's transaction
        assert await CustomerClock.filter(customer_id="cus_1").count() == 1
    await drain()
    assert sorted(handled) == sorted(
        (name, p["id"]) for p in [known, *fresh] for name in ("first", "second")
    )
    assert {e.status for e in await _events()} == {EventStatus.PROCESSED}


async def test_deliveries_that_arrive_a_turn_later_still_join_the_batch(
    app: object, runtime: Runtime
) -> None:
    """The writer lets a few loop turns pass before it takes a batch, so deliveries still
    being read and verified when the first one queued get into the same commit."""
    from core.events.commit import GATHER_TURNS

    ws = await Workspace.create(name="A", slug="a")
    target = Target(ws.id, "acct_test1", "account")
    await store_event(runtime, _invoice_failed(), [target])
    writer = group_commit(runtime)
    before = writer.batches

    async def later(turns: int) -> None:
        for _ in range(turns):
            await asyncio.sleep(0)
        await store_event(runtime, _invoice_failed(), [target])

    await asyncio.gather(*(later(turns) for turns in range(GATHER_TURNS)))
    assert writer.batches == before + 1
    assert len(await _events()) == 1 + GATHER_TURNS


async def test_many_concurrent_requests_store_each_event_once(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    payloads = [_invoice_failed() for _ in range(20)]
    requests = [signed(p) for p in payloads] * 2  # every event delivered twice, all at once
    responses = await asyncio.gather(
        *(client.post(f"/webhooks/stripe/{token}", **r) for r in requests)
    )
    assert [r.status_code for r in responses] == [200] * 40
    assert sum(r.json()["stored"] for r in responses) == 20
    assert sum(r.json()["duplicates"] for r in responses) == 20
    assert group_commit(runtime).batches < 40
    assert len(await _events()) == 20
    assert len(await _jobs()) == 40
    await drain()
    assert sorted(handled) == sorted(
        (name, p["id"]) for p in payloads for name in ("first", "second")
    )
    with unscoped():
        assert await Job.filter(status=JobStatus.DONE).count() == 40


async def test_a_batch_that_cannot_commit_answers_5xx_to_all_and_stores_nothing(
    app: object, runtime: Runtime, client: httpx.AsyncClient, refuse_events: Any, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    payloads = [_invoice_failed() for _ in range(5)]
    await refuse_events("evt_%")
    responses = await asyncio.gather(
        *(client.post(f"/webhooks/stripe/{token}", **signed(p)) for p in payloads)
    )
    assert [r.status_code for r in responses] == [503] * 5
    assert {r.json()["error"]["code"] for r in responses} == {"not_stored"}
    assert await _events() == [] and await _jobs() == []
    with unscoped():
        assert await CustomerClock.all().count() == 0
    # Stripe retries: once the database accepts writes again, nothing was lost.
    await refuse_events.allow()
    retried = await asyncio.gather(
        *(client.post(f"/webhooks/stripe/{token}", **signed(p)) for p in payloads)
    )
    assert [r.json()["stored"] for r in retried] == [1] * 5
    await drain()
    assert len(handled) == 10


async def test_one_refused_event_does_not_sink_the_others_in_its_batch(
    app: object, runtime: Runtime, refuse_events: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    target = Target(ws.id, "acct_test1", "account")
    good = [_invoice_failed() for _ in range(3)]
    bad = _invoice_failed(id="evt_refused_1")
    await refuse_events("evt_refused%")
    results = await asyncio.gather(
        *(store_event(runtime, p, [target]) for p in [good[0], bad, *good[1:]]),
        return_exceptions=True,
    )
    assert isinstance(results[1], Exception)
    assert [len(r.event_ids) for i, r in enumerate(results) if i != 1] == [1, 1, 1]  # type: ignore[union-attr]
    assert sorted(e.stripe_event_id for e in await _events()) == sorted(p["id"] for p in good)
    assert len(await _jobs()) == 6


async def test_orphaned_copies_are_deduplicated_within_and_across_batches(
    app: object, runtime: Runtime
) -> None:
    orphan = Target(None, "acct_unknown", "connect")
    payload = _invoice_failed()
    results = await asyncio.gather(*(store_event(runtime, payload, [orphan]) for _ in range(3)))
    assert sorted(len(r.event_ids) for r in results) == [0, 0, 1]
    again = await store_event(runtime, payload, [orphan])
    assert (again.event_ids, again.duplicates) == ([], 1)
    [event] = await _events()
    assert (event.workspace_id, event.status) == (None, EventStatus.ORPHANED)
    assert await _jobs() == []
