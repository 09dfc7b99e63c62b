"""The audit's onboarding step and dashboard contributions."""

from __future__ import annotations

from core.models.workspaces import Workspace
from core.onboarding import OnboardingStep
from core.tenancy import workspace_scope
from plugins.audit.models import AuditRun, RunStatus

URL = "/app/audit"


async def audit_step(workspace: Workspace) -> OnboardingStep:
    """Optional: `/app` opens without it, but the progress indicator leads here next."""
    with workspace_scope(workspace.id):
        done = await AuditRun.filter(status=RunStatus.DONE).exists()
    return OnboardingStep(
        "audit", "Run the revenue audit", URL, order=20, done=done, required=False
    )


async def latest_recoverable(workspace_id: int) -> dict[str, int] | None:
    """The recoverable amount (minor units per currency) the latest finished audit found, for
    the onboarding's "turn on recovery" step; other plugins reach it through
    `runtime.services["audit.latest_recoverable"]`, never by importing this plugin."""
    with workspace_scope(workspace_id):
        run = await AuditRun.filter(status=RunStatus.DONE).order_by("-created_at", "-id").first()
    if run is None or not run.results:
        return None
    return dict(run.results["failed_invoices"]["recoverable"]["amount"])
