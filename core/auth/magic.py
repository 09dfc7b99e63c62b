"""Magic links: a random token mailed to the address, stored only as its SHA-256, used once."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from core.crypto import hash_token, new_token
from core.models.auth import SignInToken
from core.models.workspaces import User
from core.runtime import Runtime

LINK_TTL = timedelta(minutes=15)


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Consumed:
    user: User | None
    problem: LinkProblem | None = None


def normalize_email(raw: str) -> str | None:
    email = raw.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c in email for c in " \r\n,;<>"):
        return None
    return email


async def issue(runtime: Runtime, email: str, ip: str) -> str:
    """Create a link token for `email`; returns the token (the only time it exists in clear)."""
    token = new_token("sl_", 32)
    now = runtime.now()
    await SignInToken.create(
        email=email,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + LINK_TTL,
        requested_ip=ip[:64],
    )
    return token


async def peek(runtime: Runtime, token: str) -> LinkProblem | None:
    """What is wrong with this link, if anything, without using it (for the confirm page)."""
    row = await SignInToken.get_or_none(token_hash=hash_token(token))
    return _problem(runtime, row)


def _problem(runtime: Runtime, row: SignInToken | None) -> LinkProblem | None:
    if row is None:
        return LinkProblem.UNKNOWN
    if row.used_at is not None:
        return LinkProblem.USED
    if runtime.now() >= row.expires_at:
        return LinkProblem.EXPIRED
    return None


async def consume(runtime: Runtime, token: str) -> Consumed:
    """Use the link once: the conditional update lets exactly one of two racing requests win."""
    digest = hash_token(token)
    async with in_transaction():
        row = await SignInToken.get_or_none(token_hash=digest)
        problem = _problem(runtime, row)
        if problem is not None or row is None:
            return Consumed(None, problem)
        now = runtime.now()
        won = await SignInToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
        if not won:
            return Consumed(None, LinkProblem.USED)
        user = await User.get_or_none(email=row.email)
        if user is None:
            user = await User.create(email=row.email, created_at=now)
        user.last_login_at = now
        await user.save(update_fields=["last_login_at"])
    return Consumed(user)
