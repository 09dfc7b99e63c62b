"""The schedules' status: last run and outcome, and a missed window shown in red."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core import scheduler
from core.api.keys import create_key
from core.clock import FrozenClock
from core.contributions import Schedule, TaskDef
from core.models import Workspace
from core.plugins import hookimpl
from core.runtime import Runtime
from core.schedule_status import expected_slot, schedule_states
from tests.core.web_support import connect_stripe, create_workspace, sign_in

START = datetime(2026, 12, 6, 2, 0, 10, tzinfo=UTC)


async def _fine(workspace_id: int | None, runtime: Runtime) -> None:
    return None


async def _broken(workspace_id: int | None, runtime: Runtime) -> None:
    raise RuntimeError("the nightly report exploded")


plugin = types.SimpleNamespace(
    register_tasks=hookimpl(
        lambda: [TaskDef("t.fine", _fine), TaskDef("t.broken", _broken, max_attempts=1)]
    ),
    register_schedules=hookimpl(
        lambda: [
            Schedule("t.minutely", "t.fine", every=60),
            Schedule("t.nightly", "t.broken", cron="0 3 * * *"),
        ]
    ),
)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("schedule-status-test", plugin)]


def _state(states: list[Any], name: str) -> Any:
    return next(s for s in states if s.schedule.name == name)


def test_the_expected_slot_of_each_kind() -> None:
    assert expected_slot(Schedule("a", "x", every=300), START) == START.replace(second=0)
    nightly = Schedule("b", "x", cron="0 3 * * *")
    assert expected_slot(nightly, START) == datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    assert expected_slot(nightly, START.replace(hour=3, minute=1)) == START.replace(
        hour=3, minute=0, second=0
    )


async def test_runs_late_slots_and_failures(
    app: Any, runtime: Runtime, clock: FrozenClock, drain: Any
) -> None:
    clock.set(START)
    # Nothing ever ran here: nothing is blamed yet.
    assert {s.health for s in await schedule_states(runtime)} == {"waiting"}

    await scheduler.fire_due(runtime)
    await drain()
    states = await schedule_states(runtime)
    assert _state(states, "t.minutely").health == "ok"
    # Yesterday's 03:00 came before any scheduler ran here: not counted as missed.
    assert _state(states, "t.nightly").health == "waiting"

    # The scheduler stops: once a slot's grace minute is over without a run, it is late.
    clock.set(START.replace(minute=1, second=40))  # 02:00 ran; 02:01 is within its grace
    assert not _state(await schedule_states(runtime), "t.minutely").late
    clock.set(START.replace(minute=5, second=5))
    minutely = _state(await schedule_states(runtime), "t.minutely")
    assert minutely.late and minutely.health == "late"
    assert minutely.expected == START.replace(minute=4, second=0)
    assert minutely.missed_recently == 4  # 02:01–02:04

    # Running again: no longer late, but the outage still shows (for a day).
    clock.set(START.replace(minute=6, second=30))
    await scheduler.fire_due(runtime)
    await drain()
    minutely = _state(await schedule_states(runtime), "t.minutely")
    assert not minutely.late and minutely.health == "missed" and minutely.missed_recently == 5

    # 03:00 passes while the scheduler is down, then it runs and fails.
    clock.set(START.replace(hour=3, minute=2))
    assert _state(await schedule_states(runtime), "t.nightly").health == "late"
    clock.set(START.replace(hour=3, minute=0, second=1))
    await scheduler.fire_due(runtime)
    await drain()
    nightly = _state(await schedule_states(runtime), "t.nightly")
    assert nightly.health == "failed" and nightly.last is not None
    assert "exploded" in nightly.last.outcome


async def test_the_status_page_and_api(
    app: Any, runtime: Runtime, clock: FrozenClock, client: httpx.AsyncClient, drain: Any
) -> None:
    clock.set(START)
    await scheduler.fire_due(runtime)
    await drain()
    clock.advance(timedelta(minutes=3))

    await sign_in(client, "status@example.com")
    await create_workspace(client, "Status")
    workspace = await Workspace.get(name="Status")
    await connect_stripe(workspace.id, "acct_status")
    page = HTMLParser((await client.get("/app/status")).text)
    row = page.css_first('tr[data-schedule="t.minutely"]')
    assert row is not None and "schedule-late" in (row.attributes.get("class") or "")
    alert = page.css_first('#schedules [role="alert"]')
    assert alert is not None and "need" in alert.text()
    settings_page = HTMLParser((await client.get("/app/settings")).text)
    assert settings_page.css_first('a[href="/app/status"]') is not None

    key = await create_key(runtime, workspace.id, "read")
    listed = await client.get(
        "/api/v1/schedules", headers={"Authorization": f"Bearer {key.secret}"}
    )
    assert listed.status_code == 200, listed.text
    by_name = {s["name"]: s for s in listed.json()["data"]}
    assert by_name["t.minutely"]["late"] is True
    assert by_name["t.minutely"]["last_run"]["status"] == "done"
    assert (await client.get("/api/v1/schedules")).status_code == 401
