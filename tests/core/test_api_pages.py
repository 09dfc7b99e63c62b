"""Settings → API keys: the secret shown once, stored hashed, revocable; admins only write."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.api.keys import create_key
from core.crypto import hash_token
from core.models import ApiKey, Membership, User, Workspace
from core.models.workspaces import Role
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from tests.core.web_support import connect_stripe, create_workspace, csrf_of, sign_in


async def _signed_in_owner(client: httpx.AsyncClient) -> Workspace:
    await sign_in(client, "owner@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    await connect_stripe(ws.id)
    return ws


async def test_create_shows_the_secret_once_and_it_works(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ws = await _signed_in_owner(client)
    page = await client.get("/app/settings/api-keys")
    assert page.status_code == 200
    created = await client.post(
        "/app/settings/api-keys",
        data={"name": "Zapier", "scope": "read", "csrf_token": csrf_of(page)},
    )
    assert created.status_code == 201
    field = HTMLParser(created.text).css_first("#new-key-secret")
    assert field is not None
    secret = field.attributes.get("value") or ""
    assert secret.startswith("sl_")
    with unscoped():
        key = await ApiKey.get(workspace_id=ws.id)
    assert key.key_hash == hash_token(secret) and key.name == "Zapier"

    again = await client.get("/app/settings/api-keys")
    assert secret not in again.text and key.prefix in again.text

    api = await client.get("/api/v1/emails", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200

    revoked = await client.post(
        f"/app/settings/api-keys/{key.id}/revoke", data={"csrf_token": csrf_of(again)}
    )
    assert revoked.status_code == 200
    api = await client.get("/api/v1/emails", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401


async def test_keys_of_another_workspace_are_neither_listed_nor_revocable(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _signed_in_owner(client)
    other = await Workspace.create(name="Other", slug="other")
    theirs = await create_key(runtime, other.id, "write", "theirs")
    page = await client.get("/app/settings/api-keys")
    assert theirs.key.prefix not in page.text
    response = await client.post(
        f"/app/settings/api-keys/{theirs.key.id}/revoke", data={"csrf_token": csrf_of(page)}
    )
    assert response.status_code == 404
    with unscoped():
        assert (await ApiKey.get(id=theirs.key.id)).revoked_at is None


async def test_members_cannot_create_keys(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ws = await _signed_in_owner(client)
    user = await User.get(email="owner@example.test")
    with workspace_scope(ws.id):
        await Membership.filter(user_id=user.id).update(role=Role.MEMBER)
    page = await client.get("/app/settings/api-keys")
    assert HTMLParser(page.text).css_first('form[action="/app/settings/api-keys"]') is None
    response = await client.post(
        "/app/settings/api-keys", data={"scope": "write", "csrf_token": csrf_of(page)}
    )
    assert response.status_code == 403
    with unscoped():
        assert not await ApiKey.filter(workspace_id=ws.id).exists()
