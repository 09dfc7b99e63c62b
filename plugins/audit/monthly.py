"""The monthly scheduled audit: a run per opted-in workspace, its summary mailed to owners."""

from __future__ import annotations

from typing import Any

from core.contributions import Schedule
from core.email import send_email
from core.models.workspaces import Membership, Role, User
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.audit.models import AuditRun, AuditSettings
from plugins.audit.runner import NoStripeAccount, account_to_audit, start_run

TASK = "audit.monthly"
SCHEDULE = Schedule(
    "audit.monthly",
    TASK,
    cron="0 6 1 * *",
    description="Monthly revenue audit for workspaces that opted in",
)


async def run_monthly(*, workspace_id: int | None, runtime: Runtime, **_: Any) -> int:
    """Start this month's run for every opted-in workspace (once per month each)."""
    month = runtime.now().strftime("%Y-%m")
    with unscoped():
        opted = await AuditSettings.filter(monthly=True).order_by("workspace_id")
    started = 0
    for prefs in opted:
        with workspace_scope(prefs.workspace_id):
            if prefs.last_scheduled_at and prefs.last_scheduled_at.strftime("%Y-%m") == month:
                continue
            try:
                account = await account_to_audit()
            except NoStripeAccount:
                continue
            prefs.last_scheduled_at = runtime.now()
            await prefs.save(update_fields=["last_scheduled_at"])
            await start_run(runtime, prefs.workspace_id, account, trigger="scheduled")
            started += 1
    return started


async def email_summary(runtime: Runtime, run: AuditRun) -> int:
    """Mail the run's plain-English summary to the workspace's owners (inside its scope)."""
    owner_ids = await Membership.filter(role=Role.OWNER).values_list("user_id", flat=True)
    emails = await User.filter(id__in=list(owner_ids)).values_list("email", flat=True)
    lines = list((run.results or {}).get("summary") or [])
    link = f"{runtime.settings.base_url.rstrip('/')}/app/audit/runs/{run.id}"
    text = "\n\n".join([*lines, f"The full audit: {link}"])
    for email in emails:
        await send_email(
            runtime,
            workspace_id=run.workspace_id,
            to=str(email),
            subject="Your monthly revenue audit",
            text=text,
            idempotency_key=f"audit-summary:{run.id}:{email}",
        )
    return len(emails)


async def set_monthly(workspace_id: int, enabled: bool) -> AuditSettings:
    prefs, _ = await AuditSettings.get_or_create(workspace_id=workspace_id)
    prefs.monthly = enabled
    await prefs.save(update_fields=["monthly"])
    return prefs


async def is_monthly() -> bool:
    prefs = await AuditSettings.first()
    return bool(prefs and prefs.monthly)
