"""Units of work: dependent statements run together, and all or nothing."""

from __future__ import annotations

from functools import partial

import pytest
from tortoise.exceptions import IntegrityError

from core.db_units import Sql, Unit, run_unit
from core.models import Workspace
from core.runtime import Runtime


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
