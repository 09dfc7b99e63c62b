"""Schedule runs: one row per (schedule, slot); the unique pair is the lock against overlap."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ScheduleRun(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    slot = fields.DatetimeField()
    status = fields.CharField(max_length=12, default="running")  # running | done | failed | skipped
    job_id = fields.BigIntField(null=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    outcome = fields.TextField(default="")

    class Meta:
        table = "core_schedule_run"
        unique_together = (("name", "slot"),)
