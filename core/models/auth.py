"""Sign-in: single-use magic-link tokens (hashes only) and the rate-limit ledger."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.models.workspaces import User


class SignInToken(Model):
    """A magic link. Only the SHA-256 of the token is kept, and it is good for one use."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    requested_ip = fields.CharField(max_length=64, default="")

    class Meta:
        table = "core_signin_token"


class RateLimitHit(Model):
    """One counted attempt in a bucket (for example signin email or signin ip).

    Kept in the database so the limit holds across every web process.
    """

    id = fields.IntField(primary_key=True)
    bucket = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()

    class Meta:
        table = "core_rate_limit_hit"
        indexes = (("bucket", "created_at"),)


class UserSession(Model):
    """A signed-in browser. The cookie carries a random key and this row its SHA-256.

    Signing out revokes the row, so a copied cookie stops working at once.
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_user_session"
