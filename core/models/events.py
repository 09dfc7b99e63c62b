"""Stored Stripe events and the durable jobs that carry every unit of background work."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from core.tenancy import TenantModel


class EventStatus(StrEnum):
    RECEIVED = "received"  # stored, handlers pending
    PROCESSED = "processed"  # every handler done
    FAILED = "failed"  # a handler gave up after its retries
    IGNORED = "ignored"  # no handler wanted it
    ORPHANED = "orphaned"  # unknown or revoked account: recorded and counted, not processed
    UNINTERPRETABLE = "uninterpretable"  # a handler could not read it; kept, never dropped


class Event(TenantModel):
    id = fields.BigIntField(primary_key=True)
    # Nullable: an event for an unknown account still gets stored (and counted) but has no tenant.
    # No index of its own: the unique key and (workspace_id, received_at) both start with it,
    # and every index is paid again on each of the intake's inserts.
    workspace: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "core.Workspace", related_name=False, null=True, on_delete=fields.CASCADE, db_index=False
    )
    stripe_event_id = fields.CharField(max_length=255)
    stripe_account_id = fields.CharField(max_length=64, default="")
    type = fields.CharField(max_length=100, db_index=True)
    api_version = fields.CharField(max_length=40, default="")
    livemode = fields.BooleanField(default=False)
    created = fields.DatetimeField()
    received_at = fields.DatetimeField()  # indexed with workspace_id, below
    source = fields.CharField(max_length=20, default="connect")
    status = fields.CharEnumField(EventStatus, max_length=20, default=EventStatus.RECEIVED)
    payload: dict[str, Any] = fields.JSONField()

    class Meta:
        table = "core_event"
        # Per workspace: several workspaces may connect the same Stripe account, and each gets
        # its own copy. Orphaned events (no workspace) are de-duplicated by the intake itself.
        unique_together = (("workspace", "stripe_account_id", "stripe_event_id"),)
        indexes = (("workspace_id", "received_at"), ("stripe_account_id", "status"))


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # gave up after max_attempts
    SKIPPED = "skipped"  # e.g. the handler could not interpret the event


class Job(TenantModel):
    """A unit of work. The row is the truth, a broker message only names the job id."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "core.Workspace", related_name=False, null=True, on_delete=fields.CASCADE, db_index=True
    )
    name = fields.CharField(max_length=200)
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "core.Event", related_name="jobs", null=True, on_delete=fields.CASCADE
    )
    event_id: int | None
    payload: dict[str, Any] = fields.JSONField(default=dict)
    status = fields.CharEnumField(JobStatus, max_length=10, default=JobStatus.PENDING)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    run_after = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    dispatched_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    dedupe_key = fields.CharField(max_length=255, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_job"
        # event_id: finishing a handler job looks at its event's other jobs.
        indexes = (("status", "run_after"), ("event_id",))
