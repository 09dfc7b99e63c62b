"""The per-account webhook URL (`/webhooks/stripe/{token}`), its signing secret, and the
endpoint SecondLoop creates on the operator's account when its key may.

The token is opaque: its SHA-256 finds the account on intake, its ciphertext lets the settings
page show the URL again. Rotating the token changes the URL (and updates the endpoint we
manage); rotating the secret recreates a managed endpoint, since Stripe hands a secret out
only when an endpoint is created.

Rotating a secret works like Stripe's own roll: the old secret stays accepted for a grace
window (`SECONDLOOP_WEBHOOK_SECRET_GRACE`), and a managed endpoint it belongs to is kept until
then, so deliveries Stripe queued on it before the rotation still arrive and verify. The
`core.stripe.retire_webhook_secrets` schedule deletes that endpoint and forgets the old secret
when the window ends; intake stops accepting the old secret at that moment regardless.
"""

from __future__ import annotations

import functools
import logging
import typing
from datetime import timedelta
from typing import Any

import stripe
from stripe._event import Event as SdkEvent

from core.crypto import hash_token, new_token
from core.models.accounts import StripeAccount
from core.runtime import Runtime
from core.stripe.access import StripeAccessError, forget, seal, stripe_access, unseal
from core.tenancy import unscoped, workspace_scope

log = logging.getLogger(__name__)

# Events the core itself follows on every account (test clocks give customers their time).
CORE_EVENT_TYPES = (
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.ready",
    "test_helpers.test_clock.deleted",
)


@functools.cache
def known_event_types() -> frozenset[str]:
    """Every event type of the SDK's pinned API version (what `enabled_events` accepts)."""
    return frozenset(typing.get_args(SdkEvent.__annotations__["type"]))


def enabled_events(runtime: Runtime) -> list[str]:
    """The event types SecondLoop's handlers need, or `["*"]` when a handler takes every type."""
    wanted = set(CORE_EVENT_TYPES)
    for handler in runtime.handlers.values():
        wanted.update(handler.event_types)
    if "*" in wanted:
        return ["*"]
    return sorted(wanted & known_event_types())


def webhook_url(runtime: Runtime, token: str) -> str:
    return f"{runtime.settings.base_url}/webhooks/stripe/{token}"


def account_webhook_url(runtime: Runtime, account: StripeAccount) -> str | None:
    token = unseal(runtime, account, "webhook_token")
    return webhook_url(runtime, token) if token else None


def issue_token(runtime: Runtime, account: StripeAccount) -> str:
    """Give the account a fresh webhook token (the caller saves the row)."""
    token = new_token("wh_", 24)
    account.webhook_token_hash = hash_token(token)
    seal(runtime, account, "webhook_token", token)
    return token


async def create_endpoint(runtime: Runtime, account: StripeAccount) -> None:
    """Create SecondLoop's endpoint on the account and keep its id and secret (caller saves)."""
    url = account_webhook_url(runtime, account)
    if url is None:
        raise ValueError("issue a webhook token before creating the endpoint")
    access = stripe_access(runtime, account)
    # The SDK types enabled_events and api_version as literals; ours are checked strings.
    params: Any = {
        "url": url,
        "enabled_events": enabled_events(runtime),
        "description": "SecondLoop",
        # Pinned to the SDK's version, so payloads have the shapes its types describe.
        "api_version": stripe.api_version,
        "metadata": {"secondloop_account": str(account.id)},
    }
    endpoint = await access.client.v1.webhook_endpoints.create_async(
        params=params, options=access.options()
    )
    account.webhook_endpoint_id = endpoint.id
    seal(runtime, account, "webhook_secret", endpoint.secret)


async def _delete_endpoint(runtime: Runtime, account: StripeAccount, endpoint_id: str) -> None:
    access = stripe_access(runtime, account)
    try:
        await access.client.v1.webhook_endpoints.delete_async(endpoint_id, options=access.options())
    except stripe.InvalidRequestError:
        log.info("webhook endpoint %s was already gone", endpoint_id)


async def rotate_token(runtime: Runtime, account: StripeAccount) -> str:
    """A new token, so a new URL; the endpoints we manage follow it (the one kept from a secret
    rotation too, or its queued deliveries would hit a dead URL). Saves the account."""
    token = issue_token(runtime, account)
    for endpoint_id in (account.webhook_endpoint_id, account.retiring_webhook_endpoint_id):
        if endpoint_id:
            access = stripe_access(runtime, account)
            await access.client.v1.webhook_endpoints.update_async(
                endpoint_id, params={"url": webhook_url(runtime, token)}, options=access.options()
            )
    await account.save()
    return token


