"""Helpers for tests (SecondLoop's and plugin authors'): a connected account, signed events.

account, token = await connected_account(runtime, workspace_id)
payload = stripe_event("invoice.payment_failed", {"object": "invoice", "id": "in_1"})
await client.post(f"/webhooks/stripe/{token}", **signed(payload, WEBHOOK_SECRET))
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import stripe

from core.crypto import hash_token, new_token
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.access import seal
from core.tenancy import unscoped

WEBHOOK_SECRET = "whsec_test_" + "s" * 24


async def connected_account(
    runtime: Runtime,
    workspace_id: int,
    *,
    stripe_account_id: str = "acct_test1",
    secret: str = WEBHOOK_SECRET,
    mode: ConnectionMode = ConnectionMode.RESTRICTED_KEY,
    status: ConnectionStatus = ConnectionStatus.ACTIVE,
) -> tuple[StripeAccount, str]:
    """An active StripeAccount with a webhook token and signing secret; returns (row, token)."""
    token = new_token("wh_", 24)
    with unscoped():
        account = await StripeAccount.create(
            workspace_id=workspace_id,
            stripe_account_id=stripe_account_id,
            mode=mode,
            status=status,
            webhook_token_hash=hash_token(token),
            created_at=runtime.now(),
        )
        seal(runtime, account, "webhook_secret", secret)
        await account.save()
    return account, token


def stripe_event(
    type: str,
    obj: dict[str, Any],
    *,
    id: str | None = None,
    created: int | None = None,
    account: str | None = None,
    api_version: str = "2026-10-28.endive",
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Stripe event payload around `obj`."""
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    payload: dict[str, Any] = {
        "id": id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": type,
        "api_version": api_version,
        "created": created if created is not None else int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "data": data,
    }
    if account is not None:
        payload["account"] = account
    return payload


def signed(
    payload: dict[str, Any] | str, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None
) -> dict[str, Any]:
    """`httpx` keyword arguments (content, headers) for a correctly signed delivery."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    t = int(time.time()) if timestamp is None else timestamp
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=t)
    return {
        "content": body,
        "headers": {"Content-Type": "application/json", "Stripe-Signature": header},
    }
