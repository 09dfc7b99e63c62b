"""The per-workspace suppression list, checked before every send."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from core.models.email import Suppression
from core.runtime import Runtime
from core.tenancy import unscoped


def normalize(address: str) -> str:
    return address.strip().lower()


async def is_suppressed(workspace_id: int, address: str) -> bool:
    with unscoped():
        return await Suppression.filter(
            workspace_id=workspace_id, email=normalize(address)
        ).exists()


async def suppress(runtime: Runtime, workspace_id: int, address: str, reason: str) -> bool:
    """Add the address; True when it was new. Safe to call twice (unique per workspace+email)."""
    email = normalize(address)
    with unscoped():
        if await Suppression.filter(workspace_id=workspace_id, email=email).exists():
            return False
        try:
            await Suppression.create(
                workspace_id=workspace_id, email=email, reason=reason, created_at=runtime.now()
            )
        except IntegrityError:  # a concurrent unsubscribe got there first
            return False
    return True
