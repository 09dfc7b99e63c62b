"""Connecting by restricted key against the real sandbox over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from core.crypto import hash_token
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import permissions, webhook_setup
from core.stripe.access import stripe_access, unseal
from core.stripe.accounts import accounts_for_stripe_id, get_account, list_accounts
from core.stripe.restricted_key import ConnectError, connect_with_key, verify_key
from core.tenancy import TenancyError, workspace_scope
from core.testing.fixtures import pointed_at
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-key") as sandbox:
        yield sandbox


@pytest.fixture
def settings(settings: Settings, sb: RunningSandbox) -> Settings:
    return pointed_at(settings, sb)


class Recorder:
    """A test plugin that records `stripe_account_connected` notifications."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, str]] = []

    @hookimpl
    def stripe_account_connected(self, workspace: Workspace, account: StripeAccount) -> None:
        self.connected.append((workspace.slug, account.stripe_account_id))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def extra_plugins(recorder: Recorder) -> list[tuple[str, object]]:
    return [("test-recorder", recorder)]


def mint_key(sb: RunningSandbox, account: str, perms: dict[str, str]) -> str:
    response = sb.http.post("/_sandbox/keys", json={"account": account, "permissions": perms})
    response.raise_for_status()
    secret: str = response.json()["secret"]
    return secret


def endpoints(sb: RunningSandbox, key: str) -> list[Any]:
    return list(sb.client(key).v1.webhook_endpoints.list().data)


async def workspace(slug: str) -> Workspace:
    return await Workspace.create(name=slug.title(), slug=slug)


async def test_full_restricted_key_connects_and_creates_the_endpoint(
    app: Any, runtime: Runtime, sb: RunningSandbox, recorder: Recorder
) -> None:
    shop = sb.create_account(name="Key Shop")
    ws = await workspace("keyshop")

    result = await connect_with_key(runtime, ws, shop["restricted_key"])
    assert recorder.connected == [("keyshop", shop["id"])]

    account = result.account
    assert account.stripe_account_id == shop["id"]
    assert account.mode == ConnectionMode.RESTRICTED_KEY
    assert account.status == ConnectionStatus.ACTIVE and account.verified_at is not None
    assert account.created_at == runtime.now()  # the core's clock, not the wall clock
    assert account.display_name == "Key Shop"
    assert account.missing_permissions == []
    assert result.endpoint_created and result.instructions == [] and result.warnings == []
    # The URL carries an opaque token whose hash finds the account.
    token = result.webhook_url.rsplit("/", 1)[1]
    assert result.webhook_url == f"http://testserver/webhooks/stripe/{token}"
    assert account.webhook_token_hash == hash_token(token)
    # The endpoint exists on the operator's account, aimed at that URL, with its secret kept.
    (endpoint,) = endpoints(sb, shop["secret_key"])
    assert endpoint.id == account.webhook_endpoint_id
    assert endpoint.url == result.webhook_url
    assert "account.application.deauthorized" in endpoint.enabled_events
    assert endpoint.api_version == stripe.api_version
    secret = unseal(runtime, account, "webhook_secret")
    assert secret is not None and secret.startswith("whsec_")
    assert sb.state.accounts[shop["id"]].store.hidden_of(endpoint.id)["secret"] == secret
    # Secrets are ciphertexts at rest, never the plain key.
    assert shop["restricted_key"] not in (account.api_key_enc or "")
    # stripe_access talks to the account with the operator's key, no Stripe-Account header.
    access = stripe_access(runtime, account)
    assert access.stripe_account is None
    customer = await access.client.v1.customers.create_async(params={"email": "a@example.com"})
    assert customer.id in sb.state.accounts[shop["id"]].store.objects


