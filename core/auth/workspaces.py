"""Creating workspaces, inviting people to them and accepting invitations."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from core.crypto import hash_token, new_token
from core.models.workspaces import Invitation, Membership, Role, User, Workspace
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope

INVITATION_TTL = timedelta(days=7)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "workspace"


async def create_workspace(runtime: Runtime, name: str, owner: User | None) -> Workspace:
    """A workspace with `owner` as its owner; plugins hear of it through `workspace_created`."""
    name = name.strip()
    if not name or len(name) > 120:
        raise ValueError("A workspace name needs 1 to 120 characters.")
    base = slugify(name)
    now = runtime.now()  # the models' auto_now_add is the wall clock; the core's clock wins
    async with in_transaction():
        slug = base
        while await Workspace.filter(slug=slug).exists():
            slug = f"{base}-{secrets.token_hex(3)}"
        workspace = await Workspace.create(name=name, slug=slug, created_at=now)
        if owner is not None:
            with workspace_scope(workspace.id):
                await Membership.create(
                    workspace_id=workspace.id, user=owner, role=Role.OWNER, created_at=now
                )
    await runtime.host.notify(
        "workspace_created", workspace=workspace, actor=owner, runtime=runtime
    )
    return workspace


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str


async def invite(
    runtime: Runtime, workspace: Workspace, email: str, role: Role, invited_by: User
) -> NewInvitation:
    """Record an invitation (token stored as a hash); call inside the workspace's scope."""
    if role == Role.OWNER:
        raise ValueError("Invite as admin or member; ownership is not handed out by email.")
    token = new_token("inv_", 32)
    invitation = await Invitation.create(
        workspace_id=workspace.id,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=invited_by,
        expires_at=runtime.now() + INVITATION_TTL,
        created_at=runtime.now(),
    )
    return NewInvitation(invitation, token)


async def find_invitation(runtime: Runtime, token: str) -> Invitation | None:
    """The open invitation for this token (looked up across workspaces: the token is the key)."""
    with unscoped():
        invitation = await Invitation.get_or_none(token_hash=hash_token(token)).prefetch_related(
            "workspace"
        )
    if invitation is None or invitation.accepted_at is not None:
        return None
    if runtime.now() >= invitation.expires_at:
        return None
    return invitation


async def accept(runtime: Runtime, invitation: Invitation) -> User:
    """Use the invitation once: its email becomes (or is) a user and a member of the workspace."""
    now = runtime.now()
    with workspace_scope(invitation.workspace_id):
        async with in_transaction():
            won = await Invitation.filter(id=invitation.id, accepted_at__isnull=True).update(
                accepted_at=now
            )
            if not won:
                raise ValueError("This invitation was already used.")
            user = await User.get_or_none(email=invitation.email)
            if user is None:
                user = await User.create(email=invitation.email, created_at=now)
            user.last_login_at = now
            await user.save(update_fields=["last_login_at"])
            if not await Membership.filter(user_id=user.id).exists():
                await Membership.create(
                    workspace_id=invitation.workspace_id,
                    user=user,
                    role=invitation.role,
                    created_at=now,
                )
    return user
