"""The step engine: claim a due step safely, run its type, record what happened.

A step is claimed by an atomic conditional UPDATE (pending and due, or running with an expired
lease after a crash), the same on SQLite and PostgreSQL; on PostgreSQL the tick first selects
candidates `FOR UPDATE SKIP LOCKED` so several workers split the work instead of colliding.
Due-ness is judged in the customer's time (a test clock's frozen time); leases in real time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core.jobs import backoff
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import gateway
from plugins.recovery.cases import ACTIVE, cancel_pending, settings_for
from plugins.recovery.models import Case, CaseStatus, CaseStep, RecoverySettings, StepStatus
from plugins.recovery.steps.base import (
    Outcome,
    StepContext,
    StepResult,
    StepType,
    collect_step_types,
)

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_STEP_ATTEMPTS = 6
BATCH = 200
# A drain stops claiming after this long; the next tick's drains go on where it left off.
DRAIN_BUDGET = timedelta(minutes=4)
# And after this many batches whatever the clock says (a frozen clock in a rehearsal).
MAX_DRAIN_BATCHES = 500


def step_types(runtime: Runtime) -> dict[str, StepType]:
    """Every registered step type, collected once per runtime."""
    types: dict[str, StepType] | None = runtime.services.get("recovery.step_types")
    if types is None:
        types = collect_step_types(runtime.host)
        runtime.services["recovery.step_types"] = types
    return types


def _runnable(due_now: datetime, wall_now: datetime) -> Q:
    return Q(status=StepStatus.PENDING, due_at__lte=due_now) | Q(
        status=StepStatus.RUNNING, locked_until__lt=wall_now
    )


async def claim(step_id: int, due_now: datetime, wall_now: datetime) -> bool:
    """Take one step for this worker; False when it is not due or someone else has it."""
    claimed = await CaseStep.filter(Q(id=step_id) & _runnable(due_now, wall_now)).update(
        status=StepStatus.RUNNING,
        locked_until=wall_now + LEASE,
        attempts=F("attempts") + 1,
        started_at=wall_now,
    )
    return bool(claimed)


async def run_step(runtime: Runtime, step_id: int, not_before: datetime | None = None) -> str:
    """Claim and run one step (in its workspace scope); returns its resulting status.

    `not_before` is the customer time the enqueuer judged the step due at: the core's copy of
    a test clock may lag behind the event that opened the case.
    """
    step = await CaseStep.get_or_none(id=step_id)
    if step is None:
        return "missing"
    case = await Case.get(id=step.case_id)
    now = await gateway.now_for(runtime, case.stripe_account_id, case.customer_id, case.test_clock)
    if not_before is not None:
        now = max(now, not_before)
    if not await claim(step.id, now, runtime.now()):
        return "not-claimed"
    return await execute(runtime, step.id, now)


async def execute(
    runtime: Runtime,
    step_id: int,
    now: datetime,
    *,
    step: CaseStep | None = None,
    settings: RecoverySettings | None = None,
) -> str:
    """Run a claimed step and record the result.

    A tick's batch hands in the step it loaded right after claiming it (the claim makes it
    ours: nothing else writes it meanwhile) and the workspace's settings read for the batch;
    the case is always read fresh, since the customer may pay at any moment.
    """
    step = step if step is not None else await CaseStep.get(id=step_id)
    case = await Case.get(id=step.case_id)
    settings = settings if settings is not None else await settings_for()
    if case.status not in ACTIVE:
        await _finish(step, StepStatus.CANCELLED, {"reason": f"case {case.status}"}, runtime.now())
        return StepStatus.CANCELLED
    if case.status == CaseStatus.PAUSED or settings.processing_paused or not settings.enabled:
        # Hand it back untouched: it runs when the case or the workspace resumes.
        await CaseStep.filter(id=step.id, status=StepStatus.RUNNING).update(
            status=StepStatus.PENDING, locked_until=None, attempts=F("attempts") - 1
        )
        return StepStatus.PENDING
    step_type = step_types(runtime).get(step.type)
    if step_type is None:
        error = {"error": f"unknown step type {step.type!r}"}
        await _finish(step, StepStatus.FAILED, error, runtime.now())
        return StepStatus.FAILED
    try:
        result = await step_type.run(step, StepContext(runtime, case, settings, now))
    except Exception as exc:
        log.exception("recovery step %s (%s) failed", step.id, step.type)
        delay = backoff(step.attempts).total_seconds()
        result = StepResult.retry(delay, error=f"{type(exc).__name__}: {exc}"[:500])
    return await apply(step, result, now, runtime.now())


async def apply(step: CaseStep, result: StepResult, now: datetime, wall_now: datetime) -> str:
    """Record a step's result: finished, or back to pending after its delay (customer time)."""
    await step.refresh_from_db()
    detail = {**step.result, **result.detail}
    if result.outcome in (Outcome.DONE, Outcome.STOP):
        await _finish(step, StepStatus.DONE, detail, wall_now)
        if result.outcome == Outcome.STOP:
            await cancel_pending(step.case_id, "sequence stopped")
        return StepStatus.DONE
    if result.outcome == Outcome.RETRY and step.attempts >= MAX_STEP_ATTEMPTS:
        await _finish(step, StepStatus.FAILED, detail, wall_now)
        return StepStatus.FAILED
    # WAIT is not a failure: give the attempt back.
    give_back = 1 if result.outcome == Outcome.WAIT else 0
    await CaseStep.filter(id=step.id, status=StepStatus.RUNNING).update(
        status=StepStatus.PENDING,
        due_at=now + timedelta(seconds=result.delay),
        locked_until=None,
        attempts=F("attempts") - give_back,
        result=detail,
    )
    return StepStatus.PENDING