async def test_missing_permissions_are_named_and_the_operator_told_what_to_paste(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    shop = sb.create_account(name="Narrow")
    key = mint_key(
        sb,
        shop["id"],
        {
            "accounts": "read",
            "customers": "read",
            "invoices": "read",
            "subscriptions": "read",
            "charges": "read",
            "payment_methods": "read",
            "events": "read",
        },
    )
    check = await verify_key(runtime, key)
    assert check.stripe_account_id == shop["id"]
    # Every plugin's needs are probed; reads are listed before writes.
    assert set(check.missing) == {
        "disputes:read",  # the audit's
        "test_clocks:read",
        "invoices:write",  # recovery's
        "billing_portal:write",
        "subscriptions:write",
        "checkout_sessions:write",
        "webhook_endpoints:write",  # the core's
    }
    assert check.missing[:2] == ["disputes:read", "test_clocks:read"]
    lines = permissions.describe(check.missing, permissions.needed(runtime))
    assert any("Disputes: Read" in line for line in lines)
    assert any("(optional)" in line and "Webhook Endpoints" in line for line in lines)

    ws = await workspace("narrow")
    result = await connect_with_key(runtime, ws, key)
    assert not result.endpoint_created
    assert result.account.webhook_secret_enc is None
    assert result.webhook_url in result.instructions[0]
    assert result.account.missing_permissions == check.missing
    assert endpoints(sb, shop["secret_key"]) == []

    # Pasting the secret afterwards uses the operator's endpoint.
    again = await connect_with_key(runtime, ws, key, webhook_secret="whsec_operator_pasted_1")
    assert again.account.id == result.account.id
    assert again.webhook_url == result.webhook_url  # the URL survives a reconnect
    assert unseal(runtime, again.account, "webhook_secret") == "whsec_operator_pasted_1"


async def test_read_only_key_lacks_every_write(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    shop = sb.create_account(name="Reader")
    check = await verify_key(runtime, shop["read_only_key"])
    assert set(check.missing) == {
        "invoices:write",
        "billing_portal:write",
        "subscriptions:write",
        "checkout_sessions:write",
        permissions.WEBHOOK_ENDPOINTS_WRITE,
    }
    # A read-only key is enough for the audit; recovery cannot retry or link without these two.
    assert permissions.required_missing(check.missing, permissions.needed(runtime)) == [
        "invoices:write",
        "billing_portal:write",
    ]


async def test_a_key_that_cannot_read_its_account_is_still_identified(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    shop = sb.create_account(name="No account read")
    key = mint_key(sb, shop["id"], {p: "write" for p in ("customers", "invoices", "events")})
    check = await verify_key(runtime, key)
    assert check.stripe_account_id == shop["id"]
    assert "disputes:read" in check.missing and "customers:read" not in check.missing


async def test_bad_keys_get_clear_errors_and_secret_keys_a_warning(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    with pytest.raises(ConnectError, match="rejected"):
        await verify_key(runtime, "rk_test_" + "x" * 40)
    with pytest.raises(ConnectError, match="publishable"):
        await verify_key(runtime, "pk_test_abc")
    with pytest.raises(ConnectError, match="rk_test_"):
        await verify_key(runtime, "hello")
    ws = await workspace("badsecret")
    shop = sb.create_account(name="Sk")
    with pytest.raises(ConnectError, match="whsec_"):
        await connect_with_key(runtime, ws, shop["restricted_key"], webhook_secret="nope")
    check = await verify_key(runtime, shop["secret_key"])
    assert check.missing == [] and "restricted key" in check.warnings[0]


async def test_rotating_token_and_secret(app: Any, runtime: Runtime, sb: RunningSandbox) -> None:
    shop = sb.create_account(name="Rotator")
    ws = await workspace("rotator")
    result = await connect_with_key(runtime, ws, shop["restricted_key"])
    account = result.account
    old_secret = unseal(runtime, account, "webhook_secret")
    old_endpoint = account.webhook_endpoint_id

    with workspace_scope(ws.id):
        token = await webhook_setup.rotate_token(runtime, account)
        new_url = webhook_setup.webhook_url(runtime, token)
        assert new_url != result.webhook_url
        (endpoint,) = endpoints(sb, shop["secret_key"])
        assert endpoint.url == new_url  # the endpoint we manage follows the URL

        await webhook_setup.rotate_secret(runtime, account)
        fresh = await StripeAccount.get(id=account.id)
    assert fresh.webhook_endpoint_id != old_endpoint
    assert unseal(runtime, fresh, "webhook_secret") not in (None, old_secret)
    assert unseal(runtime, fresh, "previous_webhook_secret") == old_secret
    # The old endpoint stays for the grace window (tests/core/test_stripe_webhook_rotation.py),
    # and both follow the next token rotation.
    assert sorted(e.id for e in endpoints(sb, shop["secret_key"])) == sorted(
        [old_endpoint, fresh.webhook_endpoint_id]
    )
    with workspace_scope(ws.id):
        token = await webhook_setup.rotate_token(runtime, fresh)
    urls = {e.url for e in endpoints(sb, shop["secret_key"])}
    assert urls == {webhook_setup.webhook_url(runtime, token)}


async def test_workspaces_do_not_see_each_others_accounts(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    shop = sb.create_account(name="Shared")
    a, b = await workspace("wsa"), await workspace("wsb")
    result = await connect_with_key(runtime, a, shop["restricted_key"])
    assert await get_account(b, result.account.id) is None
    assert await list_accounts(b) == []
    assert [acc.id for acc in await list_accounts(a)] == [result.account.id]
    with workspace_scope(b.id), pytest.raises(TenancyError):
        await webhook_setup.rotate_secret(runtime, result.account, "whsec_from_workspace_b")
    with workspace_scope(a.id):
        stored = await StripeAccount.get(id=result.account.id)
    assert unseal(runtime, stored, "webhook_secret") != "whsec_from_workspace_b"
    assert [acc.workspace_id for acc in await accounts_for_stripe_id(shop["id"])] == [a.id]


async def test_secrets_never_reach_the_logs(
    app: Any, runtime: Runtime, sb: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    shop = sb.create_account(name="Quiet")
    ws = await workspace("quiet")
    with caplog.at_level(logging.DEBUG):
        result = await connect_with_key(runtime, ws, shop["restricted_key"])
        with workspace_scope(ws.id):
            await webhook_setup.rotate_secret(runtime, result.account)
            token = await webhook_setup.rotate_token(runtime, result.account)
    secret = unseal(runtime, result.account, "webhook_secret")
    assert caplog.records  # the SDK did log its requests
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for value in (shop["restricted_key"], secret, token):
        assert value and value not in logged
