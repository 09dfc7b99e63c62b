"""Pytest fixtures SecondLoop publishes for its own tests and for plugin authors.

Loaded by the `pytest11` entry point. The database is SQLite unless
`SECONDLOOP_TEST_DATABASE_URL` names a PostgreSQL server; the broker is in-process (jobs run
inline) unless `SECONDLOOP_TEST_BROKER_URL` names Redis, in which case a worker runs in-process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from core.app import Roles, create_app, create_runtime
from core.clock import FrozenClock
from core.plugins import build_plugin_host
from core.runtime import Runtime
from core.settings import Settings
from core.testing import database
from core.testing.jobs import drain_jobs

TEST_SECRET = "test-secret-key-" + "x" * 32


def _base_settings() -> Settings:
    return Settings(
        environment="test",
        secret_key=TEST_SECRET,
        base_url="http://testserver",
        broker_url=os.environ.get("SECONDLOOP_TEST_BROKER_URL", "memory://"),
    )


def pointed_at(settings: Settings, sandbox: Any) -> Settings:
    """`settings` aimed at a running Stripe sandbox (`sandbox.testing.running_sandbox`)."""
    return settings.replace(
        stripe_api_base=sandbox.url,
        stripe_connect_base=sandbox.url,
        stripe_secret_key=sandbox.platform_key,
        stripe_client_id=sandbox.client_id,
    )


@pytest.fixture(scope="session")
def _template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session; each test gets a copy (SQLite) or a truncated database."""
    server = os.environ.get("SECONDLOOP_TEST_DATABASE_URL")
    host = build_plugin_host(None)
    if server:
        url = asyncio.run(database.create_postgres_database(server, f"sl_test_{os.getpid()}"))
        asyncio.run(database.migrate(_base_settings().replace(database_url=url), host))
        yield url
        asyncio.run(database.drop_postgres_database(server, f"sl_test_{os.getpid()}"))
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        asyncio.run(
            database.migrate(_base_settings().replace(database_url=f"sqlite://{path}"), host)
        )
        yield str(path)


@pytest.fixture
def test_database(_template_database: str, tmp_path: Path) -> str:
    if _template_database.startswith(("postgres", "asyncpg")):
        asyncio.run(database.truncate_all(_template_database))
        return _template_database
    target = tmp_path / "secondloop.db"
    shutil.copyfile(_template_database, target)
    return f"sqlite://{target}"


@pytest.fixture
def settings(test_database: str) -> Settings:
    """Test settings; override with `settings.replace(...)` in a fixture of your own."""
    return _base_settings().replace(
        database_url=test_database, broker_queue=f"t-{uuid.uuid4().hex}"
    )


@pytest.fixture
def clock() -> FrozenClock:
    """The core's clock, frozen at the real current time; advance it to move SecondLoop's time."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    """Override to register test plugins alongside the installed ones: [(name, module), ...]."""
    return []


@pytest.fixture
def runtime(
    settings: Settings, clock: FrozenClock, extra_plugins: list[tuple[str, object]]
) -> Runtime:
    host = build_plugin_host(settings.plugins, extra_plugins)
    return create_runtime(settings, host=host, clock=clock, inline_jobs=True)


@pytest_asyncio.fixture
async def app(runtime: Runtime) -> AsyncIterator[Any]:
    """The app with its lifespan entered (database open, worker in-process when on Redis)."""
    application = create_app(runtime.settings, runtime=runtime, roles=Roles(scheduler=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def drain(runtime: Runtime) -> Any:
    """`await drain()` runs or waits for every due job, whichever broker is in use."""

    async def _drain(timeout: float = 20.0) -> None:
        await drain_jobs(runtime, timeout=timeout)

    return _drain
