"""GET /api/v1/events, /api/v1/events/{id} and /api/v1/webhooks/health, per workspace."""

from __future__ import annotations

import types
from typing import Any

import httpx
import pytest

from core.api.keys import create_key
from core.contributions import StripeEventHandler
from core.events.health import webhook_health
from core.events.normalize import StripeEvent
from core.events.testing import connected_account, signed, stripe_event
from core.models import Event, Workspace
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped


async def _fails(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    raise RuntimeError("handler exploded")


async def _fine(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    return None


plugin = types.SimpleNamespace(
    register_stripe_handlers=hookimpl(
        lambda: [
            StripeEventHandler("test.fails", ["invoice.payment_failed"], _fails, max_attempts=1),
            StripeEventHandler("test.fine", ["invoice.payment_failed"], _fine),
        ]
    )
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Only the core and this test's plugin: installed plugins' handlers would add jobs."""
    return settings.replace(plugins=())


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("events-api-test", plugin)]


async def _world(runtime: Runtime, client: httpx.AsyncClient, drain: Any) -> dict[str, Any]:
    a = await Workspace.create(name="A", slug="a")
    b = await Workspace.create(name="B", slug="b")
    _, token_a = await connected_account(runtime, a.id, stripe_account_id="acct_a")
    _, token_b = await connected_account(runtime, b.id, stripe_account_id="acct_b")
    invoice = {"object": "invoice", "id": "in_1"}
    for i in range(3):
        payload = stripe_event("customer.created", {"object": "customer", "id": f"cus_{i}"})
        await client.post(f"/webhooks/stripe/{token_a}", **signed(payload))
    await client.post(
        f"/webhooks/stripe/{token_a}", **signed(stripe_event("invoice.payment_failed", invoice))
    )
    await client.post(
        f"/webhooks/stripe/{token_a}",
        **signed(stripe_event("customer.created", {}), "whsec_bad_xxxxx"),
    )
    await client.post(
        f"/webhooks/stripe/{token_b}", **signed(stripe_event("invoice.payment_failed", invoice))
    )
    await drain()
    key_a = await create_key(runtime, a.id, "read")
    return {"a": a, "b": b, "auth": {"Authorization": f"Bearer {key_a.secret}"}}


async def test_events_list_filters_and_pages(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    world = await _world(runtime, client, drain)
    response = await client.get("/api/v1/events", headers=world["auth"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) == 4 and body["has_more"] is False
    assert {e["stripe_account_id"] for e in body["data"]} == {"acct_a"}  # never workspace B's

    failed = await client.get("/api/v1/events?type=invoice.payment_failed", headers=world["auth"])
    assert [e["status"] for e in failed.json()["data"]] == ["failed"]
    ignored = await client.get("/api/v1/events?status=ignored&limit=2", headers=world["auth"])
    page = ignored.json()
    assert len(page["data"]) == 2 and page["has_more"] is True
    rest = await client.get(
        f"/api/v1/events?status=ignored&starting_after={page['data'][-1]['id']}",
        headers=world["auth"],
    )
    assert len(rest.json()["data"]) == 1 and rest.json()["has_more"] is False
    bad = await client.get("/api/v1/events?status=bogus", headers=world["auth"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"


async def test_one_event_shows_each_handler(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    world = await _world(runtime, client, drain)
    with unscoped():
        mine = await Event.get(workspace_id=world["a"].id, type="invoice.payment_failed")
        theirs = await Event.get(workspace_id=world["b"].id)
    response = await client.get(f"/api/v1/events/{mine.id}", headers=world["auth"])
    assert response.status_code == 200
    handlers = {h["handler"]: h for h in response.json()["handlers"]}
    assert handlers["test.fails"]["status"] == "failed"
    assert handlers["test.fails"]["attempts"] == 1
    assert "handler exploded" in handlers["test.fails"]["last_error"]
    assert handlers["test.fine"]["status"] == "done"
    assert response.json()["data"]["object"]["id"] == "in_1"
    other = await client.get(f"/api/v1/events/{theirs.id}", headers=world["auth"])
    assert other.status_code == 404


async def test_webhook_health(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    world = await _world(runtime, client, drain)
    [health] = await webhook_health(world["a"].id)
    assert health.stripe_account_id == "acct_a"
    assert (health.signature_failures, health.handler_failures, health.pending_jobs) == (1, 1, 0)
    assert health.last_event_type == "invoice.payment_failed"
    assert health.last_event_at == runtime.now()
    assert health.lag_seconds is not None and health.orphaned == 0
    assert not health.healthy
    response = await client.get("/api/v1/webhooks/health", headers=world["auth"])
    assert [h["stripe_account_id"] for h in response.json()["data"]] == ["acct_a"]
    assert response.json()["data"][0]["handler_failures"] == 1


async def test_the_openapi_document_lists_the_event_endpoints(
    app: object, client: httpx.AsyncClient
) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert {"/events", "/events/{id}", "/webhooks/health"} <= set(paths)
    assert paths["/events/{id}"]["get"]["summary"].startswith("One stored event")
