"""create_app(settings) -> Starlette: the web process, with worker and scheduler if asked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from core import broker as broker_module
from core import db
from core.clock import Clock, SystemClock
from core.jobs import cancel_timers
from core.plugins import PluginHost, build_plugin_host
from core.runtime import Runtime, build_runtime
from core.scheduler import SchedulerLoop
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Roles:
    """Which parts of SecondLoop this process runs."""

    web: bool = True
    worker: bool = True
    scheduler: bool = True


def create_runtime(
    settings: Settings,
    *,
    host: PluginHost | None = None,
    clock: Clock | None = None,
    inline_jobs: bool = False,
) -> Runtime:
    settings.validate()
    host = host or build_plugin_host(settings.plugins)
    runtime = build_runtime(settings, host, clock or SystemClock())
    broker_module.attach(runtime, broker_module.make_broker(settings, inline=inline_jobs))
    from core.services import install_services

    install_services(runtime)
    return runtime


@contextlib.asynccontextmanager
async def running(runtime: Runtime, roles: Roles) -> AsyncIterator[Runtime]:
    """Open the database and broker, start worker/scheduler as the roles say, close it all."""
    await db.init_db(runtime.settings, runtime.host)
    broker = runtime.broker
    assert broker is not None
    worker: broker_module.Worker | None = None
    scheduler: SchedulerLoop | None = None
    try:
        if roles.worker and not runtime.settings.embedded_broker:
            broker.is_worker_process = True
        await broker.startup()
        if roles.worker and not runtime.settings.embedded_broker:
            worker = broker_module.Worker(broker, runtime.services["jobs.inflight"])
            await worker.start()
        await runtime.host.notify("startup", runtime=runtime)
        if roles.scheduler:
            scheduler = SchedulerLoop(runtime)
            await scheduler.start()
        yield runtime
    finally:
        if (dispatch := broker_module.dispatch_of(runtime)) is not None:
            await dispatch.close()
            await asyncio.sleep(0)  # in-process: the jobs just sent start, so they are waited for
        if scheduler is not None:
            await scheduler.stop()
        if worker is not None:
            await worker.stop()
        elif runtime.settings.embedded_broker:
            # In-process jobs run as background tasks: let them finish before the database closes.
            inflight = runtime.services.get("jobs.inflight")
            if inflight is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(inflight.idle.wait(), 10)
        cancel_timers(runtime)
        with contextlib.suppress(Exception):
            await broker.shutdown()
        await db.close_db()


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    roles: Roles = Roles(),
) -> Starlette:
    settings = settings or Settings.from_env()
    runtime = runtime or create_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(runtime, roles):
            yield

    from core.web.errors import EXCEPTION_HANDLERS

    app = Starlette(
        routes=build_routes(runtime),
        middleware=build_middleware(runtime),
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app


def build_routes(runtime: Runtime) -> list[BaseRoute]:
    from core.web.routes import core_routes

    routes: list[BaseRoute] = list(core_routes(runtime))
    for plugin in runtime.host.plugins():
        if plugin.static_dir is not None:
            routes.append(
                Mount(
                    f"/static/plugins/{plugin.name}",
                    app=StaticFiles(directory=plugin.static_dir),
                    name=f"static-{plugin.name}",
                )
            )
    routes.extend(runtime.host.collect("register_routes", settings=runtime.settings))
    return routes


def build_middleware(runtime: Runtime) -> list[Middleware]:
    from core.web.middleware import core_middleware

    return core_middleware(runtime)
