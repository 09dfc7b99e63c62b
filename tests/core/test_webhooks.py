"""The webhook endpoints: signatures, body limits, tokens, and what gets stored."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import stripe

from core.events.testing import WEBHOOK_SECRET, connected_account, signed, stripe_event
from core.models import Event, Job, StripeAccount, Workspace
from core.models.accounts import ConnectionMode, ConnectionStatus
from core.models.events import EventStatus
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped

CONNECT_SECRET = "whsec_connect_" + "c" * 20


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        stripe_connect_webhook_secret=CONNECT_SECRET, max_webhook_body=4096, plugins=()
    )


async def _setup(runtime: Runtime) -> tuple[Workspace, StripeAccount, str]:
    ws = await Workspace.create(name="A", slug="a")
    account, token = await connected_account(runtime, ws.id)
    return ws, account, token


async def _events() -> list[Event]:
    with unscoped():
        return await Event.all().order_by("id")


async def _failures(account: StripeAccount) -> int:
    with unscoped():
        return (await StripeAccount.get(id=account.id)).signature_failures


def _customer_event(**kwargs: Any) -> dict[str, Any]:
    return stripe_event("customer.created", {"object": "customer", "id": "cus_1"}, **kwargs)


async def test_a_signed_event_is_stored_in_the_accounts_workspace(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ws, _account, token = await _setup(runtime)
    payload = _customer_event(api_version="2020-08-27")
    response = await client.post(f"/webhooks/stripe/{token}", **signed(payload))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "stored": 1, "duplicates": 0}
    [event] = await _events()
    assert (event.workspace_id, event.stripe_account_id) == (ws.id, "acct_test1")
    assert (event.stripe_event_id, event.type, event.api_version) == (
        payload["id"],
        "customer.created",
        "2020-08-27",
    )
    assert event.source == "account"
    assert event.payload == payload


async def test_forged_signature_is_rejected_and_counted(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, account, token = await _setup(runtime)
    response = await client.post(
        f"/webhooks/stripe/{token}", **signed(_customer_event(), "whsec_wrong_secret_xx")
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await _events() == []
    assert await _failures(account) == 1
    with unscoped():
        assert (await StripeAccount.get(id=account.id)).last_signature_failure_at == runtime.now()


async def test_missing_signature_is_rejected(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, account, token = await _setup(runtime)
    response = await client.post(f"/webhooks/stripe/{token}", content=json.dumps(_customer_event()))
    assert response.status_code == 400
    assert await _failures(account) == 1


async def test_tampered_body_is_rejected(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, account, token = await _setup(runtime)
    request = signed(_customer_event())
    request["content"] = request["content"].replace("cus_1", "cus_2")
    response = await client.post(f"/webhooks/stripe/{token}", **request)
    assert response.status_code == 400
    assert await _events() == []
    assert await _failures(account) == 1


async def test_stale_signature_is_rejected(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, _account, token = await _setup(runtime)
    old = int(time.time()) - 301 - 5
    response = await client.post(
        f"/webhooks/stripe/{token}", **signed(_customer_event(), timestamp=old)
    )
    assert response.status_code == 400
    assert await _events() == []


async def test_a_replayed_old_delivery_is_rejected_but_a_prompt_repeat_is_a_duplicate(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, _, token = await _setup(runtime)
    payload = _customer_event()
    stale = signed(payload, timestamp=int(time.time()) - 3600)
    assert (await client.post(f"/webhooks/stripe/{token}", **stale)).status_code == 400
    fresh = signed(payload)
    first = await client.post(f"/webhooks/stripe/{token}", **fresh)
    again = await client.post(f"/webhooks/stripe/{token}", **fresh)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"received": True, "stored": 0, "duplicates": 1}
    assert len(await _events()) == 1


async def test_two_v1_signatures_during_rotation(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, _, token = await _setup(runtime)
    body = json.dumps(_customer_event())
    t = int(time.time())
    old = stripe.WebhookSignature._compute_signature(f"{t}.{body}", "whsec_old_secret_" + "o" * 10)
    new = stripe.WebhookSignature._compute_signature(f"{t}.{body}", WEBHOOK_SECRET)
    headers = {"Stripe-Signature": f"t={t},v1={old},v1={new}", "Content-Type": "application/json"}
    response = await client.post(f"/webhooks/stripe/{token}", content=body, headers=headers)
    assert response.status_code == 200
    assert len(await _events()) == 1


async def test_oversize_body_is_413(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, account, token = await _setup(runtime)
    payload = _customer_event()
    payload["data"]["object"]["description"] = "x" * 5000
    response = await client.post(f"/webhooks/stripe/{token}", **signed(payload))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"

    async def chunks() -> Any:  # no Content-Length: the limit holds while streaming too
        for _ in range(10):
            yield b"x" * 1000

    streamed = await client.post(f"/webhooks/stripe/{token}", content=chunks())
    assert streamed.status_code == 413
    assert await _events() == []
    assert await _failures(account) == 0


async def test_malformed_json_is_400(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, _, token = await _setup(runtime)
    response = await client.post(f"/webhooks/stripe/{token}", **signed('{"id": "evt_1", "type": '))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    not_event = await client.post(f"/webhooks/stripe/{token}", **signed('{"id": "evt_1"}'))
    assert not_event.status_code == 400
    assert not_event.json()["error"]["code"] == "not_an_event"


async def test_unknown_token_is_404(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _setup(runtime)
    response = await client.post("/webhooks/stripe/wh_nope", **signed(_customer_event()))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_endpoint"


async def test_connect_events_go_to_every_workspace_that_connected_the_account(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await Workspace.create(name="A", slug="a")
    b = await Workspace.create(name="B", slug="b")
    await connected_account(
        runtime, a.id, stripe_account_id="acct_shared", mode=ConnectionMode.OAUTH
    )
    await connected_account(
        runtime, b.id, stripe_account_id="acct_shared", mode=ConnectionMode.OAUTH
    )
    payload = _customer_event(account="acct_shared")
    response = await client.post("/webhooks/stripe/connect", **signed(payload, CONNECT_SECRET))
    assert response.json() == {"received": True, "stored": 2, "duplicates": 0}
    again = await client.post("/webhooks/stripe/connect", **signed(payload, CONNECT_SECRET))
    assert again.json() == {"received": True, "stored": 0, "duplicates": 2}
    assert sorted(e.workspace_id for e in await _events()) == [a.id, b.id]


async def test_connect_endpoint_checks_its_own_secret(
    app: object, client: httpx.AsyncClient
) -> None:
    payload = _customer_event(account="acct_x")
    response = await client.post("/webhooks/stripe/connect", **signed(payload, WEBHOOK_SECRET))
    assert response.status_code == 400
    missing = await client.post(
        "/webhooks/stripe/connect", **signed(_customer_event(), CONNECT_SECRET)
    )
    assert missing.json()["error"]["code"] == "no_account"


async def test_events_for_unknown_or_revoked_accounts_are_orphaned(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: Any
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    await connected_account(
        runtime,
        ws.id,
        stripe_account_id="acct_gone",
        mode=ConnectionMode.OAUTH,
        status=ConnectionStatus.REVOKED,
    )
    for account in ("acct_unknown", "acct_gone"):
        payload = stripe_event(
            "test_helpers.test_clock.ready",
            {"object": "test_helpers.test_clock", "id": "clock_1", "frozen_time": 1},
            account=account,
        )
        for _ in range(2):  # the repeat is a duplicate even without a workspace
            response = await client.post(
                "/webhooks/stripe/connect", **signed(payload, CONNECT_SECRET)
            )
            assert response.status_code == 200
    await drain()
    events = await _events()
    assert [(e.stripe_account_id, e.workspace_id, e.status) for e in events] == [
        ("acct_unknown", None, EventStatus.ORPHANED),
        ("acct_gone", None, EventStatus.ORPHANED),
    ]
    with unscoped():
        assert await Job.all().count() == 0


async def test_an_event_nobody_handles_is_ignored(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, _, token = await _setup(runtime)
    payload = stripe_event("balance.available", {"object": "balance"})
    assert (await client.post(f"/webhooks/stripe/{token}", **signed(payload))).status_code == 200
    [event] = await _events()
    assert event.status == EventStatus.IGNORED


async def test_a_rotated_secret_is_honoured_at_once_despite_the_cache(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from core.stripe.access import seal

    _, account, token = await _setup(runtime)
    first = await client.post(f"/webhooks/stripe/{token}", **signed(_customer_event()))
    assert first.status_code == 200  # the endpoint is now cached with the old secret
    new_secret = "whsec_rotated_" + "r" * 20
    with unscoped():
        row = await StripeAccount.get(id=account.id)
        seal(runtime, row, "webhook_secret", new_secret)
        await row.save()
    rotated = await client.post(
        f"/webhooks/stripe/{token}", **signed(_customer_event(), new_secret)
    )
    assert rotated.status_code == 200
    assert await _failures(account) == 0
    stale = await client.post(f"/webhooks/stripe/{token}", **signed(_customer_event()))
    assert stale.status_code == 400
    assert await _failures(account) == 1
