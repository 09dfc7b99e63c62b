"""Recovery's background tasks and schedule."""

from __future__ import annotations

from datetime import datetime

from core.contributions import Schedule, TaskDef
from core.jobs import enqueue
from core.runtime import Runtime
from core.settings import Settings
from plugins.recovery import engine, expiring
from plugins.recovery.cases import RUN_STEP_TASK

TICK_TASK = "recovery.tick"
DRAIN_TASK = "recovery.drain"
CARDS_TASK = "recovery.expiring_cards"
# How often the schedule looks for due steps (the day-0 step never waits for it), and how many
# drains each tick starts: as many workers as there are drains share the backlog.
TICK_SETTING, TICK_SECONDS = "SECONDLOOP_RECOVERY_TICK_SECONDS", 60.0
DRAINS_SETTING, DRAINS = "SECONDLOOP_RECOVERY_DRAINS", 2


async def run_step(
    workspace_id: int | None, runtime: Runtime, step_id: int, not_before: str | None = None
) -> None:
    due = datetime.fromisoformat(not_before) if not_before else None
    await engine.run_step(runtime, step_id, due)


async def tick(workspace_id: int | None, runtime: Runtime) -> None:
    """Start the drains for this slot when anything may be due (one job each, deduplicated
    per slot, so a tick fired twice starts them once)."""
    if not await engine.has_due(runtime):
        return
    slot = int(runtime.now().timestamp() // tick_seconds(runtime.settings))
    for n in range(drains(runtime.settings)):
        await enqueue(
            runtime, DRAIN_TASK, workspace_id=None, dedupe_key=f"recovery:drain:{slot}:{n}"
        )


async def drain(workspace_id: int | None, runtime: Runtime) -> None:
    await engine.run_due(runtime)


async def expiring_cards(workspace_id: int | None, runtime: Runtime) -> None:
    await expiring.scan_all(runtime)


def task_defs() -> list[TaskDef]:
    return [
        TaskDef(RUN_STEP_TASK, run_step),
        TaskDef(TICK_TASK, tick, max_attempts=1),
        # A drain that dies is not retried: its claims' leases expire and the next tick's
        # drains take the steps over.
        TaskDef(DRAIN_TASK, drain, max_attempts=1),
        TaskDef(CARDS_TASK, expiring_cards, max_attempts=3),
    ]


def _number(settings: Settings, name: str, default: float, low: float, high: float) -> float:
    raw = settings.extra.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, not {raw}")
    return value


def tick_seconds(settings: Settings) -> float:
    return _number(settings, TICK_SETTING, TICK_SECONDS, 1, 3600)


def drains(settings: Settings) -> int:
    return int(_number(settings, DRAINS_SETTING, DRAINS, 1, 64))


def schedules(settings: Settings) -> list[Schedule]:
    return [
        Schedule(
            name="recovery.tick",
            task=TICK_TASK,
            every=tick_seconds(settings),
            description="Run recovery steps that fell due",
        ),
        Schedule(
            name="recovery.expiring_cards",
            task=CARDS_TASK,
            cron="0 9 * * *",
            description="Email customers whose card expires soon",
        ),
    ]
