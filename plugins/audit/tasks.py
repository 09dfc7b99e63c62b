"""The audit's background tasks: `audit.run` executes (or resumes) one AuditRun;
`audit.monthly` starts the monthly runs of the workspaces that opted in."""

from __future__ import annotations

from core.contributions import TaskDef
from core.runtime import Runtime
from plugins.audit import monthly
from plugins.audit.runner import MAX_ATTEMPTS, TASK, execute_run


async def run_audit(*, workspace_id: int | None, runtime: Runtime, run_id: int) -> None:
    await execute_run(runtime, run_id)


TASKS = [
    TaskDef(TASK, run_audit, max_attempts=MAX_ATTEMPTS),
    TaskDef(monthly.TASK, monthly.run_monthly),
]
