"""Audit runs: one diagnostic of one Stripe account, its progress, checkpoint and results."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields

from core.tenancy import TenantModel


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AuditRun(TenantModel):
    """A diagnostic of one connected Stripe account over a lookback window.

    The checkpoint holds each list cursor and the compact records read so far, so a run
    whose worker died resumes where it stopped. Results follow docs/audit.md.
    """

    id = fields.IntField(primary_key=True)
    stripe_account_id = fields.CharField(max_length=64)
    account_ref = fields.IntField(null=True)  # core StripeAccount row id
    status = fields.CharEnumField(RunStatus, max_length=10, default=RunStatus.QUEUED)
    trigger = fields.CharField(max_length=20, default="manual")
    lookback_days = fields.IntField(default=90)
    progress: dict[str, Any] = fields.JSONField(default=dict)
    checkpoint: dict[str, Any] = fields.JSONField(default=dict)
    results: dict[str, Any] | None = fields.JSONField(null=True)
    calls = fields.IntField(default=0)
    attempts = fields.IntField(default=0)
    error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # Written every few seconds by the attempt reading Stripe (plugins/audit/lease.py).
    heartbeat_at = fields.DatetimeField(null=True)
    # When a scheduled run's summary went to the owners: a retried job sends what is missing.
    summary_sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "audit_run"
        indexes = (("workspace_id", "created_at"),)


class AuditSettings(TenantModel):
    """Per-workspace audit preferences: the monthly scheduled run and its email summary."""

    id = fields.IntField(primary_key=True)
    monthly = fields.BooleanField(default=False)
    last_scheduled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "audit_settings"
        unique_together = (("workspace",),)
