"""Connect access tokens that Stripe stops accepting: one refresh through authlib, the new token
stored encrypted and the call retried once; a refused refresh marks the connection as needing
reconnection, shown in the UI and webhook health, and nothing loops. All against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from core.events.health import webhook_health
from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import oauth
from core.stripe.access import StripeAccessError, stripe_access, unseal
from core.tenancy import workspace_scope
from core.testing.fixtures import pointed_at
from sandbox.oauth import deauthorize_account
from sandbox.testing import RunningSandbox, running_sandbox
from tests.core.web_support import create_workspace, html, sign_in

REDIRECT = "http://testserver/onboarding/stripe/callback"


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-refresh") as sandbox:
        yield sandbox


@pytest.fixture
def settings(settings: Settings, sb: RunningSandbox) -> Settings:
    return pointed_at(settings, sb)


async def connect(
    runtime: Runtime, sb: RunningSandbox, ws: Workspace, account: str = ""
) -> StripeAccount:
    """Connect OAuth as an operator does it: `account` picks an existing Stripe account."""
    request = oauth.start(runtime.settings, scope="read_write", redirect_uri=REDIRECT)
    callback = sb.authorize(request.url, account=account)
    return await oauth.complete(
        runtime,
        ws,
        callback_url=callback,
        expected_state=request.state,
        redirect_uri=REDIRECT,
        scope="read_write",
    )


def roll(sb: RunningSandbox, key: str) -> None:
    """The account rolls the key in its Dashboard, expiring it now."""
    assert sb.http.post("/_sandbox/keys/roll", json={"key": key}).status_code == 200


def issued_tokens(sb: RunningSandbox, account: str) -> int:
    """How many access tokens the sandbox has issued the platform for `account`."""
    return sb.call(
        lambda: sum(1 for k in sb.state.keys.values() if k.account_id == account and k.issued_to)
    )


async def stored(account: StripeAccount) -> StripeAccount:
    with workspace_scope(account.workspace_id):
        return await StripeAccount.get(id=account.id)


async def test_a_rolled_token_is_refreshed_once_and_the_call_retried(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="Roll", slug="roll")
    account = await connect(runtime, sb, ws)
    old_token = unseal(runtime, account, "access_token")
    refresh_token = unseal(runtime, account, "refresh_token")
    assert old_token and refresh_token
    access = stripe_access(runtime, account)
    await access.client.v1.customers.list_async(options=access.options())
    roll(sb, old_token)
    before = issued_tokens(sb, account.stripe_account_id)

    customer = await access.client.v1.customers.create_async(
        params={"email": "after-roll@example.com"}, options=access.options()
    )
    assert customer.id in sb.state.accounts[account.stripe_account_id].store.objects
    fresh = await stored(account)
    new_token = unseal(runtime, fresh, "access_token")
    assert new_token not in (None, old_token)
    assert new_token not in (fresh.access_token_enc or "")  # encrypted at rest
    assert unseal(runtime, fresh, "refresh_token") == refresh_token
    assert fresh.status == ConnectionStatus.ACTIVE
    assert issued_tokens(sb, account.stripe_account_id) == before + 1

    # The same client and a new one both go on with the new token: no further refresh.
    await access.client.v1.customers.list_async(options=access.options())
    again = stripe_access(runtime, fresh)
    await again.client.v1.customers.list_async(options=again.options())
    assert issued_tokens(sb, account.stripe_account_id) == before + 1


async def test_concurrent_refusals_cause_one_refresh(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="Crowd", slug="crowd")
    account = await connect(runtime, sb, ws)
    roll(sb, unseal(runtime, account, "access_token") or "")
    before = issued_tokens(sb, account.stripe_account_id)
    clients = [stripe_access(runtime, account) for _ in range(3)]
    pages = await asyncio.gather(
        *(a.client.v1.customers.list_async(options=a.options()) for a in clients for _ in range(3))
    )
    assert len(pages) == 9
    assert issued_tokens(sb, account.stripe_account_id) == before + 1


async def test_a_refused_refresh_marks_the_connection_for_reconnection(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    """The account removed the platform in Stripe (tokens and refresh token revoked) and the
    deauthorization event has not arrived: the refresh is refused, the connection says so, and
    later calls are refused here without reaching Stripe."""
    await sign_in(client, "ops@refused.example")
    await create_workspace(client, "Refused")
    ws = await Workspace.get(name="Refused")
    account = await connect(runtime, sb, ws)
    access = stripe_access(runtime, account)
    sb.call(lambda: deauthorize_account(sb.state, sb.state.accounts[account.stripe_account_id]))
    before = issued_tokens(sb, account.stripe_account_id)

    with pytest.raises(stripe.AuthenticationError):
        await access.client.v1.customers.list_async(options=access.options())
    fresh = await stored(account)
    assert fresh.status == ConnectionStatus.RECONNECT
    assert "refresh" in fresh.access_error and "Refresh token does not exist" in fresh.access_error
    assert fresh.access_token_enc is None and fresh.refresh_token_enc is None
    assert issued_tokens(sb, account.stripe_account_id) == before
    with pytest.raises(StripeAccessError, match="needs reconnecting"):
        stripe_access(runtime, fresh)
    # The old client's next call gets its 401 without another refresh attempt.
    with pytest.raises(stripe.AuthenticationError):
        await access.client.v1.customers.list_async(options=access.options())

    (health,) = await webhook_health(ws.id)
    assert health.needs_reconnect and not health.healthy
    assert health.to_json()["needs_reconnect"] is True
    settings_page = html(await client.get("/app/settings/stripe"))
    card = settings_page.css_first(f"#stripe-account-{account.id}")
    assert card is not None and card.attributes["data-status"] == "reconnect"
    assert card.css_first('.reconnect form[action="/onboarding/stripe/oauth"]') is not None
    banner = settings_page.css_first(".reconnect-banner")
    assert banner is not None and "Reconnect it" in banner.text()

    # Connecting the same Stripe account again puts the connection back to work.
    again = await connect(runtime, sb, ws, account=account.stripe_account_id)
    assert again.id == account.id and again.status == ConnectionStatus.ACTIVE
    assert again.access_error == ""
    renewed = stripe_access(runtime, again)
    await renewed.client.v1.customers.list_async(options=renewed.options())


async def test_a_refresh_that_cannot_reach_stripe_changes_nothing(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    ws = await Workspace.create(name="Offline", slug="offline")
    account = await connect(runtime, sb, ws)
    roll(sb, unseal(runtime, account, "access_token") or "")
    # Connect's token endpoint is unreachable (the API still answers): a passing failure.
    runtime.settings = runtime.settings.replace(stripe_connect_base="http://127.0.0.1:9")
    access = stripe_access(runtime, account)
    with pytest.raises(stripe.AuthenticationError):
        await access.client.v1.customers.list_async(options=access.options())
    fresh = await stored(account)
    assert fresh.status == ConnectionStatus.ACTIVE and fresh.access_error == ""
    assert unseal(runtime, fresh, "refresh_token") == unseal(runtime, account, "refresh_token")


async def test_a_rolled_restricted_key_asks_for_a_new_one(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    """A restricted key has nothing to refresh: a 401 marks the connection at once, and
    pasting the replacement key puts it back to work."""
    from core.stripe.restricted_key import connect_with_key

    ws = await Workspace.create(name="Keyed", slug="keyed")
    shop = sb.create_account(name="Keyed shop", connected=False)
    account = (await connect_with_key(runtime, ws, shop["restricted_key"])).account
    access = stripe_access(runtime, account)
    await access.client.v1.customers.list_async(options=access.options())
    replacement = sb.http.post("/_sandbox/keys/roll", json={"key": shop["restricted_key"]}).json()

    with pytest.raises(stripe.AuthenticationError, match="Expired API Key"):
        await access.client.v1.customers.list_async(options=access.options())
    fresh = await stored(account)
    assert fresh.status == ConnectionStatus.RECONNECT and "restricted key" in fresh.access_error
    with pytest.raises(StripeAccessError, match="needs reconnecting"):
        stripe_access(runtime, fresh)
    (health,) = await webhook_health(ws.id)
    assert health.needs_reconnect

    again = (await connect_with_key(runtime, ws, replacement["secret"])).account
    assert again.id == account.id and again.status == ConnectionStatus.ACTIVE
    assert again.access_error == ""
    renewed = stripe_access(runtime, again)
    await renewed.client.v1.customers.list_async(options=renewed.options())
