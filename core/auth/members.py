"""Changing members' roles, handing ownership over, removing members.

The rules a workspace keeps:

- Owners and admins change roles, between admin and member only; nobody is made owner by a
  role change, and the owner's role never changes that way.
- There is always exactly one owner. Only the owner hands ownership over: the chosen member
  becomes the owner and the old owner an admin, in one transaction.
- Owners and admins remove members; anyone may leave. The owner can neither be removed nor
  leave (they hand ownership over first), so a workspace never loses its last owner.

Every write is conditional on the role it was decided on (`... WHERE role != 'owner'`), so a
change racing another one fails instead of breaking the rules. Call inside the workspace's
scope; memberships of other workspaces are not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core.models.workspaces import Membership, Role

ASSIGNABLE = (Role.ADMIN, Role.MEMBER)
_MANAGERS = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class Actor:
    """Who acts: their user id and role in the current workspace."""

    user_id: int
    role: Role


class MemberError(Exception):
    """A change the rules refuse; `status` is the HTTP answer, `message` is safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _not_found() -> MemberError:
    return MemberError(404, "No such member here.")


def _changed() -> MemberError:
    return MemberError(409, "Someone changed this member meanwhile; reload and try again.")


async def _target(membership_id: int) -> Membership:
    membership = await Membership.filter(id=membership_id).prefetch_related("user").first()
    if membership is None:
        raise _not_found()
    return membership


async def change_role(actor: Actor, membership_id: int, role: str) -> Membership:
    """Set another member's (or one's own) role to admin or member."""
    if actor.role not in _MANAGERS:
        raise MemberError(403, "Only owners and admins change roles.")
    if role not in {r.value for r in ASSIGNABLE}:
        if role == Role.OWNER.value:
            raise MemberError(400, "Ownership is handed over with Transfer ownership.")
        raise MemberError(400, "Choose admin or member.")
    target = await _target(membership_id)
    if target.role == Role.OWNER:
        raise MemberError(400, "The owner's role changes only by transferring ownership.")
    updated = await Membership.filter(id=target.id).exclude(role=Role.OWNER).update(role=Role(role))
    if not updated:
        raise _changed()
    target.role = Role(role)
    return target


async def transfer_ownership(actor: Actor, membership_id: int) -> Membership:
    """Make `membership_id` the owner and the acting owner an admin."""
    if actor.role != Role.OWNER:
        raise MemberError(403, "Only the owner hands ownership over.")
    target = await _target(membership_id)
    if target.user_id == actor.user_id:
        raise MemberError(400, "You are the owner already.")
    async with in_transaction():
        demoted = await Membership.filter(user_id=actor.user_id, role=Role.OWNER).update(
            role=Role.ADMIN
        )
        promoted = (
            await Membership.filter(id=target.id).exclude(role=Role.OWNER).update(role=Role.OWNER)
        )
        if demoted != 1 or promoted != 1:
            raise _changed()  # rolls both back
    target.role = Role.OWNER
    return target


async def remove_member(actor: Actor, membership_id: int) -> Membership:
    """Remove a member (owners and admins), or leave (anyone but the owner)."""
    target = await _target(membership_id)
    leaving = target.user_id == actor.user_id
    if not leaving and actor.role not in _MANAGERS:
        raise MemberError(403, "Only owners and admins remove members.")
    if target.role == Role.OWNER:
        message = (
            "Hand ownership over before you leave." if leaving else "The owner cannot be removed."
        )
        raise MemberError(400, message)
    deleted = await Membership.filter(id=target.id).exclude(role=Role.OWNER).delete()
    if not deleted:
        raise _changed()
    return target
