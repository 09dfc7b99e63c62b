"""Connecting a Stripe account through Connect OAuth (authlib's OAuth 2 client).

`start` builds the authorize URL at the Connect base with a random `state` the caller keeps
in the session; `complete` lets authlib check the state against the callback, exchanges the
code at `{connect_base}/oauth/token` (the platform key as `client_secret`, as Stripe expects),
verifies the token with a live call and stores the tokens encrypted. `disconnect` deauthorizes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import stripe
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.errors import MismatchingStateException, OAuth2Error

from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import permissions
from core.stripe.access import account_label, forget, seal
from core.stripe.client import make_client
from core.tenancy import workspace_scope

SCOPES = ("read_write", "read_only")


class OAuthStateError(ValueError):
    """The callback's `state` is not the one we issued: a forged or replayed callback."""


class OAuthFailed(ValueError):
    """Stripe refused or the operator denied; the message is safe to show."""


class RefreshUnavailable(RuntimeError):
    """Stripe could not be asked to refresh a token right now (network, its own failure)."""


@dataclass(frozen=True)
class AuthorizeRequest:
    url: str
    state: str
    scope: str


def configured(settings: Settings) -> bool:
    return bool(settings.stripe_client_id and settings.stripe_secret_key)


def _client(settings: Settings, redirect_uri: str, scope: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.stripe_client_id,
        client_secret=settings.stripe_secret_key,
        token_endpoint_auth_method="client_secret_post",
        scope=scope,
        redirect_uri=redirect_uri,
    )


def start(settings: Settings, *, scope: str, redirect_uri: str) -> AuthorizeRequest:
    if not configured(settings):
        raise OAuthFailed(
            "Connect is not configured: set SECONDLOOP_STRIPE_CLIENT_ID and "
            "SECONDLOOP_STRIPE_SECRET_KEY, or connect with a restricted key."
        )
    if scope not in SCOPES:
        raise OAuthFailed(f"scope must be one of {', '.join(SCOPES)}")
    client = _client(settings, redirect_uri, scope)
    url, state = client.create_authorization_url(f"{settings.stripe_connect_base}/oauth/authorize")
    return AuthorizeRequest(url=url, state=state, scope=scope)


async def exchange(
    settings: Settings,
    *,
    callback_url: str,
    expected_state: str | None,
    redirect_uri: str,
    scope: str,
) -> dict[str, Any]:
    """authlib checks `state` and exchanges the code; returns Stripe's token response."""
    if not expected_state:
        raise OAuthStateError("no Connect authorization is in progress in this session")
    query = parse_qs(urlsplit(callback_url).query)
    if "code" not in query:
        # Denied (or broken) at Stripe: nothing to exchange. Only trust a matching state.
        if query.get("state", [""])[0] != expected_state:
            raise OAuthStateError("the state in the callback does not match")
        reason = query.get("error_description", query.get("error", ["no code returned"]))[0]
        raise OAuthFailed(f"Stripe did not authorize the connection: {reason}")
    async with _client(settings, redirect_uri, scope) as client:
        try:
            token = await client.fetch_token(
                f"{settings.stripe_connect_base}/oauth/token",
                authorization_response=callback_url,
                state=expected_state,
            )
        except MismatchingStateException as exc:
            raise OAuthStateError("the state in the callback does not match") from exc
        except (OAuthError, OAuth2Error) as exc:
            reason = exc.description or str(exc)
            raise OAuthFailed(f"Stripe refused the authorization: {reason}") from exc
    return dict(token)


# Stripe's answers that mean the refresh token itself no longer works.
_DEAD_GRANT = ("invalid_grant", "invalid_scope")


