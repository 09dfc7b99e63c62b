"""The customer's way back: a signed, expiring, no-login link `/r/{token}` per email.

The route that answers it (a fresh Billing Portal session, or the hosted invoice page for
authentication) is built later; the token format is fixed here.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.settings import Settings

SALT = "secondloop.recovery.link"
MAX_AGE = 30 * 86_400


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def make_link(settings: Settings, workspace_id: int, case_id: int, step_id: int) -> str:
    token = _serializer(settings).dumps({"w": workspace_id, "c": case_id, "s": step_id})
    return f"{settings.base_url.rstrip('/')}/r/{token}"


def make_customer_link(
    settings: Settings, workspace_id: int, stripe_account_id: str, customer_id: str
) -> str:
    """A link for a customer without a case (expiring card): the portal to update the card."""
    data = {"w": workspace_id, "a": stripe_account_id, "cu": customer_id}
    token = _serializer(settings).dumps(data)
    return f"{settings.base_url.rstrip('/')}/r/{token}"


def read_token(settings: Settings, token: str, max_age: int = MAX_AGE) -> dict[str, Any] | None:
    """The link's data (workspace and case+step, or account+customer); None if forged/expired."""
    try:
        data = _serializer(settings).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None
