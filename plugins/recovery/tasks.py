"""Recovery's background tasks and schedule."""

from __future__ import annotations

from datetime import datetime

from core.contributions import Schedule, TaskDef
from core.runtime import Runtime
from plugins.recovery import engine, expiring
from plugins.recovery.cases import RUN_STEP_TASK

TICK_TASK = "recovery.tick"
CARDS_TASK = "recovery.expiring_cards"
# How often the schedule looks for due steps (the day-0 step never waits for it).
TICK_SECONDS = 60.0


async def run_step(
    workspace_id: int | None, runtime: Runtime, step_id: int, not_before: str | None = None
) -> None:
    due = datetime.fromisoformat(not_before) if not_before else None
    await engine.run_step(runtime, step_id, due)


async def tick(workspace_id: int | None, runtime: Runtime) -> None:
    await engine.run_due(runtime)


async def expiring_cards(workspace_id: int | None, runtime: Runtime) -> None:
    await expiring.scan_all(runtime)


def task_defs() -> list[TaskDef]:
    return [
        TaskDef(RUN_STEP_TASK, run_step),
        TaskDef(TICK_TASK, tick, max_attempts=1),
        TaskDef(CARDS_TASK, expiring_cards, max_attempts=3),
    ]


def schedules() -> list[Schedule]:
    return [
        Schedule(
            name="recovery.tick",
            task=TICK_TASK,
            every=TICK_SECONDS,
            description="Run recovery steps that fell due",
        ),
        Schedule(
            name="recovery.expiring_cards",
            task=CARDS_TASK,
            cron="0 9 * * *",
            description="Email customers whose card expires soon",
        ),
    ]
