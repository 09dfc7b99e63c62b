"""Outbound email: every message ever sent (or withheld) and the per-workspace suppression list."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from core.tenancy import TenantModel


class EmailStatus(StrEnum):
    QUEUED = "queued"  # recorded, waiting for its delivery job
    SENDING = "sending"  # claimed by a delivery attempt
    SENT = "sent"  # accepted by the SMTP server, or written to the local outbox
    FAILED = "failed"  # permanent SMTP error, or transient errors past the retry budget
    SUPPRESSED = "suppressed"  # the address is on the workspace suppression list


class OutboundEmail(TenantModel):
    """One message. The key column makes a repeat of the same idempotency key a no-op."""

    id = fields.BigIntField(primary_key=True)
    # Nullable: sign-in mail is sent before any workspace exists.
    workspace: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "core.Workspace", related_name=False, null=True, on_delete=fields.CASCADE, db_index=True
    )
    # workspace id (or -) and the idempotency key: unique even where workspace is NULL.
    key = fields.CharField(max_length=300, unique=True)
    idempotency_key = fields.CharField(max_length=255)
    message_id = fields.CharField(max_length=255)
    to_address = fields.CharField(max_length=254)
    from_address = fields.CharField(max_length=320)
    reply_to = fields.CharField(max_length=254, null=True)
    subject = fields.CharField(max_length=500)
    text_body = fields.TextField()
    html_body = fields.TextField()
    headers: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    category = fields.CharField(max_length=40, default="transactional")
    customer_facing = fields.BooleanField(default=False)
    status = fields.CharEnumField(EmailStatus, max_length=12, default=EmailStatus.QUEUED)
    transport = fields.CharField(max_length=10, default="")
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    # The receiving server refused the message permanently (a 5xx): a bounce, not a give-up.
    bounced = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_outbound_email"
        indexes = (("workspace_id", "created_at"), ("workspace_id", "status", "sent_at"))


class Suppression(TenantModel):
    """An address the workspace must not mail again (unsubscribed, hard bounce, manual)."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254)
    reason = fields.CharField(max_length=20, default="unsubscribe")
    created_at = fields.DatetimeField()

    class Meta:
        table = "core_suppression"
        unique_together = (("workspace", "email"),)
