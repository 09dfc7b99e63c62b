"""`secondloop serve | worker | scheduler`: the three process roles, together or apart."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

import uvicorn
from tortoise import connections

from core import db
from core.app import Roles, create_app, create_runtime, running
from core.contributions import CliCommand
from core.logs import configure_logging
from core.runtime import Runtime
from core.settings import Settings

log = logging.getLogger(__name__)


def start_logging(settings: Settings) -> None:
    """JSON logs, then what is suspicious in the (already validated) settings."""
    configure_logging(settings)
    for warning in settings.warnings():
        log.warning("configuration: %s", warning)


async def reach_database(settings: Settings, runtime: Runtime) -> None:
    """One query before the loops start: an unreachable database then stops the process with
    the CLI's one-line message instead of a traceback in every tick."""
    await db.init_db(settings, runtime.host)
    try:
        await connections.get("default").execute_query("SELECT 1")
    finally:
        await db.close_db()


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--web-only", action="store_true", help="serve HTTP only; run worker and scheduler apart"
    )
    parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    runtime = create_runtime(settings)  # validates the settings and loads the plugins first
    start_logging(settings)
    if args.no_migrate:
        await reach_database(settings, runtime)
    else:
        await db.migrate(settings, runtime.host)
        await db.close_db()
    roles = Roles(web=True, worker=not args.web_only, scheduler=not args.web_only)
    app = create_app(settings, runtime=runtime, roles=roles)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_config=None, timeout_graceful_shutdown=10
    )
    await uvicorn.Server(config).serve()
    return 0


async def _run_until_signalled(settings: Settings, roles: Roles) -> int:
    runtime = create_runtime(settings)  # validates the settings and loads the plugins first
    start_logging(settings)
    await reach_database(settings, runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running(runtime, roles):
        await stop.wait()
    return 0


def _configure_none(parser: argparse.ArgumentParser) -> None:
    pass


async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if settings.embedded_broker:
        print(
            "secondloop worker needs SECONDLOOP_BROKER_URL=redis://…; `serve` runs jobs in-process"
        )
        return 2
    return await _run_until_signalled(settings, Roles(web=False, worker=True, scheduler=False))


async def _scheduler(args: argparse.Namespace, settings: Settings) -> int:
    return await _run_until_signalled(settings, Roles(web=False, worker=False, scheduler=True))


COMMANDS = [
    CliCommand(
        "serve", "Run the web app (with worker and scheduler in-process).", _configure_serve, _serve
    ),
    CliCommand("worker", "Run a job worker (scale-out, Redis broker).", _configure_none, _worker),
    CliCommand("scheduler", "Run the scheduler and sweeper.", _configure_none, _scheduler),
]
