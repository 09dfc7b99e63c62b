"""Two workspaces: a member of one cannot see or act on the other by changing ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from core.models.workspaces import Membership, Workspace
from core.tenancy import workspace_scope
from tests.core.web_support import connect_stripe, create_workspace, csrf_of, html, sign_in

Tenants = tuple[httpx.AsyncClient, httpx.AsyncClient, Workspace, Any]


@pytest_asyncio.fixture
async def tenants(app: Any) -> AsyncIterator[Tenants]:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as alice,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as bob,
    ):
        yield await _onboard_both(alice, bob)


async def _onboard_both(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> Tenants:
    await sign_in(alice, "alice@a.example")
    await create_workspace(alice, "Alpha")
    alpha = await Workspace.get(name="Alpha")
    alpha_account = await connect_stripe(alpha.id, "acct_alpha")
    await sign_in(bob, "bob@b.example")
    await create_workspace(bob, "Beta")
    await connect_stripe((await Workspace.get(name="Beta")).id, "acct_beta")
    return alice, bob, alpha, alpha_account


async def test_cannot_switch_into_another_workspace(tenants: Tenants) -> None:
    _alice, bob, alpha, _ = tenants
    page = await bob.get("/app")
    refused = await bob.post(
        "/app/workspaces/switch",
        data={"workspace_id": str(alpha.id), "csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 404
    assert html(await bob.get("/app")).css_first("h1").text() == "Beta"


async def test_cannot_choose_another_workspaces_account(tenants: Tenants) -> None:
    _alice, bob, _, alpha_account = tenants
    page = await bob.get("/app")
    refused = await bob.post(
        "/app/accounts/switch",
        data={"account_id": str(alpha_account.id), "csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 404
    body = html(await bob.get("/app")).text()
    assert "acct_alpha" not in body and "Shop acct_alpha" not in body


async def test_pages_show_only_own_workspace(tenants: Tenants) -> None:
    alice, bob, _, _ = tenants
    for path in ("/app", "/app/settings", "/app/settings/members"):
        text = html(await bob.get(path)).text()
        assert "Alpha" not in text and "alice@a.example" not in text, path
    members = html(await alice.get("/app/settings/members"))
    assert [td.text() for td in members.css("tbody td:first-child")] == ["alice@a.example"]


async def test_invitations_stay_in_their_workspace(tenants: Tenants) -> None:
    alice, bob, _, _ = tenants
    page = await alice.get("/app/settings/members")
    await alice.post(
        "/app/settings/members",
        data={"email": "carol@c.example", "role": "member", "csrf_token": csrf_of(page)},
    )
    assert "carol@c.example" in (await alice.get("/app/settings/members")).text
    assert "carol@c.example" not in (await bob.get("/app/settings/members")).text


async def test_cannot_remove_a_member_of_another_workspace(tenants: Tenants) -> None:
    _alice, bob, alpha, _ = tenants
    with workspace_scope(alpha.id):
        alice_membership = await Membership.get(workspace_id=alpha.id)
    page = await bob.get("/app/settings/members")
    refused = await bob.post(
        f"/app/settings/members/{alice_membership.id}/remove",
        data={"csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 404
    with workspace_scope(alpha.id):
        assert await Membership.filter(id=alice_membership.id).exists()
