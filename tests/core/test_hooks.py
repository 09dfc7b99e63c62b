"""The core calls each registration and notification hook it owns, through a test plugin."""

from __future__ import annotations

import argparse
import tempfile
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from core import jobs, scheduler
from core.cli import main as cli_main
from core.clock import FrozenClock
from core.contributions import CliCommand, Schedule, TaskDef
from core.models import ScheduleRun
from core.plugins import hookimpl
from core.runtime import Runtime
from core.tenancy import unscoped

seen: dict[str, Any] = {}


async def _tick(workspace_id: int | None, runtime: Runtime) -> None:
    seen.setdefault("ticks", 0)
    seen["ticks"] += 1


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello from a plugin")


TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="sl-hook-templates-"))
(TEMPLATE_DIR / "hooktest.html").write_text("<p>rendered {{ word }} from a plugin directory</p>")


async def _templated(request: Request) -> Response:
    from core.web.templating import render

    return render(request, "hooktest.html", {"word": "<b>safely</b>"})


class MySpecs:
    @pluggy.HookspecMarker("secondloop")
    def my_plugin_extension_point(self) -> list[str]:  # type: ignore[empty-body]
        """An extension point published by a plugin."""


def _run_cli(args: argparse.Namespace, settings: Any) -> int:
    print(f"greetings {args.who}")
    return 0


plugin = types.SimpleNamespace(
    register_routes=hookimpl(
        lambda settings: [Route("/hello", _hello), Route("/templated", _templated)]
    ),
    register_template_dirs=hookimpl(lambda: [str(TEMPLATE_DIR)]),
    register_tasks=hookimpl(lambda: [TaskDef("test.tick", _tick)]),
    register_schedules=hookimpl(lambda: [Schedule("test.every-minute", "test.tick", every=60)]),
    register_hookspecs=hookimpl(lambda: [MySpecs]),
    my_plugin_extension_point=hookimpl(lambda: ["extended"]),
    register_cli_commands=hookimpl(
        lambda: [CliCommand("greet", "Say hello.", lambda p: p.add_argument("who"), _run_cli)]
    ),
    startup=hookimpl(lambda runtime: seen.__setitem__("startup", runtime)),
)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    seen.clear()
    return [("hooks-test", plugin)]


async def test_register_routes_are_served(client: Any) -> None:
    response = await client.get("/hello")
    assert response.text == "hello from a plugin"


async def test_register_template_dirs_are_searched_and_autoescaped(client: Any) -> None:
    response = await client.get("/templated")
    assert "rendered &lt;b&gt;safely&lt;/b&gt; from a plugin directory" in response.text


async def test_startup_is_notified_with_the_runtime(app: Any, runtime: Runtime) -> None:
    assert seen["startup"] is runtime


async def test_register_hookspecs_adds_callable_extension_points(runtime: Runtime) -> None:
    assert runtime.host.hook.my_plugin_extension_point() == [["extended"]]


async def test_register_schedules_fire_once_per_slot(
    app: Any, runtime: Runtime, clock: FrozenClock, drain: Any
) -> None:
    assert "test.every-minute" in await scheduler.fire_due(runtime)
    assert "test.every-minute" not in await scheduler.fire_due(runtime)  # slot already taken
    await drain()
    clock.advance(timedelta(seconds=60))
    assert "test.every-minute" in await scheduler.fire_due(runtime)
    await drain()
    assert seen["ticks"] == 2
    with unscoped():
        runs = await ScheduleRun.filter(name="test.every-minute").values_list("status", flat=True)
    assert list(runs) == ["done", "done"]


async def test_an_overlapping_schedule_run_is_skipped(
    app: Any, runtime: Runtime, clock: FrozenClock
) -> None:
    # The first slot's job is never dispatched, as if a worker were still busy on it.
    original = jobs.dispatch_jobs

    async def no_dispatch(runtime: Runtime, ids: Any) -> None:
        return None

    jobs.dispatch_jobs = no_dispatch  # type: ignore[assignment]
    try:
        assert "test.every-minute" in await scheduler.fire_due(runtime)
        clock.advance(timedelta(seconds=60))
        assert "test.every-minute" not in await scheduler.fire_due(runtime)
    finally:
        jobs.dispatch_jobs = original  # type: ignore[assignment]
    with unscoped():
        statuses = (
            await ScheduleRun.filter(name="test.every-minute")
            .order_by("slot")
            .values_list("status", flat=True)
        )
    assert list(statuses) == ["running", "skipped"]


def test_register_cli_commands_adds_a_subcommand(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core import cli

    real = cli.build_plugin_host
    monkeypatch.setattr(
        cli, "build_plugin_host", lambda enabled: real(enabled, [("hooks-test", plugin)])
    )
    assert cli_main(["greet", "operator"]) == 0
    assert "greetings operator" in capsys.readouterr().out
