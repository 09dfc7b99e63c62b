"""Rotating a managed endpoint's signing secret loses nothing: deliveries the sandbox queued on
the old endpoint before the rotation still arrive, signed with the old secret, and are accepted
during the grace window; afterwards the old endpoint is deleted and its secret refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe

from core.clock import FrozenClock
from core.models.accounts import StripeAccount
from core.models.events import Event
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import webhook_setup
from core.stripe.restricted_key import connect_with_key
from core.tenancy import unscoped, workspace_scope
from core.testing.fixtures import pointed_at
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox

GRACE = 3600.0


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="rotation") as sandbox:
        yield sandbox


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def settings(settings: Settings, sb: RunningSandbox, receiver: WebhookReceiver) -> Settings:
    # SecondLoop's public URL is the receiver: every endpoint we create delivers there, and the
    # test replays what arrived into the app with the signature untouched.
    return pointed_at(settings, sb).replace(
        base_url=receiver.url.removesuffix("/hook"), webhook_secret_grace=GRACE
    )


async def replay(
    client: httpx.AsyncClient,
    receiver: WebhookReceiver,
    requests: list[dict[str, Any]] | None = None,
) -> list[httpx.Response]:
    """Post what the receiver got (or `requests`) to the app, body and signature untouched."""
    responses = []
    for request in receiver.take() if requests is None else requests:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": request["headers"]["Stripe-Signature"],
        }
        responses.append(
            await client.post(request["path"], content=request["body"], headers=headers)
        )
    return responses


async def connected(runtime: Runtime, sb: RunningSandbox, name: str) -> tuple[Any, Any, Any]:
    workspace = await Workspace.create(name=name, slug=name.lower())
    shop = sb.create_account(name=name, connected=False)
    result = await connect_with_key(runtime, workspace, shop["restricted_key"])
    assert result.account.webhook_endpoint_id  # SecondLoop manages the endpoint
    return workspace, result.account, sb.client(shop["secret_key"])


def new_clock(sb: RunningSandbox, shop: Any) -> str:
    """Something that happens on the account: a `test_helpers.test_clock.created` event (a
    type SecondLoop's endpoint subscribes to)."""
    return str(shop.v1.test_helpers.test_clocks.create({"frozen_time": sb.state.clock.now()}).id)


async def rotate(runtime: Runtime, account: StripeAccount, **kwargs: Any) -> None:
    with workspace_scope(account.workspace_id):
        await webhook_setup.rotate_secret(runtime, account, **kwargs)


async def test_deliveries_queued_before_a_rotation_arrive_and_verify(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sb: RunningSandbox,
    receiver: WebhookReceiver,
    clock: FrozenClock,
) -> None:
    _, account, shop = await connected(runtime, sb, "Rolling")
    old_endpoint = account.webhook_endpoint_id
    sb.set_delivery_options(paused=True)
    try:
        before = [new_clock(sb, shop) for _ in range(3)]
        await rotate(runtime, account)
        assert account.webhook_endpoint_id != old_endpoint
        assert account.retiring_webhook_endpoint_id == old_endpoint
        after = [new_clock(sb, shop) for _ in range(2)]
    finally:
        sb.set_delivery_options(paused=False)
    sb.wait_for_deliveries()

    delivered = list(receiver.requests)
    responses = await replay(client, receiver)
    assert responses and all(r.status_code == 200 for r in responses), [r.text for r in responses]
    # The old endpoint delivered everything queued on it (the earlier events included), signed
    # with the old secret only; the new one delivered what happened after its creation.
    old = {d["event"] for d in sb.deliveries(endpoint=old_endpoint) if d["status"] == 200}
    new = {d["event"] for d in sb.deliveries(endpoint=account.webhook_endpoint_id)}
    assert len(old) == 5 and len(new) == 2 and new < old
    with unscoped():
        stored = await Event.filter(
            stripe_account_id=account.stripe_account_id, type="test_helpers.test_clock.created"
        ).values_list("payload", flat=True)
        fresh = await StripeAccount.get(id=account.id)
    clocks = sorted(p["data"]["object"]["id"] for p in stored)
    assert clocks == sorted(before + after) and fresh.signature_failures == 0

    # The grace window ends: the schedule's task deletes the old endpoint and forgets its
    # secret, and a delivery signed with it is refused from then on.
    assert await webhook_setup.retire_expired(None, runtime) == 0  # not yet
    clock.advance(timedelta(seconds=GRACE + 1))
    assert await webhook_setup.retire_expired(None, runtime) == 1
    with pytest.raises(stripe.InvalidRequestError):
        shop.v1.webhook_endpoints.retrieve(old_endpoint)
    with unscoped():
        retired = await StripeAccount.get(id=account.id)
    assert retired.retiring_webhook_endpoint_id is None
    assert retired.previous_webhook_secret_enc is None
    statuses = [r.status_code for r in await replay(client, receiver, delivered)]
    assert sorted(statuses) == [200] * len(new) + [400] * len(old)  # old-signed: refused


async def test_the_old_secret_expires_at_intake_even_before_the_task_runs(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sb: RunningSandbox,
    receiver: WebhookReceiver,
    clock: FrozenClock,
) -> None:
    _, account, shop = await connected(runtime, sb, "Expiring")
    old_endpoint = account.webhook_endpoint_id
    sb.set_delivery_options(paused=True)
    try:
        new_clock(sb, shop)
        await rotate(runtime, account)
        clock.advance(timedelta(seconds=GRACE + 1))  # the window is over, the task not run
    finally:
        sb.set_delivery_options(paused=False)
    sb.wait_for_deliveries()
    responses = await replay(client, receiver)
    assert [r.status_code for r in responses] == [400]
    assert sb.deliveries(endpoint=old_endpoint)


async def test_revoking_the_old_secret_at_once_drops_the_old_endpoint(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sb: RunningSandbox,
    receiver: WebhookReceiver,
) -> None:
    """For a leaked secret: no grace. Stripe does not retry a deleted endpoint's deliveries, so
    what was queued on it is gone — the loss the grace window exists to prevent."""
    _, account, shop = await connected(runtime, sb, "Leaked")
    old_endpoint = account.webhook_endpoint_id
    sb.set_delivery_options(paused=True)
    try:
        new_clock(sb, shop)
        await rotate(runtime, account, keep_old=False)
    finally:
        sb.set_delivery_options(paused=False)
    sb.wait_for_deliveries()
    assert await replay(client, receiver) == []
    with pytest.raises(stripe.InvalidRequestError):
        shop.v1.webhook_endpoints.retrieve(old_endpoint)
    assert account.previous_webhook_secret_enc is None


async def test_a_pasted_secret_keeps_the_previous_one_for_the_window(
    app: Any, runtime: Runtime, sb: RunningSandbox, clock: FrozenClock
) -> None:
    _, account, _ = await connected(runtime, sb, "Pasted")
    first = webhook_setup.accepted_secrets(runtime, account)
    assert len(first) == 1
    await rotate(runtime, account, new_secret="whsec_operator_rolled_0123")
    assert webhook_setup.accepted_secrets(runtime, account) == (
        "whsec_operator_rolled_0123",
        first[0],
    )
    clock.advance(timedelta(seconds=GRACE))
    assert webhook_setup.accepted_secrets(runtime, account) == ("whsec_operator_rolled_0123",)
