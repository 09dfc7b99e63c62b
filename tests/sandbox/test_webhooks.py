"""Webhook endpoints, signed deliveries, retries, duplicate / reorder / delay options."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import stripe

from sandbox.testing import RunningSandbox, WebhookReceiver


def _endpoint(
    sb: RunningSandbox, receiver: WebhookReceiver, **extra: object
) -> stripe.WebhookEndpoint:
    params = {"url": receiver.url, "enabled_events": ["customer.created", "customer.updated"]}
    params.update(extra)  # type: ignore[arg-type]
    return sb.client().v1.webhook_endpoints.create(params=params)  # type: ignore[arg-type]


def test_endpoint_crud(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    client = sb.client()
    endpoint = _endpoint(sb, receiver, api_version="2026-10-28.endive")
    assert endpoint.secret and endpoint.secret.startswith("whsec_")
    assert endpoint.status == "enabled" and endpoint.api_version == "2026-10-28.endive"
    fetched = client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in fetched.to_dict()
    updated = client.v1.webhook_endpoints.update(
        endpoint.id, params={"enabled_events": ["*"], "disabled": True}
    )
    assert updated.enabled_events == ["*"] and updated.status == "disabled"
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [endpoint.id]
    assert client.v1.webhook_endpoints.delete(endpoint.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": []})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["customer.created", "customer.nope"]}
        )
    assert exc.value.param == "enabled_events[1]"


def test_deliveries_are_signed_like_stripe(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    endpoint = _endpoint(sb, receiver)
    client = sb.client()
    customer = client.v1.customers.create(params={"email": "w@example.com"})
    client.v1.customers.update(customer.id, params={"name": "Wendy"})
    client.v1.products.create(params={"name": "not subscribed"})
    sb.wait_for(lambda: len(receiver.requests) >= 2)
    sb.wait_for_deliveries()
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        event = stripe.Webhook.construct_event(
            request["body"], request["headers"]["Stripe-Signature"], endpoint.secret
        )
        assert event.object == "event" and event.livemode is False
        assert event.api_version == "2026-10-28.endive"
    created, updated = receiver.events()
    assert created["type"] == "customer.created" and created["data"]["object"]["id"] == customer.id
    assert updated["data"]["previous_attributes"] == {"name": None}
    assert updated["request"]["idempotency_key"]
    assert "account" not in created
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            receiver.requests[0]["body"],
            receiver.requests[0]["headers"]["Stripe-Signature"],
            "whsec_x",
        )
    log = sb.deliveries(endpoint=endpoint.id)
    assert [d["succeeded"] for d in log] == [True, True]
    sb.wait_for(lambda: client.v1.events.retrieve(created["id"]).pending_webhooks == 0)


def test_non_2xx_is_retried(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    _endpoint(sb, receiver)
    receiver.statuses = [500, 503]
    sb.client().v1.customers.create()
    sb.wait_for(lambda: len(receiver.requests) == 3)
    sb.wait_for(lambda: len(sb.deliveries(type="customer.created")) == 3)
    log = sb.deliveries(type="customer.created")
    assert [(d["attempt"], d["status"], d["succeeded"]) for d in log] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]


def test_retries_stop_after_the_schedule(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    _endpoint(sb, receiver)
    receiver.statuses = [500] * 10
    sb.client().v1.customers.create()
    sb.wait_for(lambda: len(receiver.requests) == 4)  # 1 attempt + 3 scheduled retries
    sb.wait_for_deliveries()
    assert not sb.state.outbox and len(receiver.requests) == 4


def test_duplicate_reorder_and_delay(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    _endpoint(sb, receiver)
    sb.set_delivery_options(duplicate=1)
    client = sb.client()
    client.v1.customers.create()
    sb.wait_for(lambda: len(receiver.requests) == 2)
    first, second = receiver.events()
    assert first["id"] == second["id"]
    # The receiver answers before the sandbox logs the attempt: wait for the log too.
    sb.wait_for(lambda: len(sb.deliveries()) == 2)
    assert [d["duplicate"] for d in sb.deliveries()] == [False, True]

    receiver.requests.clear()
    sb.set_delivery_options(duplicate=0, reorder=True, reorder_window=0.3, paused=True)
    made = [client.v1.customers.create().id for _ in range(3)]
    sb.set_delivery_options(paused=False)
    sb.wait_for(lambda: len(receiver.requests) == 3)
    assert [e["data"]["object"]["id"] for e in receiver.events()] == made[::-1]

    receiver.requests.clear()
    sb.set_delivery_options(reorder=False, delay=0.5)
    client.v1.customers.create()
    assert sb.state.outbox and sb.state.outbox[0].due > sb.state.wall_time()
    sb.wait_for(lambda: len(receiver.requests) == 1)


def test_connect_endpoint_gets_connected_events_only(
    sb: RunningSandbox, receiver: WebhookReceiver
) -> None:
    platform = sb.client()
    platform.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["customer.created"], "connect": True}
    )
    account = sb.create_account()
    platform.v1.customers.create()  # the platform's own event: not for a Connect endpoint
    theirs = platform.v1.customers.create(options={"stripe_account": account["id"]})
    sb.wait_for(lambda: len(receiver.requests) >= 1)
    sb.wait_for_deliveries()
    events = receiver.events()
    assert [e["data"]["object"]["id"] for e in events] == [theirs.id]
    assert events[0]["account"] == account["id"]
    own = sb.client(account["secret_key"]).v1.events.retrieve(events[0]["id"])
    assert own.account == account["id"]


def test_events_delivery_success_filter(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    _endpoint(sb, receiver)
    receiver.statuses = [500] * 10
    client = sb.client()
    failing = client.v1.customers.create()
    sb.wait_for(lambda: len(receiver.requests) == 4)
    receiver.statuses = []
    client.v1.customers.update(failing.id, params={"name": "ok"})
    sb.wait_for(lambda: len(receiver.requests) == 5)
    sb.wait_for_deliveries()
    pending = client.v1.events.list(params={"delivery_success": False})
    assert [e.type for e in pending.data] == ["customer.created"]
    done = client.v1.events.list(params={"delivery_success": True, "type": "customer.updated"})
    assert len(done.data) == 1


async def test_receiver_forwards_into_an_asgi_app(receiver: WebhookReceiver) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from sandbox.testing import running_sandbox_async

    seen: list[str] = []

    async def hook(request: Request) -> JSONResponse:
        event = stripe.Webhook.construct_event(
            (await request.body()).decode(), request.headers["stripe-signature"], secret
        )
        seen.append(event.type)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/stripe/webhook", hook, methods=["POST"])])
    async with running_sandbox_async(seed="fwd", extensions=()) as sb:
        endpoint = _endpoint(sb, receiver)
        secret = endpoint.secret
        await sb.client().v1.customers.create_async()
        await asyncio.to_thread(sb.wait_for, lambda: len(receiver.requests) == 1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as c:
        responses = await receiver.forward(c, "/stripe/webhook")
    assert [r.status_code for r in responses] == [200] and seen == ["customer.created"]
    assert receiver.requests == []


def test_resend_and_log_limit(sb: RunningSandbox, receiver: WebhookReceiver) -> None:
    endpoint = _endpoint(sb, receiver)
    customer = sb.client().v1.customers.create()
    sb.wait_for(lambda: len(receiver.requests) == 1)
    event_id = receiver.events()[0]["id"]
    answer = sb.http.post(f"/_sandbox/events/{event_id}/resend", json={"endpoint": endpoint.id})
    assert answer.json()["endpoints"] == [endpoint.id]
    sb.wait_for(lambda: len(receiver.requests) == 2)
    again = receiver.events()[1]
    sb.wait_for(lambda: len(sb.deliveries()) == 2)
    assert again["id"] == event_id and again["data"]["object"]["id"] == customer.id
    assert len(sb.deliveries(limit="1")) == 1 and len(sb.deliveries()) == 2
    assert sb.http.post("/_sandbox/events/evt_nope/resend").status_code == 404