async def _finish(step: CaseStep, status: StepStatus, result: dict[str, Any], at: datetime) -> None:
    await CaseStep.filter(id=step.id, status=StepStatus.RUNNING).update(
        status=status, result=result, locked_until=None, finished_at=at
    )


async def _claim_batch(due_now: datetime, wall_now: datetime, **match: Any) -> list[CaseStep]:
    """Claim up to BATCH due steps; returns the steps now ours, as claimed.

    On PostgreSQL the rows are locked `FOR NO KEY UPDATE SKIP LOCKED` while they are claimed, so
    another worker's tick skips them instead of waiting; the claim is still one conditional
    UPDATE (pending and due, or an expired lease), so it stays correct everywhere (SQLite
    serialises the transaction). The lease's end, unique to this claim, tells our rows apart.
    """
    query = (
        CaseStep.filter(_runnable(due_now, wall_now), case__status=CaseStatus.OPEN, **match)
        .order_by("due_at")
        .limit(BATCH)
    )
    lease_until = wall_now + LEASE
    async with in_transaction():
        # `only()`, not `values_list()`: Tortoise drops FOR UPDATE from value queries.
        rows = await query.select_for_update(
            skip_locked=True, of=(CaseStep._meta.db_table,), no_key=True
        ).only("id")
        ids = [row.id for row in rows]
        if not ids:
            return []
        await CaseStep.filter(Q(id__in=ids) & _runnable(due_now, wall_now)).update(
            status=StepStatus.RUNNING,
            locked_until=lease_until,
            attempts=F("attempts") + 1,
            started_at=wall_now,
        )
        claimed = await CaseStep.filter(
            id__in=ids, status=StepStatus.RUNNING, locked_until=lease_until, started_at=wall_now
        )
    order = {step_id: n for n, step_id in enumerate(ids)}
    return sorted(claimed, key=lambda step: order[step.id])


async def _run_batch(runtime: Runtime, steps: list[CaseStep], due_now: datetime) -> int:
    with unscoped():  # one read for the batch instead of one per step
        found = await RecoverySettings.filter(
            workspace_id__in={step.workspace_id for step in steps}
        )
    settings = {row.workspace_id: row for row in found}
    for step in steps:
        with workspace_scope(step.workspace_id):
            await execute(
                runtime, step.id, due_now, step=step, settings=settings.get(step.workspace_id)
            )
    return len(steps)


async def _live_workspaces() -> list[int]:
    with unscoped():
        found = await RecoverySettings.filter(enabled=True, processing_paused=False).values_list(
            "workspace_id", flat=True
        )
    return [int(x) for x in found]  # type: ignore[call-overload]  # flat=True gives scalars


async def has_due(runtime: Runtime) -> bool:
    """Whether any step may be due: real-time steps due now, or any open test-clock case
    (whose time only its clock knows). Cheap enough for every tick."""
    live = await _live_workspaces()
    if not live:
        return False
    now = runtime.now()
    with unscoped():
        open_cases = CaseStep.filter(workspace_id__in=live, case__status=CaseStatus.OPEN)
        return bool(
            await open_cases.filter(_runnable(now, now), case__test_clock="").exists()
            or await Case.filter(workspace_id__in=live, status=CaseStatus.OPEN)
            .exclude(test_clock="")
            .exists()
        )


async def run_due(runtime: Runtime, budget: timedelta = DRAIN_BUDGET) -> int:
    """Drain: run every due step of customers in real time, then of each test clock.

    Claims batch after batch until nothing is due or `budget` has passed, so a backlog never
    waits for a later tick while this one has time; several drains at once (the tick fans out,
    see `tasks.py`) split the work through their claims.
    """
    started = runtime.now()
    live = await _live_workspaces()
    if not live:
        return 0
    with unscoped():
        clocks = set(
            await Case.filter(workspace_id__in=live, status=CaseStatus.OPEN)
            .exclude(test_clock="")
            .values_list("workspace_id", "stripe_account_id", "test_clock")
        )
    ran = 0
    for _ in range(MAX_DRAIN_BATCHES):
        wall = runtime.now()
        with unscoped():
            steps = await _claim_batch(wall, wall, workspace_id__in=live, case__test_clock="")
        ran += await _run_batch(runtime, steps, wall)
        if len(steps) < BATCH or runtime.now() - started > budget:
            break
    for workspace_id, account, clock in sorted(clocks):
        with workspace_scope(int(workspace_id)):
            ran += await run_due_for_clock(runtime, str(account), str(clock))
    return ran


async def run_due_for_clock(runtime: Runtime, stripe_account_id: str, clock_id: str) -> int:
    """Run the steps that fell due in a test clock's time (call inside the workspace scope)."""
    settings = await settings_for()
    if not settings.enabled or settings.processing_paused:
        return 0
    now = await gateway.now_for(runtime, stripe_account_id, None, clock_id)
    started, ran = runtime.now(), 0
    for _ in range(MAX_DRAIN_BATCHES):
        steps = await _claim_batch(
            now, runtime.now(), case__test_clock=clock_id,
            case__stripe_account_id=stripe_account_id,
        )
        ran += await _run_batch(runtime, steps, now)
        if len(steps) < BATCH or runtime.now() - started > DRAIN_BUDGET:
            break
    return ran
