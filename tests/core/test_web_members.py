"""Roles, ownership hand-over and removal on /app/settings/members: who may do what, exactly one
owner at every moment, CSRF, and no reach into another workspace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from core.auth.members import Actor, MemberError, transfer_ownership
from core.models.workspaces import Membership, Role, User, Workspace
from core.tenancy import workspace_scope
from tests.core.web_support import connect_stripe, create_workspace, csrf_of, html, sign_in

MEMBERS = "/app/settings/members"


@dataclass
class Team:
    workspace: Workspace
    owner: httpx.AsyncClient
    admin: httpx.AsyncClient
    member: httpx.AsyncClient
    ids: dict[str, int]  # role name -> membership id


@pytest_asyncio.fixture
async def team(app: Any) -> AsyncIterator[Team]:
    transport = httpx.ASGITransport(app=app)

    def new_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with new_client() as owner, new_client() as admin, new_client() as member:
        await sign_in(owner, "owner@t.example")
        await create_workspace(owner, "Team")
        workspace = await Workspace.get(name="Team")
        await connect_stripe(workspace.id)
        ids = {}
        with workspace_scope(workspace.id):
            ids["owner"] = (await Membership.get(role=Role.OWNER)).id
            for role in (Role.ADMIN, Role.MEMBER):
                user = await User.create(email=f"{role.value}@t.example")
                ids[role.value] = (
                    await Membership.create(workspace_id=workspace.id, user=user, role=role)
                ).id
        await sign_in(admin, "admin@t.example")
        await sign_in(member, "member@t.example")
        yield Team(workspace, owner, admin, member, ids)


async def roles(workspace: Workspace) -> dict[str, str]:
    with workspace_scope(workspace.id):
        rows = await Membership.all().prefetch_related("user")
    return {m.user.email.split("@")[0]: m.role.value for m in rows}


async def post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await client.get(MEMBERS)
    return await client.post(path, data={**data, "csrf_token": csrf_of(page)})


def alert(response: httpx.Response) -> str:
    node = html(response).css_first('[role="alert"]')
    assert node is not None, response.text
    return node.text()


async def test_owner_changes_roles_between_admin_and_member(team: Team) -> None:
    member = team.ids["member"]
    promoted = await post(team.owner, f"{MEMBERS}/{member}/role", role="admin")
    assert promoted.status_code == 200
    assert "member@t.example is now admin" in html(promoted).css_first('[role="status"]').text()
    assert (await roles(team.workspace))["member"] == "admin"
    back = await post(team.owner, f"{MEMBERS}/{member}/role", role="member")
    assert back.status_code == 200
    assert await roles(team.workspace) == {"owner": "owner", "admin": "admin", "member": "member"}


async def test_nobody_becomes_owner_by_a_role_change(team: Team) -> None:
    for client in (team.owner, team.admin):
        refused = await post(client, f"{MEMBERS}/{team.ids['member']}/role", role="owner")
        assert refused.status_code == 400
        assert "Transfer ownership" in alert(refused)
    nonsense = await post(team.owner, f"{MEMBERS}/{team.ids['member']}/role", role="root")
    assert nonsense.status_code == 400
    assert (await roles(team.workspace))["member"] == "member"


async def test_the_owners_role_never_changes_by_a_role_change(team: Team) -> None:
    owner = team.ids["owner"]
    by_admin = await post(team.admin, f"{MEMBERS}/{owner}/role", role="member")
    by_self = await post(team.owner, f"{MEMBERS}/{owner}/role", role="admin")
    assert by_admin.status_code == by_self.status_code == 400
    assert "transferring ownership" in alert(by_admin)
    assert (await roles(team.workspace))["owner"] == "owner"


async def test_admin_manages_members_but_not_the_owner(team: Team) -> None:
    page = html(await team.admin.get(MEMBERS))
    role_forms = [f.attributes["action"] for f in page.css('form[action$="/role"]')]
    assert role_forms == [f"{MEMBERS}/{team.ids[r]}/role" for r in ("admin", "member")]
    assert page.css('a[href$="/transfer"]') == []  # only the owner hands ownership over

    assert (
        await post(team.admin, f"{MEMBERS}/{team.ids['member']}/role", role="admin")
    ).status_code == 200
    transfer = await post(team.admin, f"{MEMBERS}/{team.ids['member']}/transfer")
    assert transfer.status_code == 403
    assert (await team.admin.get(f"{MEMBERS}/{team.ids['member']}/transfer")).status_code == 403
    kept = await post(team.admin, f"{MEMBERS}/{team.ids['owner']}/remove")
    assert kept.status_code == 400 and "owner cannot be removed" in alert(kept)
    assert await roles(team.workspace) == {"owner": "owner", "admin": "admin", "member": "admin"}


async def test_a_member_changes_nothing_but_may_leave(team: Team) -> None:
    page = html(await team.member.get(MEMBERS))
    assert page.css('form[action$="/role"]') == []
    assert [f.attributes["action"] for f in page.css('form[action$="/remove"]')] == [
        f"{MEMBERS}/{team.ids['member']}/remove"
    ]
    for target in ("admin", "owner"):
        refused = await post(team.member, f"{MEMBERS}/{team.ids[target]}/role", role="member")
        assert refused.status_code == 403
    assert (await post(team.member, f"{MEMBERS}/{team.ids['admin']}/remove")).status_code == 403
    assert (await post(team.member, f"{MEMBERS}/{team.ids['owner']}/remove")).status_code == 403

    left = await post(team.member, f"{MEMBERS}/{team.ids['member']}/remove")
    assert left.status_code == 303 and left.headers["location"] == "/app"
    assert await roles(team.workspace) == {"owner": "owner", "admin": "admin"}
    after = await team.member.get("/app")  # no workspace left: back to onboarding
    assert after.status_code == 303 and after.headers["location"].startswith("/onboarding")


async def test_owner_hands_ownership_over_and_becomes_admin(team: Team) -> None:
    target = team.ids["member"]
    page = await team.owner.get(f"{MEMBERS}/{target}/transfer")
    assert page.status_code == 200
    form = html(page).css_first(f'form[action="{MEMBERS}/{target}/transfer"]')
    assert form is not None and "member@t.example" in form.text()

    done = await team.owner.post(f"{MEMBERS}/{target}/transfer", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200
    assert "member@t.example now owns Team" in html(done).css_first('[role="status"]').text()
    assert await roles(team.workspace) == {"owner": "admin", "admin": "admin", "member": "owner"}

    # The old owner is an admin now: no further hand-over, and the new owner cannot be removed.
    again = await post(team.owner, f"{MEMBERS}/{team.ids['admin']}/transfer")
    assert again.status_code == 403
    assert (await post(team.owner, f"{MEMBERS}/{target}/remove")).status_code == 400
    # The new owner can hand it on, and the old owner may now leave.
    assert (await post(team.member, f"{MEMBERS}/{team.ids['owner']}/transfer")).status_code == 200
    assert await roles(team.workspace) == {"owner": "owner", "admin": "admin", "member": "admin"}


async def test_the_owner_cannot_leave_or_transfer_to_themselves(team: Team) -> None:
    owner = team.ids["owner"]
    leave = await post(team.owner, f"{MEMBERS}/{owner}/remove")
    assert leave.status_code == 400 and "Hand ownership over" in alert(leave)
    assert (await team.owner.get(f"{MEMBERS}/{owner}/transfer")).status_code == 404
    assert (await post(team.owner, f"{MEMBERS}/{owner}/transfer")).status_code == 400
    assert (await roles(team.workspace))["owner"] == "owner"


async def test_racing_hand_overs_leave_exactly_one_owner(team: Team) -> None:
    with workspace_scope(team.workspace.id):
        owner = await Membership.get(id=team.ids["owner"])
        actor = Actor(user_id=owner.user_id, role=Role.OWNER)
        results = await asyncio.gather(
            transfer_ownership(actor, team.ids["admin"]),
            transfer_ownership(actor, team.ids["member"]),
            return_exceptions=True,
        )
    failures = [r for r in results if isinstance(r, MemberError)]
    assert len(failures) == 1 and failures[0].status == 409
    assert list((await roles(team.workspace)).values()).count("owner") == 1
    assert (await roles(team.workspace))["owner"] == "admin"


async def test_role_changes_need_the_csrf_token(team: Team) -> None:
    for path in ("role", "transfer", "remove"):
        refused = await team.owner.post(
            f"{MEMBERS}/{team.ids['member']}/{path}", data={"role": "admin"}
        )
        assert refused.status_code == 403
    assert await roles(team.workspace) == {"owner": "owner", "admin": "admin", "member": "member"}


async def test_no_reach_into_another_workspace(team: Team, app: Any) -> None:
    """An owner of workspace B cannot change roles, hand over or remove in workspace A, and an
    admin of A is nothing in B."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, "boss@b.example")
        await create_workspace(other, "Beta")
        beta = await Workspace.get(name="Beta")
        await connect_stripe(beta.id, "acct_beta")
        for role_id in team.ids.values():
            for path, data in (("role", {"role": "admin"}), ("transfer", {}), ("remove", {})):
                refused = await post(other, f"{MEMBERS}/{role_id}/{path}", **data)
                assert refused.status_code == 404, (path, refused.text)
            assert (await other.get(f"{MEMBERS}/{role_id}/transfer")).status_code == 404
        with workspace_scope(beta.id):
            boss = await Membership.get(role=Role.OWNER)
        # Team's admin, pointing at Beta's owner from inside Team, finds nobody.
        for path in ("role", "remove"):
            refused = await post(team.admin, f"{MEMBERS}/{boss.id}/{path}", role="member")
            assert refused.status_code == 404
    assert await roles(team.workspace) == {"owner": "owner", "admin": "admin", "member": "member"}
    assert await roles(beta) == {"boss": "owner"}
