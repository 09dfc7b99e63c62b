"""Credentials Stripe stops accepting: for Connect, one refresh, one retry, then reconnection.

A Connect connection calls Stripe with the access token Stripe issued for it. That token dies
when the account rolls its API keys or Stripe revokes it; Stripe then answers 401. The stripe
SDK's HTTP client for such a connection (`RefreshingHTTPXClient`) notices the 401, asks
`refresh_access` for a new token once, and repeats the request once with it:

- `refresh_access` holds a per-account lock, so concurrent calls that all got a 401 cause one
  refresh; a call that arrives after another refreshed (in this process or another one — the row
  is read again) just uses the stored token.
- The new access token (and refresh token, when Stripe rolls it) are stored encrypted.
- When Stripe refuses the refresh (`invalid_grant`: the refresh token is gone too), or the new
  token fails as well, the connection is marked `reconnect` with the reason, so the operator
  sees it on the settings page and in webhook health, and `stripe_access` refuses it from then
  on instead of calling Stripe (and refreshing) again and again.
- A refresh that fails for a passing reason (network, Stripe's 5xx) changes nothing: the
  original 401 reaches the caller and the job retries later.

A restricted key has no refresh: a 401 on it (`KeyGuardHTTPXClient`) marks the connection
`reconnect` at once, asking the operator for a new key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import stripe

from core.models.accounts import ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.access import forget, seal, unseal
from core.stripe.oauth import OAuthFailed, RefreshUnavailable, refresh
from core.tenancy import workspace_scope

log = logging.getLogger(__name__)
_LOCKS = "stripe.refresh_locks"


def _lock(runtime: Runtime, account_id: int) -> asyncio.Lock:
    locks: dict[int, asyncio.Lock] = runtime.services.setdefault(_LOCKS, {})
    return locks.setdefault(account_id, asyncio.Lock())


async def refresh_access(runtime: Runtime, account: StripeAccount, failed: str) -> str | None:
    """A working access token to replace `failed`, or None (the caller keeps its 401)."""
    async with _lock(runtime, account.id):
        with workspace_scope(account.workspace_id):
            row = await StripeAccount.get_or_none(id=account.id)
            if row is None or row.status != ConnectionStatus.ACTIVE:
                return None
            current = unseal(runtime, row, "access_token")
            if current and current != failed:
                return current  # refreshed meanwhile
            refresh_token = unseal(runtime, row, "refresh_token")
            if not refresh_token:
                await mark_reconnect(runtime, row, "Stripe refused the access token.")
                return None
            try:
                token = await refresh(runtime.settings, refresh_token)
            except OAuthFailed as exc:
                await mark_reconnect(runtime, row, str(exc))
                return None
            except RefreshUnavailable as exc:
                log.warning(
                    "refreshing the Connect token of %s failed for now: %s",
                    row.stripe_account_id,
                    exc,
                )
                return None
            new = str(token.get("access_token") or "")
            if not new:
                await mark_reconnect(runtime, row, "Stripe's refresh answer had no access token.")
                return None
            seal(runtime, row, "access_token", new)
            seal(runtime, row, "refresh_token", str(token.get("refresh_token") or refresh_token))
            await row.save(update_fields=["access_token_enc", "refresh_token_enc"])
    log.info("refreshed the Connect access token of %s", account.stripe_account_id)
    return new


async def token_failed_again(runtime: Runtime, account: StripeAccount, token: str) -> None:
    """The token just refreshed was refused too: stop trying until the operator reconnects."""
    async with _lock(runtime, account.id):
        with workspace_scope(account.workspace_id):
            row = await StripeAccount.get_or_none(id=account.id)
            if row is not None and unseal(runtime, row, "access_token") == token:
                await mark_reconnect(runtime, row, "Stripe refused a freshly refreshed token.")


async def mark_reconnect(runtime: Runtime, account: StripeAccount, reason: str) -> None:
    """The connection needs the operator to connect with Stripe again (inside its scope)."""
    log.warning("Connect account %s needs reconnecting: %s", account.stripe_account_id, reason)
    account.status = ConnectionStatus.RECONNECT
    account.access_error = reason[:300]
    forget(account, "access_token", "refresh_token")
    await account.save(
        update_fields=["status", "access_error", "access_token_enc", "refresh_token_enc"]
    )


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization") or headers.get("authorization") or ""
    return value[len("Bearer ") :] if value.startswith("Bearer ") else None


class RefreshingHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client for one Connect connection: a 401 on its access token gets one
    refresh and one retry. Synchronous calls are passed through unchanged."""

    def __init__(self, runtime: Runtime, account: StripeAccount, token: str, **kwargs: Any):
        super().__init__(allow_sync_methods=True, **kwargs)
        self._runtime, self._account = runtime, account
        self._issued, self._token = token, token

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        sent = _bearer(headers)
        if sent == self._issued and self._token != self._issued:
            headers, sent = self._authorized(headers, self._token), self._token
        result = await super().request_async(method, url, headers, post_data)
        if result[1] != 401 or sent not in (self._issued, self._token):
            return result
        fresh = await refresh_access(self._runtime, self._account, sent)
        if fresh is None:
            return result
        self._token = fresh
        retried = await super().request_async(
            method, url, self._authorized(headers, fresh), post_data
        )
        if retried[1] == 401:
            await token_failed_again(self._runtime, self._account, fresh)
        return retried

    @staticmethod
    def _authorized(headers: Mapping[str, str], token: str) -> dict[str, str]:
        out = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        out["Authorization"] = f"Bearer {token}"
        return out


async def key_refused(runtime: Runtime, account: StripeAccount, key: str) -> None:
    """Stripe refused a restricted-key connection's key (rolled or deleted in the Dashboard):
    there is nothing to refresh, so the operator is asked for a new key."""
    async with _lock(runtime, account.id):
        with workspace_scope(account.workspace_id):
            row = await StripeAccount.get_or_none(id=account.id)
            if (
                row is not None
                and row.status == ConnectionStatus.ACTIVE
                and unseal(runtime, row, "api_key") == key
            ):
                await mark_reconnect(
                    runtime,
                    row,
                    "Stripe refused the restricted key (rolled or deleted in Stripe); "
                    "paste a new one.",
                )


class KeyGuardHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client for a restricted-key connection: a 401 on its key marks the
    connection as needing a new key instead of failing every job the same way."""

    def __init__(self, runtime: Runtime, account: StripeAccount, key: str, **kwargs: Any):
        super().__init__(allow_sync_methods=True, **kwargs)
        self._runtime, self._account, self._key = runtime, account, key

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        result = await super().request_async(method, url, headers, post_data)
        if result[1] == 401 and _bearer(headers) == self._key:
            await key_refused(self._runtime, self._account, self._key)
        return result
