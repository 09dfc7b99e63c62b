"""``create_app()``: the sandbox as a Starlette application."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from sandbox import persistence, resources
from sandbox.accounts import bootstrap
from sandbox.admin import AdminRoutes
from sandbox.config import SandboxConfig
from sandbox.delivery import DeliveryWorker
from sandbox.oauth import OAuthRoutes
from sandbox.routing import Pipeline, build_routes
from sandbox.scheduler import resume_advances, tick
from sandbox.state import SandboxState

log = logging.getLogger("sandbox")


def load_extensions(names: tuple[str, ...]) -> list[ModuleType]:
    """Import extension modules that exist (the billing engine: ``sandbox.billing``).

    An extension may expose ``routes`` (ApiRoutes served through the /v1 pipeline) and
    ``page_routes(state)`` (plain Starlette routes: hosted pages, its own /_sandbox helpers);
    importing it registers its timer handlers and expanders.
    """
    modules = []
    for name in names:
        if importlib.util.find_spec(name) is None:
            continue
        modules.append(importlib.import_module(name))
    return modules


def build_state(config: SandboxConfig) -> SandboxState:
    state: SandboxState | None = None
    if config.state_file:
        state = persistence.load(config.state_file)
        if state is not None:
            state.config = config
    if state is None:
        state = SandboxState(config)
    bootstrap(state)
    return state


def create_app(config: SandboxConfig | None = None, state: SandboxState | None = None) -> Starlette:
    """The sandbox app. ``app.state.sandbox`` is the :class:`SandboxState` it serves."""
    config = config or (state.config if state is not None else SandboxConfig())
    state = state or build_state(config)
    extensions = load_extensions(config.extensions)
    worker = DeliveryWorker(state)

    def persist() -> None:
        if config.state_file:
            persistence.save(state, config.state_file)

    async def ticker() -> None:
        last = time.monotonic()
        next_save = last + (config.persist_interval or float("inf"))
        while True:
            await asyncio.sleep(config.tick_interval)
            now = time.monotonic()
            try:
                tick(state, now - last)
            except Exception:
                log.exception("sandbox tick failed")
            last = now
            if config.state_file and now >= next_save:
                persist()
                next_save = now + (config.persist_interval or float("inf"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await worker.start()
        resume_advances(state)  # a saved state may hold a clock caught mid-advance
        task = asyncio.create_task(ticker())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await worker.stop()
            persist()

    pipeline = Pipeline(state)
    api_routes = resources.all_routes()
    page_routes: list[BaseRoute] = []
    for ext in extensions:
        api_routes.extend(getattr(ext, "routes", []))
        if hasattr(ext, "page_routes"):
            page_routes.extend(ext.page_routes(state))
    routes: list[BaseRoute] = [
        *AdminRoutes(state, persist).routes(),
        *OAuthRoutes(state).routes(),
        *page_routes,
        *build_routes(pipeline, api_routes),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = state
    app.state.delivery = worker
    app.state.persist = persist
    return app


def app_factory() -> Any:
    """For ``uvicorn --factory sandbox.app:app_factory``."""
    return create_app()
