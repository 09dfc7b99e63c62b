"""Units of work: dependent statements run together, and all or nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from core.db_units import Sql, Unit, run_unit
from core.models import Workspace
from core.runtime import Runtime
from core.sqlite_inline import InlineSqlite


def _rename_then(then_sql: str, slug: str, sql: Sql) -> Unit[list[str]]:
    name, where = sql.marks(2)
    yield f"UPDATE core_workspace SET name = {name} WHERE slug = {where}", ["renamed", slug]
    rows = yield f"SELECT name FROM core_workspace WHERE slug = {sql.marks(1)[0]}", [slug]
    yield then_sql, []
    return [str(row["name"]) for row in rows]


async def test_a_unit_sees_its_own_writes_and_returns_its_value(
    app: object, runtime: Runtime
) -> None:
    await Workspace.create(name="A", slug="a")
    names = await run_unit(partial(_rename_then, "SELECT 1 AS one", "a"))
    assert names == ["renamed"]
    assert (await Workspace.get(slug="a")).name == "renamed"


async def test_a_failing_statement_undoes_the_whole_unit(app: object, runtime: Runtime) -> None:
    await Workspace.create(name="A", slug="a")
    await Workspace.create(name="B", slug="b")
    clash = "UPDATE core_workspace SET slug = 'b' WHERE slug = 'a'"
    with pytest.raises(IntegrityError):
        await run_unit(partial(_rename_then, clash, "a"))
    assert (await Workspace.get(slug="a")).name == "A"  # the rename was rolled back


async def test_an_exception_in_the_unit_itself_rolls_back(app: object, runtime: Runtime) -> None:
    await Workspace.create(name="A", slug="a")

    def unit(sql: Sql) -> Unit[None]:
        yield "UPDATE core_workspace SET name = 'gone' WHERE slug = 'a'", []
        raise ValueError("the unit changed its mind")

    with pytest.raises(ValueError):
        await run_unit(unit)
    assert (await Workspace.get(slug="a")).name == "A"
    await run_unit(partial(_rename_then, "SELECT 1 AS one", "a"))  # the connection still works


def test_postgres_connections_skip_the_reset_query(settings: object) -> None:
    from core.db import PooledConnection, connection_config
    from core.settings import Settings

    assert isinstance(settings, Settings)
    postgres = connection_config(settings.replace(database_url="postgres://u@db:5432/sl"))
    assert postgres["credentials"]["connection_class"] is PooledConnection
    assert PooledConnection.get_reset_query(object()) == ""  # type: ignore[arg-type]
    sqlite = connection_config(settings.replace(database_url="sqlite:///tmp/sl.db"))
    assert "connection_class" not in sqlite["credentials"]
    assert sqlite["credentials"]["synchronous"] == "NORMAL"


async def test_autocommit_on_postgres_commits_each_statement_on_its_own(
    app: object, runtime: Runtime
) -> None:
    """On PostgreSQL a later statement then sees what others committed meanwhile, and a failing
    one leaves the earlier ones done; on SQLite the unit stays one transaction."""
    await Workspace.create(name="A", slug="a")
    await Workspace.create(name="B", slug="b")
    clash = "UPDATE core_workspace SET slug = 'b' WHERE slug = 'a'"
    with pytest.raises(IntegrityError):
        await run_unit(partial(_rename_then, clash, "a"), autocommit_on_postgres=True)
    renamed = (await Workspace.get(slug="a")).name
    assert renamed == ("A" if runtime.settings.uses_sqlite else "renamed")


def _database_file(runtime: Runtime) -> str:
    if not runtime.settings.uses_sqlite:
        pytest.skip("SQLite only")
    return str(connections.get("default").filename)


async def test_on_sqlite_a_unit_writes_through_the_inline_connection(
    app: object, runtime: Runtime
) -> None:
    """Its commit is seen by Tortoise's own connection at once (same file, WAL)."""
    _database_file(runtime)
    await Workspace.create(name="A", slug="a")
    InlineSqlite.close_all()
    await run_unit(partial(_rename_then, "SELECT 1 AS one", "a"))
    assert len(InlineSqlite._by_connection) == 1  # the unit did not go to the thread
    assert (await Workspace.get(slug="a")).name == "renamed"


async def test_another_writer_is_waited_for_off_the_loop(app: object, runtime: Runtime) -> None:
    """Another process holding the write lock: the unit waits on aiosqlite's thread, so the
    loop keeps serving meanwhile, and the unit still commits once the lock is released."""
    path = _database_file(runtime)
    await Workspace.create(name="A", slug="a")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE core_workspace SET name = 'other' WHERE slug = 'a'")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    try:
        names = await run_unit(partial(_rename_then, "SELECT 1 AS one", "a"))
    finally:
        ticking.cancel()
        other.close()
    assert names == ["renamed"]  # run after the other writer's commit, and on top of it
    assert ticks >= 3  # the loop ran while the lock was held (~30 ticks; 0 if it had waited)
    assert (await Workspace.get(slug="a")).name == "renamed"


def test_an_in_memory_database_has_no_inline_connection() -> None:
    """A second connection to `:memory:` would open another, empty database."""

    class Memory:
        filename = ":memory:"
        pragmas: dict[str, Any] = {}

    assert InlineSqlite.of(Memory(), object()) is None  # type: ignore[arg-type]


async def test_the_inline_connection_leaves_checkpoints_to_a_worker_thread(
    app: object, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint ends in an fsync: never on the loop's thread."""
    import threading

    from core import sqlite_inline

    _database_file(runtime)
    await Workspace.create(name="A", slug="a")
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_EVERY", 3)
    ran_on: list[threading.Thread] = []
    checkpoint = InlineSqlite._checkpoint

    def recorded(self: InlineSqlite) -> None:
        ran_on.append(threading.current_thread())
        checkpoint(self)

    monkeypatch.setattr(InlineSqlite, "_checkpoint", recorded)
    InlineSqlite.close_all()
    for _ in range(3):
        await run_unit(partial(_rename_then, "SELECT 1 AS one", "a"))
    (inline,) = InlineSqlite._by_connection.values()
    assert inline.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for _ in range(500):  # up to 5 s on a busy machine; a few ms here
        if ran_on and not inline._checkpointing:
            break
        await asyncio.sleep(0.01)
    assert ran_on and ran_on[0] is not threading.main_thread()