async def rotate_secret(
    runtime: Runtime,
    account: StripeAccount,
    new_secret: str | None = None,
    *,
    keep_old: bool = True,
) -> None:
    """Replace the signing secret: the operator's new `whsec_…`, or, for an endpoint we
    manage, a new endpoint (Stripe reveals secrets only on creation). With `keep_old` the old
    secret (and the old managed endpoint) stay for the grace window; without it — a leaked
    secret — they go at once. Saves the account."""
    if new_secret is not None:
        check_secret(new_secret)
    elif not account.webhook_endpoint_id:
        raise ValueError(
            "SecondLoop does not manage this account's webhook endpoint: roll the secret in "
            "Stripe and paste the new whsec_… here"
        )
    # A rotation still in its grace window ends now: one previous secret at a time.
    if not await retire_previous(runtime, account):
        raise ValueError("Stripe did not answer; try the rotation again in a moment.")
    grace = runtime.settings.webhook_secret_grace if keep_old else 0
    current = unseal(runtime, account, "webhook_secret")
    if current and grace > 0:
        seal(runtime, account, "previous_webhook_secret", current)
        account.previous_webhook_secret_until = runtime.now() + timedelta(seconds=grace)
    if new_secret is not None:
        seal(runtime, account, "webhook_secret", new_secret)
        await account.save()
        return
    old = account.webhook_endpoint_id
    await create_endpoint(runtime, account)
    if grace > 0:
        account.retiring_webhook_endpoint_id = old
        await account.save()
    else:
        await account.save()
        if old:
            await _delete_endpoint(runtime, account, old)


async def retire_previous(runtime: Runtime, account: StripeAccount) -> bool:
    """Forget the previous secret and delete the endpoint kept for it (the caller saves).
    False when deleting failed for a reason worth retrying (the endpoint is kept for then)."""
    endpoint_id = account.retiring_webhook_endpoint_id
    if endpoint_id:
        try:
            await _delete_endpoint(runtime, account, endpoint_id)
        except (stripe.AuthenticationError, stripe.PermissionError, StripeAccessError) as exc:
            # The key cannot delete it any more (revoked, narrowed): nothing left to try.
            log.warning("could not delete retired webhook endpoint %s: %s", endpoint_id, exc)
        except stripe.StripeError as exc:
            log.warning(
                "deleting retired webhook endpoint %s failed, will retry: %s", endpoint_id, exc
            )
            return False
        account.retiring_webhook_endpoint_id = None
    forget(account, "previous_webhook_secret")
    account.previous_webhook_secret_until = None
    return True


RETIRE_TASK = "core.stripe.retire_webhook_secrets"


async def retire_expired(workspace_id: int | None, runtime: Runtime, limit: int = 200) -> int:
    """The schedule's task: end every grace window that is over. Returns how many ended."""
    with unscoped():
        due = await StripeAccount.filter(previous_webhook_secret_until__lte=runtime.now()).limit(
            limit
        )
    ended = 0
    for account in due:
        with workspace_scope(account.workspace_id):
            if await retire_previous(runtime, account):
                ended += 1
                await account.save(
                    update_fields=[
                        "retiring_webhook_endpoint_id",
                        "previous_webhook_secret_enc",
                        "previous_webhook_secret_until",
                    ]
                )
    return ended


def accepted_secrets(runtime: Runtime, account: StripeAccount) -> tuple[str, ...]:
    """The secrets a delivery for this account may be signed with: the current one, and the
    previous one while its grace window lasts."""
    secrets = [unseal(runtime, account, "webhook_secret")]
    until = account.previous_webhook_secret_until
    if until is not None and runtime.now() < until:
        secrets.append(unseal(runtime, account, "previous_webhook_secret"))
    return tuple(s for s in secrets if s)


async def drop_endpoint(runtime: Runtime, account: StripeAccount) -> None:
    """Delete the endpoint we manage and any kept from a rotation (the caller saves)."""
    await retire_previous(runtime, account)
    if account.webhook_endpoint_id:
        await _delete_endpoint(runtime, account, account.webhook_endpoint_id)
        account.webhook_endpoint_id = None


def check_secret(secret: str) -> None:
    if not secret.startswith("whsec_") or len(secret) < 12:
        raise ValueError(
            "a webhook signing secret starts with whsec_ (in Stripe: Developers → Webhooks)"
        )
