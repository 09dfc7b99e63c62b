"""End to end with the webhook intake: the secret SecondLoop stored for an account verifies the
sandbox's real deliveries, and a real `account.application.deauthorized` delivered to the
Connect endpoint revokes the connection through the core's handler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.events import Event
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import oauth
from core.stripe.restricted_key import connect_with_key
from core.tenancy import workspace_scope
from core.testing.fixtures import pointed_at
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-e2e") as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def connect_receiver(sb: RunningSandbox) -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver()
    endpoint = sb.client().v1.webhook_endpoints.create(
        params={
            "url": receiver.url,
            "enabled_events": ["account.application.deauthorized"],
            "connect": True,
        }
    )
    yield receiver, str(endpoint.secret)
    receiver.close()


@pytest.fixture
def settings(
    settings: Settings, sb: RunningSandbox, connect_receiver: tuple[WebhookReceiver, str]
) -> Settings:
    return pointed_at(settings, sb).replace(
        stripe_connect_webhook_secret=connect_receiver[1],
    )


async def test_the_managed_endpoint_secret_verifies_real_deliveries(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="E2e", slug="e2e")
    shop = sb.create_account(name="Delivering")
    result = await connect_with_key(runtime, ws, shop["restricted_key"])
    token = result.webhook_url.rsplit("/", 1)[1]
    receiver = WebhookReceiver()
    try:
        # The sandbox cannot reach http://testserver: aim our endpoint at a local receiver and
        # replay what it gets into the app, signature untouched.
        shop_client = sb.client(shop["secret_key"])
        shop_client.v1.webhook_endpoints.update(
            str(result.account.webhook_endpoint_id), params={"url": receiver.url}
        )
        clock = shop_client.v1.test_helpers.test_clocks.create(
            params={"frozen_time": sb.state.clock.now()}
        )
        shop_client.v1.test_helpers.test_clocks.advance(
            clock.id, params={"frozen_time": clock.frozen_time + 86400}
        )
        sb.wait_for_clock(shop["id"], clock.id)
        sb.wait_for_deliveries()
        responses = await receiver.forward(client, f"/webhooks/stripe/{token}")
    finally:
        receiver.close()
    assert responses and all(r.status_code == 200 for r in responses), [r.text for r in responses]
    with workspace_scope(ws.id):
        types = set(await Event.all().values_list("type", flat=True))
    assert "test_helpers.test_clock.ready" in types


async def test_deauthorized_delivery_revokes_the_connection(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sb: RunningSandbox,
    drain: Any,
    connect_receiver: tuple[WebhookReceiver, str],
) -> None:
    receiver = connect_receiver[0]
    receiver.take()
    ws = await Workspace.create(name="Gone", slug="gone")
    redirect = "http://testserver/onboarding/stripe/callback"
    start = oauth.start(runtime.settings, scope="read_write", redirect_uri=redirect)
    account = await oauth.complete(
        runtime,
        ws,
        callback_url=sb.authorize(start.url),
        expected_state=start.state,
        redirect_uri=redirect,
        scope="read_write",
    )
    sb.client().oauth.deauthorize(
        params={"client_id": sb.client_id, "stripe_user_id": account.stripe_account_id}
    )
    sb.wait_for(lambda: len(receiver.requests) >= 1)
    responses = await receiver.forward(client, "/webhooks/stripe/connect")
    assert [r.status_code for r in responses] == [200]
    await drain()
    with workspace_scope(ws.id):
        stored = await StripeAccount.get(id=account.id)
    assert stored.status == ConnectionStatus.REVOKED and stored.revoked_at is not None
