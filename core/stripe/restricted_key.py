"""Connecting a Stripe account by a restricted key (`rk_…`) and a webhook signing secret.

The key is verified by a live call, its permissions probed, and the workspace gets its own
webhook URL. Given a `whsec_…` we use that endpoint; without one, SecondLoop creates the
endpoint on the account when the key may, and otherwise says what to paste where.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

import stripe

from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.stripe import permissions, webhook_setup
from core.stripe.access import account_label, forget, seal
from core.stripe.client import StripeAccess, make_client
from core.tenancy import workspace_scope

_ACCOUNT_IN_MESSAGE = re.compile(r"account '(acct_[A-Za-z0-9]+)'")


class ConnectError(ValueError):
    """The key or secret cannot connect an account; the message says why and what to do."""


@dataclass(frozen=True)
class KeyCheck:
    stripe_account_id: str
    display_name: str
    livemode: bool
    missing: list[str]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectResult:
    account: StripeAccount
    webhook_url: str
    endpoint_created: bool
    warnings: list[str]
    instructions: list[str]


def _check_format(api_key: str) -> list[str]:
    if api_key.startswith(("rk_test_", "rk_live_")):
        return []
    if api_key.startswith(("sk_test_", "sk_live_")):
        return [
            "This is a full secret key. A restricted key (rk_…) with only the permissions "
            "SecondLoop needs is safer; create one under Developers → API keys."
        ]
    if api_key.startswith("pk_"):
        raise ConnectError("That is a publishable key (pk_…); paste a restricted key (rk_…).")
    raise ConnectError("A Stripe restricted key starts with rk_test_ or rk_live_.")


async def _identify(access: StripeAccess) -> tuple[str, str, bool]:
    """The key's own account: id, display name, livemode."""
    try:
        account = await access.client.v1.accounts.retrieve_current_async(options=access.options())
    except stripe.AuthenticationError as exc:
        raise ConnectError("Stripe rejected this key (it is invalid, rolled or revoked).") from exc
    except stripe.PermissionError as exc:
        # A restricted key without "Account: Read" still names its account in the error.
        match = _ACCOUNT_IN_MESSAGE.search(str(exc.user_message or exc))
        if match is None:
            raise ConnectError(
                "This key cannot read its account; grant it “Account: Read” and try again."
            ) from exc
        return match.group(1), "", False
    except stripe.APIConnectionError as exc:
        raise ConnectError("Could not reach Stripe to verify the key; try again.") from exc
    livemode = bool(account["livemode"]) if "livemode" in account else False
    return account.id, account_label(account), livemode


async def verify_key(runtime: Runtime, api_key: str) -> KeyCheck:
    """Verify the key with a live call and probe the permissions SecondLoop needs."""
    api_key = api_key.strip()
    warnings = _check_format(api_key)
    access = StripeAccess(client=make_client(runtime.settings, api_key), stripe_account=None)
    account_id, name, livemode = await _identify(access)
    missing = await permissions.probe(access, permissions.needed(runtime))
    return KeyCheck(account_id, name, livemode, missing, warnings)


async def connect_with_key(
    runtime: Runtime, workspace: Workspace, api_key: str, webhook_secret: str | None = None
) -> ConnectResult:
    """Verify, store (encrypted) and activate; reconnecting the same account updates its row."""
    api_key = api_key.strip()
    secret = (webhook_secret or "").strip() or None
    if secret is not None:
        try:
            webhook_setup.check_secret(secret)
        except ValueError as exc:
            raise ConnectError(str(exc)) from exc
    check = await verify_key(runtime, api_key)
    with workspace_scope(workspace.id):
        account = await StripeAccount.filter(stripe_account_id=check.stripe_account_id).first()
        if account is None:
            account = StripeAccount(
                workspace_id=workspace.id,
                stripe_account_id=check.stripe_account_id,
                mode=ConnectionMode.RESTRICTED_KEY,
                created_at=runtime.now(),
            )
            await account.save()  # the id is part of every ciphertext's context
        account.mode = ConnectionMode.RESTRICTED_KEY
        account.display_name = check.display_name or check.stripe_account_id
        account.livemode = check.livemode
        account.missing_permissions = check.missing
        forget(account, "access_token", "refresh_token")
        seal(runtime, account, "api_key", api_key)
        if not account.webhook_token_hash:
            webhook_setup.issue_token(runtime, account)
        endpoint_created, instructions = await _webhook(runtime, account, check, secret)
        account.status = ConnectionStatus.ACTIVE
        account.access_error = ""
        account.verified_at = runtime.now()
        account.revoked_at = None
        await account.save()
    url = webhook_setup.account_webhook_url(runtime, account) or ""
    await runtime.host.notify(
        "stripe_account_connected", workspace=workspace, account=account, runtime=runtime
    )
    return ConnectResult(account, url, endpoint_created, check.warnings, instructions)


async def _webhook(
    runtime: Runtime, account: StripeAccount, check: KeyCheck, secret: str | None
) -> tuple[bool, list[str]]:
    if secret is not None:
        if account.webhook_endpoint_id:  # the operator now brings their own endpoint
            await webhook_setup.drop_endpoint(runtime, account)
        seal(runtime, account, "webhook_secret", secret)
        return False, []
    if account.webhook_endpoint_id and account.webhook_secret_enc:
        return False, []  # reconnect: the endpoint we made is still ours
    if permissions.WEBHOOK_ENDPOINTS_WRITE not in check.missing:
        await webhook_setup.create_endpoint(runtime, account)
        return True, []
    url = webhook_setup.account_webhook_url(runtime, account)
    return False, [
        f"In Stripe (Developers → Webhooks → Add endpoint) add the endpoint {url} "
        f"for these events: {', '.join(webhook_setup.enabled_events(runtime))}.",
        "Then paste its signing secret (whsec_…) into SecondLoop.",
    ]


async def disconnect_key(runtime: Runtime, account: StripeAccount) -> None:
    """Forget the key and secret; remove the endpoint we created (best effort)."""
    if account.webhook_endpoint_id and account.api_key_enc:
        # The key may already be rolled; the operator can then delete the endpoint in Stripe.
        with contextlib.suppress(stripe.StripeError):
            await webhook_setup.drop_endpoint(runtime, account)
    forget(account, "api_key", "webhook_secret", "previous_webhook_secret")
    account.previous_webhook_secret_until = None
    account.status = ConnectionStatus.REVOKED
    account.revoked_at = runtime.now()
    with workspace_scope(account.workspace_id):
        await account.save()
