"""Units of work: a few dependent SQL statements run together, in one round trip where the
database allows it.

The intake and the job runner each end in two to four statements that must commit together
(store an event and its jobs; finish jobs and settle their events). Through Tortoise every
statement on SQLite is a hop to aiosqlite's thread and back (about 70 µs of CPU here, more
than the statement itself), and a transaction adds three more (Tortoise's `commit`, `BEGIN`,
`COMMIT`). So a unit is written once, as a generator that yields `(sql, params)` and is sent
each statement's rows, and a driver runs it:

- SQLite: the whole unit, `BEGIN IMMEDIATE` to `COMMIT`, at once on the event loop's own
  thread, through a second connection to the same file (`core.sqlite_inline`), under Tortoise's
  connection lock: while it is held Tortoise's connection is idle, with no transaction open,
  so the unit is the only writer in the process. A unit is SQLite's own work of ~0.1 ms;
  sending it to aiosqlite's thread instead cost more than that twice over (the hop, the
  wake-ups and two GIL hand-overs per statement), and the intake's CPU per event fell by
  more than a quarter without it. Another process holding the write lock (a CLI command) is
  not waited for on the loop: the unit then runs on aiosqlite's thread, which waits. An
  in-memory database, which a second connection would not see, always uses the thread.
- PostgreSQL: statement by statement in a Tortoise transaction (asyncpg has no thread to hop),
  each a round trip, `BEGIN` and `COMMIT` too. With `autocommit_on_postgres` each statement
  commits on its own instead: for a unit that is ONE statement there (data-modifying CTEs make
  that possible), and for one whose later statements must see what concurrent units committed
  meanwhile (settling an event after its jobs ended: a transaction's snapshot would hide the
  job another worker just finished, and neither would settle the event).

A unit must not await anything: it only computes its next statement from the rows it was sent.
Errors come out as Tortoise's `IntegrityError` / `OperationalError`, as from any query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from core.sqlite_inline import Busy, InlineSqlite

T = TypeVar("T")
Statement = tuple[str, Sequence[Any]]
Rows = list[dict[str, Any]]
Unit = Generator[Statement, Rows, T]


@dataclass(frozen=True)
class Sql:
    """What a unit needs to know of the database it writes for."""

    postgres: bool

    def marks(self, count: int) -> list[str]:
        """Parameter marks for `count` values, in text order: `?` (SQLite), `$1`... (asyncpg)."""
        if self.postgres:
            return [f"${i + 1}" for i in range(count)]
        return ["?"] * count


def sql_for(conn: BaseDBAsyncClient) -> Sql:
    return Sql(postgres=conn.capabilities.dialect == "postgres")


async def run_unit(make: Callable[[Sql], Unit[T]], *, autocommit_on_postgres: bool = False) -> T:
    """Run the unit `make(sql)` atomically on the default connection; returns its value."""
    conn = connections.get("default")
    sql = sql_for(conn)
    if sql.postgres and autocommit_on_postgres:
        return await _run_statements(conn, make(sql))
    if isinstance(conn, SqliteClient) and not isinstance(conn, SqliteTransactionWrapper):
        return await _run_on_sqlite(conn, make, sql)
    async with in_transaction() as tx:
        return await _run_statements(tx, make(sql))


async def _run_on_sqlite(conn: SqliteClient, make: Callable[[Sql], Unit[T]], sql: Sql) -> T:
    async with conn.acquire_connection() as aio:
        try:
            inline = InlineSqlite.of(conn, aio)
            if inline is not None:
                try:
                    value = _run_sqlite_unit(inline.db, make(sql), begin="BEGIN IMMEDIATE")
                except Busy:
                    pass  # another process is writing: wait for it on aiosqlite's thread
                else:
                    inline.committed()
                    return value
            # aiosqlite's queue of calls for its thread; pinned in pyproject, tested.
            return await aio._execute(_run_sqlite_unit, aio._conn, make(sql))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc


def _run_sqlite_unit(db: sqlite3.Connection, unit: Unit[T], begin: str = "BEGIN") -> T:
    try:
        db.execute(begin)
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            raise Busy() from exc
        raise
    try:
        statement = next(unit)
        while True:
            sql, params = statement
            rows = [dict(row) for row in db.execute(sql, params).fetchall()]
            statement = unit.send(rows)
    except StopIteration as done:
        db.execute("COMMIT")
        return done.value
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


async def _run_statements(tx: BaseDBAsyncClient, unit: Unit[T]) -> T:
    try:
        statement = next(unit)
        while True:
            sql, params = statement
            # execute_query_dict: Tortoise's execute_query drops RETURNING rows on asyncpg.
            statement = unit.send(await tx.execute_query_dict(sql, list(params)))
    except StopIteration as done:
        return done.value
