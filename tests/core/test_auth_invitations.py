"""Inviting by email: owner/admin only, the link signs the invitee in to that workspace once."""

from __future__ import annotations

from typing import Any

import httpx

from core.models.workspaces import Invitation, Membership, Role, Workspace
from core.tenancy import workspace_scope
from tests.core.web_support import (
    connect_stripe,
    create_workspace,
    csrf_of,
    html,
    last_link,
    sign_in,
    use_link,
)


async def invite(client: httpx.AsyncClient, email: str, role: str) -> httpx.Response:
    page = await client.get("/app/settings/members")
    return await client.post(
        "/app/settings/members", data={"email": email, "role": role, "csrf_token": csrf_of(page)}
    )


async def test_invite_accept_and_member_cannot_invite(client: httpx.AsyncClient, app: Any) -> None:
    await sign_in(client, "boss@example.com")
    await create_workspace(client, "Team")
    team = await Workspace.get(name="Team")
    await connect_stripe(team.id)

    sent = await invite(client, "New.Hire@Example.com", "member")
    assert sent.status_code == 200
    assert "Invitation sent" in html(sent).css_first('[role="status"]').text()
    with workspace_scope(team.id):
        invitation = await Invitation.get(email="new.hire@example.com")
    assert len(invitation.token_hash) == 64

    path = await last_link("new.hire@example.com", kind="invite")
    assert invitation.token_hash not in path
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as hire:
        accepted = await use_link(hire, path)
        assert accepted.status_code == 303 and accepted.headers["location"] == "/app"
        dashboard = await hire.get("/app")
        assert dashboard.status_code == 200
        assert html(dashboard).css_first("h1").text() == "Team"
        with workspace_scope(team.id):
            membership = await Membership.get(user__email="new.hire@example.com")
        assert membership.role == Role.MEMBER

        page = await hire.get("/app/settings/members")
        assert html(page).css_first('form[action="/app/settings/members"]') is None
        forbidden = await hire.post(
            "/app/settings/members",
            data={"email": "x@example.com", "role": "admin", "csrf_token": csrf_of(page)},
        )
        assert forbidden.status_code == 403

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as again:
        reuse = await again.get(path)
        assert reuse.status_code == 400


async def test_owner_role_cannot_be_invited(client: httpx.AsyncClient) -> None:
    await sign_in(client, "own@example.com")
    await create_workspace(client, "Owned")
    await connect_stripe((await Workspace.get(name="Owned")).id)
    refused = await invite(client, "x@example.com", "owner")
    assert refused.status_code == 400
    assert "role" in html(refused).css_first('[role="alert"]').text()


async def test_admin_removes_a_member_but_not_the_owner(
    client: httpx.AsyncClient, app: Any
) -> None:
    await sign_in(client, "lead@example.com")
    await create_workspace(client, "Crew")
    crew = await Workspace.get(name="Crew")
    await connect_stripe(crew.id)
    await invite(client, "temp@example.com", "member")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as temp:
        await use_link(temp, await last_link("temp@example.com", kind="invite"))
    with workspace_scope(crew.id):
        owner = await Membership.get(role=Role.OWNER)
        member = await Membership.get(role=Role.MEMBER)
    page = await client.get("/app/settings/members")
    forms = html(page).css('form[action$="/remove"]')
    assert [f.attributes["action"] for f in forms] == [f"/app/settings/members/{member.id}/remove"]
    kept = await client.post(
        f"/app/settings/members/{owner.id}/remove", data={"csrf_token": csrf_of(page)}
    )
    assert kept.status_code == 400
    removed = await client.post(
        f"/app/settings/members/{member.id}/remove", data={"csrf_token": csrf_of(page)}
    )
    assert removed.status_code == 303
    with workspace_scope(crew.id):
        assert not await Membership.filter(id=member.id).exists()
