"""Connect OAuth round trip against the real sandbox: authorize page, callback, disconnect,
forged state, and `account.application.deauthorized` revoking the connection."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.events.normalize import StripeEvent
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import oauth, permissions
from core.stripe.access import stripe_access, unseal
from core.tenancy import workspace_scope
from core.testing.fixtures import pointed_at
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox

REDIRECT = "http://testserver/onboarding/stripe/callback"


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-oauth") as sandbox:
        yield sandbox


@pytest.fixture
def settings(settings: Settings, sb: RunningSandbox) -> Settings:
    return pointed_at(settings, sb)


def approve_on_the_page(sb: RunningSandbox, authorize_url: str) -> str:
    """Do what the operator does: open the authorize page and submit its approve form."""
    page = httpx.get(authorize_url)
    assert page.status_code == 200
    form = HTMLParser(page.text).css_first("form")
    assert form is not None
    data = {str(i.attrs["name"]): str(i.attrs.get("value") or "") for i in form.css("input")}
    buttons = {b.attrs.get("value") for b in form.css("button[name=decision]")}
    assert "approve" in buttons
    data.update(decision="approve", account="")  # "" creates a new account
    answer = httpx.post(f"{sb.url}{form.attrs['action']}", data=data)
    assert answer.status_code == 302
    return answer.headers["location"]


async def connect(runtime: Runtime, sb: RunningSandbox, ws: Workspace, scope: str) -> StripeAccount:
    request = oauth.start(runtime.settings, scope=scope, redirect_uri=REDIRECT)
    assert request.url.startswith(f"{sb.url}/oauth/authorize?")
    callback = approve_on_the_page(sb, request.url)
    assert callback.startswith(REDIRECT)
    return await oauth.complete(
        runtime,
        ws,
        callback_url=callback,
        expected_state=request.state,
        redirect_uri=REDIRECT,
        scope=scope,
    )


async def test_oauth_round_trip_and_disconnect(
    app: Any, runtime: Runtime, sb: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await Workspace.create(name="Oauth", slug="oauth")
    with caplog.at_level(logging.DEBUG):
        account = await connect(runtime, sb, ws, "read_write")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("sandbox"))
    for field in ("access_token", "refresh_token"):
        value = unseal(runtime, account, field)
        assert value and value not in logged

    assert account.mode == ConnectionMode.OAUTH and account.status == ConnectionStatus.ACTIVE
    assert account.created_at == runtime.now()  # the core's clock, not the wall clock
    assert account.scope == "read_write" and account.missing_permissions == []
    assert account.stripe_account_id in sb.state.accounts
    assert sb.state.accounts[account.stripe_account_id].platform == sb.platform_id
    token = unseal(runtime, account, "access_token")
    assert token and token not in (account.access_token_enc or "")
    assert unseal(runtime, account, "refresh_token")
    # The connection's own access token reaches the connected account (no Stripe-Account).
    access = stripe_access(runtime, account)
    assert access.stripe_account is None and access.options() == {}
    customer = await access.client.v1.customers.create_async(
        params={"email": "b@example.com"}, options=access.options()
    )
    assert customer.id in sb.state.accounts[account.stripe_account_id].store.objects

    await oauth.disconnect(runtime, account)
    with workspace_scope(ws.id):
        stored = await StripeAccount.get(id=account.id)
    assert stored.status == ConnectionStatus.REVOKED and stored.revoked_at is not None
    assert stored.access_token_enc is None and stored.refresh_token_enc is None
    assert sb.state.accounts[account.stripe_account_id].platform is None


async def test_read_only_scope_is_recorded(app: Any, runtime: Runtime, sb: RunningSandbox) -> None:
    ws = await Workspace.create(name="Ro", slug="ro")
    account = await connect(runtime, sb, ws, "read_only")
    assert account.scope == "read_only"
    assert account.missing_permissions == ["scope:read_write"]
    (line,) = permissions.describe(account.missing_permissions, permissions.needed(runtime))
    assert "Read and write" in line


async def test_forged_or_missing_state_is_refused(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="Forge", slug="forge")
    request = oauth.start(runtime.settings, scope="read_write", redirect_uri=REDIRECT)
    callback = approve_on_the_page(sb, request.url)
    for expected in ("someone-elses-state", None):
        with pytest.raises(oauth.OAuthStateError):
            await oauth.complete(
                runtime,
                ws,
                callback_url=callback,
                expected_state=expected,
                redirect_uri=REDIRECT,
                scope="read_write",
            )
    with workspace_scope(ws.id):
        assert await StripeAccount.all().count() == 0


async def test_denied_authorization_is_a_clear_failure(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="Deny", slug="deny")
    request = oauth.start(runtime.settings, scope="read_write", redirect_uri=REDIRECT)
    callback = sb.authorize(request.url, approve=False)
    with pytest.raises(oauth.OAuthFailed, match=r"did not authorize.*denied"):
        await oauth.complete(
            runtime,
            ws,
            callback_url=callback,
            expected_state=request.state,
            redirect_uri=REDIRECT,
            scope="read_write",
        )


async def test_deauthorized_event_marks_the_connection_revoked(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="Deauth", slug="deauth")
    account = await connect(runtime, sb, ws, "read_write")
    receiver = WebhookReceiver()
    try:
        platform = sb.client()
        platform.v1.webhook_endpoints.create(
            params={
                "url": receiver.url,
                "enabled_events": ["account.application.deauthorized"],
                "connect": True,
            }
        )
        # The operator disconnects SecondLoop from Stripe's side.
        platform.oauth.deauthorize(
            params={"client_id": sb.client_id, "stripe_user_id": account.stripe_account_id}
        )
        sb.wait_for(lambda: len(receiver.requests) >= 1)
        payload = json.loads(receiver.requests[0]["body"])
    finally:
        receiver.close()
    assert payload["account"] == account.stripe_account_id
    event = StripeEvent(
        id=1,
        stripe_event_id=payload["id"],
        type=payload["type"],
        account=payload["account"],
        api_version=payload.get("api_version") or "",
        created=datetime.fromtimestamp(payload["created"], UTC),
        object=payload["data"]["object"],
        previous_attributes={},
    )
    handler = runtime.handlers["core.stripe.deauthorized"]
    assert "account.application.deauthorized" in handler.event_types
    for _ in range(2):  # idempotent
        await handler.func(event=event, workspace_id=ws.id, runtime=runtime)
    with workspace_scope(ws.id):
        stored = await StripeAccount.get(id=account.id)
    assert stored.status == ConnectionStatus.REVOKED
    assert stored.access_token_enc is None