async def refresh(settings: Settings, refresh_token: str) -> dict[str, Any]:
    """A new access token for `refresh_token` (same scope). OAuthFailed when Stripe refuses it
    for good, RefreshUnavailable for a passing failure."""
    async with AsyncOAuth2Client(
        client_id=settings.stripe_client_id,
        client_secret=settings.stripe_secret_key,
        token_endpoint_auth_method="client_secret_post",
    ) as client:
        try:
            token = await client.refresh_token(
                f"{settings.stripe_connect_base}/oauth/token", refresh_token=refresh_token
            )
        except (OAuthError, OAuth2Error) as exc:
            if exc.error not in _DEAD_GRANT:
                raise RefreshUnavailable(f"Stripe's token endpoint answered {exc.error}") from exc
            reason = exc.description or exc.error
            raise OAuthFailed(f"Stripe refused to refresh the access token: {reason}") from exc
        except Exception as exc:  # authlib's transport (httpx2) errors, an unreadable answer
            raise RefreshUnavailable(type(exc).__name__) from exc
    return dict(token)


async def complete(
    runtime: Runtime,
    workspace: Workspace,
    *,
    callback_url: str,
    expected_state: str | None,
    redirect_uri: str,
    scope: str,
) -> StripeAccount:
    token = await exchange(
        runtime.settings,
        callback_url=callback_url,
        expected_state=expected_state,
        redirect_uri=redirect_uri,
        scope=scope,
    )
    user_id = str(token.get("stripe_user_id") or "")
    access_token = str(token.get("access_token") or "")
    if not user_id or not access_token:
        raise OAuthFailed("Stripe's answer lacked the account id or token")
    try:  # the token must work, and name the account Stripe said it does
        own = await make_client(runtime.settings, access_token).v1.accounts.retrieve_current_async()
    except stripe.StripeError as exc:
        raise OAuthFailed("the access token Stripe issued does not work") from exc
    if own.id != user_id:
        raise OAuthFailed("the access token belongs to another account")
    with workspace_scope(workspace.id):
        account = await StripeAccount.filter(stripe_account_id=user_id).first()
        if account is None:
            account = StripeAccount(
                workspace_id=workspace.id,
                stripe_account_id=user_id,
                mode=ConnectionMode.OAUTH,
                created_at=runtime.now(),
            )
            await account.save()
        account.mode = ConnectionMode.OAUTH
        account.display_name = account_label(own)
        account.livemode = bool(token.get("livemode", False))
        account.scope = str(token.get("scope") or scope)
        seal(runtime, account, "access_token", access_token)
        seal(runtime, account, "refresh_token", str(token.get("refresh_token") or "") or None)
        forget(account, "api_key")
        read_write = account.scope == "read_write"
        account.missing_permissions = [] if read_write else [permissions.READ_WRITE_SCOPE]
        account.status = ConnectionStatus.ACTIVE
        account.access_error = ""
        account.verified_at = runtime.now()
        account.revoked_at = None
        await account.save()
    await runtime.host.notify(
        "stripe_account_connected", workspace=workspace, account=account, runtime=runtime
    )
    return account


async def disconnect(runtime: Runtime, account: StripeAccount) -> None:
    """Deauthorize at Stripe (Connect) and mark the connection revoked; secrets are dropped."""
    if account.mode == ConnectionMode.OAUTH and account.status != ConnectionStatus.REVOKED:
        client = make_client(runtime.settings, runtime.settings.stripe_secret_key)
        params: Any = {
            "client_id": runtime.settings.stripe_client_id,
            "stripe_user_id": account.stripe_account_id,
        }
        # Already disconnected on Stripe's side: revoking locally is what remains.
        with contextlib.suppress(stripe.oauth_error.OAuthError):
            await asyncio.to_thread(client.oauth.deauthorize, params)  # the SDK has no async one
    await mark_revoked(runtime, account)


async def mark_revoked(runtime: Runtime, account: StripeAccount) -> None:
    account.status = ConnectionStatus.REVOKED
    account.revoked_at = runtime.now()
    forget(account, "access_token", "refresh_token")
    with workspace_scope(account.workspace_id):
        await account.save()
