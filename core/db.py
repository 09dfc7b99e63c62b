"""Database set-up: one Tortoise app per plugin, migrations with Tortoise's built-in system;
and `Batcher`, which turns many small concurrent statements into one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base import executor as base_executor
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as tortoise_migrate

from core.contributions import ModelApp
from core.plugins import PluginHost
from core.settings import Settings
from core.sqlite_inline import InlineSqlite

T = TypeVar("T")
R = TypeVar("R")


def model_apps(host: PluginHost) -> list[ModelApp]:
    apps = host.collect("register_models")
    labels = [app.label for app in apps]
    duplicates = {label for label in labels if labels.count(label) > 1}
    if duplicates:
        raise ValueError(f"two plugins claim the model app label(s) {sorted(duplicates)}")
    return apps


def db_url(settings: Settings) -> str:
    url = settings.database_url
    # Tortoise spells PostgreSQL-over-asyncpg as `asyncpg://`; accept the common `postgres://`.
    if url.startswith(("postgres://", "postgresql://")):
        url = "asyncpg://" + url.split("://", 1)[1]
    # WAL (Tortoise's default) with synchronous=NORMAL: SQLite's advice for WAL. A commit no
    # longer waits for an fsync (4 ms here, per commit), the database stays consistent, and only
    # a power cut may lose the last commits. An explicit `?synchronous=` in the URL wins.
    if url.startswith("sqlite://") and "synchronous=" not in url:
        url += ("&" if "?" in url else "?") + "synchronous=NORMAL"
    return url


class PooledConnection(asyncpg.Connection):
    """An asyncpg connection that skips the reset query when it goes back to the pool.

    asyncpg's default (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`)
    costs a round trip on every release, and Tortoise acquires and releases the connection
    for every statement outside a transaction. SecondLoop takes no advisory locks, listens on
    no channel, sets no session variables and keeps no cursor open past a transaction, so
    there is nothing to reset; an open transaction is still rolled back by asyncpg."""

    def get_reset_query(self) -> str:
        return ""


def connection_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = expand_db_url(db_url(settings))
    if config["engine"] == "tortoise.backends.asyncpg":
        config["credentials"]["connection_class"] = PooledConnection
    return config


def tortoise_config(settings: Settings, host: PluginHost) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings)},
        "apps": {
            app.label: {
                "models": list(app.models),
                "default_connection": "default",
                "migrations": app.migrations,
            }
            for app in model_apps(host)
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_dir(settings: Settings) -> None:
    if settings.uses_sqlite:
        path = settings.database_url.split("://", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def init_db(settings: Settings, host: PluginHost) -> None:
    _ensure_sqlite_dir(settings)
    # Tortoise caches executors by connection name, not dialect; a process that has talked to
    # another backend before (the test suite) must start clean.
    base_executor.EXECUTOR_CACHE.clear()
    # Global fallback: uvicorn runs the lifespan in its own task, and requests must still see
    # the connections (a TortoiseContext is otherwise bound to the task that made it).
    await Tortoise.init(config=tortoise_config(settings, host), _enable_global_fallback=True)


async def migrate(settings: Settings, host: PluginHost) -> None:
    """Apply every app's migrations (what `secondloop migrate` runs)."""
    _ensure_sqlite_dir(settings)
    await tortoise_migrate(config=tortoise_config(settings, host))


async def close_db() -> None:
    await Tortoise.close_connections()
    InlineSqlite.close_all()


# -- group writes -----------------------------------------------------------------------------
class Batcher(Generic[T, R]):
    """Many small statements from concurrent tasks become one, without a timer.

    Callers `submit` an item and wait; one flush runs at a time and takes everything queued
    (up to `max_batch`), so an idle process flushes at once and a busy one flushes many items
    per round trip. `flush` returns one result per item, in order; if it raises, every item of
    that batch raises the same error.
    """

    def __init__(
        self, flush: Callable[[list[T]], Awaitable[Sequence[R]]], *, max_batch: int = 64
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    results = await self._flush([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._task = None
            for _, future in self._queue:  # cancelled: nobody may wait forever
                if not future.done():
                    future.set_exception(RuntimeError("the batch writer stopped"))
            self._queue.clear()
