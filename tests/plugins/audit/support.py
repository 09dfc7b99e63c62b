"""Helpers for the audit's tests: a connected workspace and a signed-in session."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from itsdangerous import TimestampSigner

from core.crypto import hash_token
from core.models import UserSession, Workspace
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.workspaces import Membership, Role, User
from core.runtime import Runtime
from core.stripe.access import seal
from core.tenancy import workspace_scope

CSRF = "audit-test-csrf-token-0123456789"


def mint_key(sb: Any, account: str, permissions: dict[str, str]) -> str:
    """A restricted key on `account` holding exactly `permissions` ({"customers": "read"})."""
    response = sb.http.post("/_sandbox/keys", json={"account": account, "permissions": permissions})
    response.raise_for_status()
    secret: str = response.json()["secret"]
    return secret


async def connect(
    runtime: Runtime, business: Any, slug: str, key: str | None = None, livemode: bool = False
) -> Workspace:
    """A workspace whose verified Stripe connection holds `key`, by default the business's
    read-only key."""
    workspace = await Workspace.create(name=slug.title(), slug=slug)
    with workspace_scope(workspace.id):
        account = await StripeAccount.create(
            workspace_id=workspace.id,
            stripe_account_id=business.account,
            display_name=business.name,
            mode=ConnectionMode.RESTRICTED_KEY,
            status=ConnectionStatus.ACTIVE,
            livemode=livemode,
        )
        seal(runtime, account, "api_key", key or business.read_only_key)  # read is enough
        await account.save()
    return workspace


async def sign_in(client: httpx.AsyncClient, runtime: Runtime, workspace: Workspace) -> None:
    """An owner of `workspace` signed in on `client` (the cookie SessionMiddleware would set)."""
    user = await User.create(email=f"{workspace.slug}@example.com")
    with workspace_scope(workspace.id):
        await Membership.create(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER)
    key = f"audit-session-{user.id}"
    await UserSession.create(user=user, key_hash=hash_token(key), created_at=runtime.now())
    session = {"user_id": user.id, "sid": key, "workspace_id": workspace.id, "csrf": CSRF}
    data = base64.b64encode(json.dumps(session).encode())
    cookie = TimestampSigner(runtime.settings.secret_key).sign(data).decode()
    client.cookies.set("sl_session", cookie)
