"""API keys for /api/v1: bound to one workspace, stored only as a SHA-256 hash."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from core.tenancy import TenantModel


class ApiScope(StrEnum):
    READ = "read"
    WRITE = "write"


class ApiKey(TenantModel):
    """The key itself is shown once at creation, only its hash and a short prefix are kept."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120, default="")
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    scope = fields.CharEnumField(ApiScope, max_length=5, default=ApiScope.READ)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_api_key"
        indexes = (("workspace_id", "created_at"),)
