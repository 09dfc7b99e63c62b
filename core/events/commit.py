"""Group commit: concurrent webhook deliveries share one transaction.

Every delivery must be durable (event row plus its handler job rows) before it is answered,
and a commit costs the same whether it carries one event or fifty. So deliveries queue up here
and one writer task takes everything queued, writes it in ONE transaction with multi-row
`INSERT`s, and only then wakes each delivery with its own outcome. Batches form by themselves:
while one transaction is in flight the next deliveries queue behind it, so an idle server adds
no delay and a busy one pays one commit for many events.

The SQL is written by hand (parameterised, for SQLite and PostgreSQL) instead of through
model instances: on this path Tortoise's per-row model machinery cost more than the database.

- Events go in with `ON CONFLICT DO NOTHING ... RETURNING`, which tells which rows are new;
  a row not returned is a duplicate (an earlier delivery, or a concurrent one in this batch or
  another process). Orphaned events (no workspace) have a NULL in the unique key, which never
  collides, so they are looked up first.
- Job rows follow, one per (new event, handler), marked dispatched in the same insert.
- A failing batch fails every delivery in it (each answers 5xx and Stripe retries; nothing was
  committed), then the writer carries on with the next batch. So that one undecodable delivery
  cannot sink the others again and again, a failed batch of several is retried one delivery per
  transaction before giving up on any of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from core.db_units import Sql, Unit, run_unit

log = logging.getLogger(__name__)

MAX_BATCH = 64  # events per transaction; keeps each statement well under SQLite's 999 params
# Loop turns the writer lets pass before it takes a batch: deliveries whose bytes have already
# arrived get through verification to the queue, and share the commit. Costs microseconds when
# idle; under load it doubled the batch (3 → 6+ events at 8 clients) and cut the intake's CPU
# per event by a fifth, since on SQLite a commit blocks the loop while it runs.
GATHER_TURNS = 2
_EVENT_COLUMNS = (
    "workspace_id",
    "stripe_event_id",
    "stripe_account_id",
    "type",
    "api_version",
    "livemode",
    "created",
    "received_at",
    "source",
    "status",
    "payload",
)
_JOB_COLUMNS = (
    "workspace_id",
    "name",
    "event_id",
    "payload",
    "status",
    "attempts",
    "max_attempts",
    "run_after",
    "dispatched_at",
    "last_error",
    "created_at",
)
_CLOCK_COLUMNS = ("workspace_id", "stripe_account_id", "customer_id", "clock_id", "created_at")


@dataclass
class Row:
    """One copy of an event for one workspace (or for none: orphaned), ready to insert."""

    workspace_id: int | None
    stripe_account_id: str
    stripe_event_id: str
    type: str
    api_version: str
    livemode: bool
    created: datetime
    received_at: datetime
    source: str
    status: str
    payload_json: str  # stored as received: the verified body is already JSON
    jobs: Sequence[tuple[str, int]] = ()  # (job name, max_attempts), in a stable order
    clock: tuple[str, str] | None = None  # (customer_id, clock_id) to remember
    # Filled by the writer:
    event_id: int | None = None  # None: a duplicate, nothing was stored
    job_ids: list[int] = field(default_factory=list)

    def values(self) -> tuple[Any, ...]:
        """The event row's values, in `_EVENT_COLUMNS` order."""
        return (
            self.workspace_id,
            self.stripe_event_id,
            self.stripe_account_id,
            self.type,
            self.api_version,
            self.livemode,
            self.created,
            self.received_at,
            self.source,
            self.status,
            self.payload_json,
        )

    @property
    def key(self) -> tuple[int | None, str, str]:
        return (self.workspace_id, self.stripe_account_id, self.stripe_event_id)


Writer = Callable[[list[Row]], Awaitable[None]]
AfterCommit = Callable[[list[Row]], Awaitable[None]]


class GroupCommit:
    """Queues deliveries and writes them in shared transactions, one writer at a time."""

    def __init__(
        self,
        after_commit: AfterCommit,
        *,
        write: Writer | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._write = write or write_rows
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._queue: list[tuple[list[Row], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (for tests and the benchmark)

    async def submit(self, rows: list[Row]) -> list[Row]:
        """Write `rows` (the copies of one delivery) in the next batch; returns them filled in
        once committed. Raises what the batch's transaction raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((rows, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="secondloop-group-commit")
        await future
        return rows

    async def _drain(self) -> None:
        try:
            while self._queue:
                for _ in range(GATHER_TURNS):
                    await asyncio.sleep(0)
                await self._one_batch(self._take())
        finally:
            self._writer = None
            for _, future in self._queue:  # cancelled at shutdown: nobody may wait forever
                if not future.done():
                    future.set_exception(RuntimeError("the intake writer stopped"))
            self._queue.clear()

    def _take(self) -> list[tuple[list[Row], asyncio.Future[None]]]:
        taken, count = 0, 0
        for rows, _ in self._queue:
            if taken and count + len(rows) > self._max_batch:
                break
            taken, count = taken + 1, count + len(rows)
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    async def _one_batch(self, batch: list[tuple[list[Row], asyncio.Future[None]]]) -> None:
        try:
            await self._write([row for rows, _ in batch for row in rows])
        except Exception as exc:
            if len(batch) == 1:
                log.warning("could not store a webhook delivery: %s", exc)
                _fail(batch, exc)
                return
            log.warning(
                "a batch of %s deliveries failed (%s); writing them one by one", len(batch), exc
            )
            for one in batch:
                _reset(one[0])
                await self._one_batch([one])
            return
        self.batches += 1
        written = [row for rows, _ in batch for row in rows]
        try:
            # Before answering: the batch's jobs are handed to the dispatch (which sends them
            # now, or within its window while busy; the rows are committed either way).
            await self._after_commit(written)
        except Exception:  # committed is committed: the sweeper dispatches what was not sent
            log.exception("after-commit work for %s stored events failed", len(written))
        for _, future in batch:
            if not future.done():
                future.set_result(None)


def _fail(batch: list[tuple[list[Row], asyncio.Future[None]]], exc: Exception) -> None:
    for rows, future in batch:
        _reset(rows)
        if not future.done():
            future.set_exception(exc)


def _reset(rows: list[Row]) -> None:
    for row in rows:
        row.event_id, row.job_ids = None, []


# -- the SQL --------------------------------------------------------------------------------
def _insert_sql(sql: Sql, table: str, columns: Sequence[str], rows: int, returning: str) -> str:
    """`INSERT ... VALUES (...), ... ON CONFLICT DO NOTHING [RETURNING ...]` for `rows` rows.
    Only constant identifiers are spliced in; every value is a parameter."""
    width = len(columns)
    every = sql.marks(width * rows)
    groups = ["(" + ", ".join(every[r * width : (r + 1) * width]) + ")" for r in range(rows)]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(groups)} "  # noqa: S608
        f"ON CONFLICT DO NOTHING {returning}"
    )


async def write_rows(rows: list[Row]) -> None:
    """Insert `rows` and their jobs in one transaction; fills `event_id` and `job_ids`."""
    if not rows:
        return
    if any(row.workspace_id is None for row in rows):  # orphans are looked up first
        await run_unit(partial(_write_unit, rows))
    else:
        await run_unit(partial(_write_unit_for, rows), autocommit_on_postgres=True)


def _write_unit_for(rows: list[Row], sql: Sql) -> Unit[None]:
    if sql.postgres:
        return _write_as_one_statement(rows)
    return _write_unit(rows, sql)


def _write_unit(rows: list[Row], sql: Sql) -> Unit[None]:
    now = rows[0].received_at
    fresh = yield from _insert_events(sql, _first_of_each(rows))
    yield from _insert_jobs(sql, [row for row in fresh if row.jobs], now)
    clocks = {
        (row.workspace_id, row.stripe_account_id, *row.clock): None
        for row in fresh
        if row.clock is not None and row.workspace_id is not None
    }
    if clocks:
        params = [value for key in clocks for value in (*key, now)]
        yield _insert_sql(sql, "core_customer_clock", _CLOCK_COLUMNS, len(clocks), ""), params


def _write_as_one_statement(rows: list[Row]) -> Unit[None]:
    """PostgreSQL: events, their jobs and clock mappings in ONE statement (data-modifying
    CTEs), so the batch costs one round trip instead of four (BEGIN, two inserts, COMMIT).
    Jobs and mappings join the events actually inserted: a duplicate gets neither."""
    now = rows[0].received_at
    rows = _first_of_each(rows)
    params: list[Any] = []

    def mark(value: Any, cast: str = "") -> str:
        params.append(value)
        return f"${len(params)}{cast}"

    events = ", ".join("(" + ", ".join(map(mark, row.values())) + ")" for row in rows)
    at = ""  # the time's mark, made when a job or a mapping needs it

    def now_mark() -> str:
        nonlocal at
        at = at or mark(now, "::timestamptz")
        return at

    same_event = (
        "e.workspace_id = w.workspace_id AND e.stripe_account_id = w.stripe_account_id "
        "AND e.stripe_event_id = w.stripe_event_id"
    )
    text = (
        f"WITH new_events AS (INSERT INTO core_event ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
        f"VALUES {events} ON CONFLICT DO NOTHING "
        "RETURNING id, workspace_id, stripe_account_id, stripe_event_id)"
    )
    wanted = [
        f"({mark(row.workspace_id, '::int')}, {mark(row.stripe_account_id, '::text')}, "
        f"{mark(row.stripe_event_id, '::text')}, {mark(name, '::text')}, "
        f"{mark(max_attempts, '::int')})"
        for row in rows
        for name, max_attempts in row.jobs
    ]
    if wanted:
        now_mark()
        text += (
            ", wanted_jobs (workspace_id, stripe_account_id, stripe_event_id, name, "  # noqa: S608
            f"max_attempts) AS (VALUES {', '.join(wanted)}), "
            f"new_jobs AS (INSERT INTO core_job ({', '.join(_JOB_COLUMNS)}) "
            f"SELECT w.workspace_id, w.name, e.id, '{{}}', 'pending', 0, w.max_attempts, "
            f"{at}, {at}, '', {at} FROM wanted_jobs w JOIN new_events e ON {same_event} "
            "RETURNING id, event_id, name)"
        )
    clocks = list(
        {
            (row.workspace_id, row.stripe_account_id, row.stripe_event_id, *row.clock): None
            for row in rows
            if row.clock is not None
        }
    )
    if clocks:
        now_mark()
        values = ", ".join(
            f"({mark(ws, '::int')}, {mark(account, '::text')}, {mark(event, '::text')}, "
            f"{mark(customer, '::text')}, {mark(clock, '::text')})"
            for ws, account, event, customer, clock in clocks
        )
        text += (
            ", wanted_clocks (workspace_id, stripe_account_id, stripe_event_id, customer_id, "  # noqa: S608
            f"clock_id) AS (VALUES {values}), "
            f"new_clocks AS (INSERT INTO core_customer_clock ({', '.join(_CLOCK_COLUMNS)}) "
            f"SELECT DISTINCT w.workspace_id, w.stripe_account_id, w.customer_id, w.clock_id, "
            f"{at} FROM wanted_clocks w JOIN new_events e ON {same_event} "
            "ON CONFLICT DO NOTHING)"
        )
    text += (
        " SELECT 'event' AS kind, id, workspace_id, stripe_account_id, stripe_event_id, "
        "NULL::text AS name, NULL::bigint AS event_id FROM new_events"
    )
    if wanted:
        text += " UNION ALL SELECT 'job', id, NULL, NULL, NULL, name, event_id FROM new_jobs"
    returned = yield text, params
    by_key = {row.key: row for row in rows}
    jobs: dict[tuple[int, str], int] = {}
    for record in returned:
        if record["kind"] == "event":
            key = (record["workspace_id"], record["stripe_account_id"], record["stripe_event_id"])
            by_key[key].event_id = int(record["id"])
        else:
            jobs[(int(record["event_id"]), str(record["name"]))] = int(record["id"])
    for row in rows:
        if row.event_id is not None:
            row.job_ids = [jobs[(row.event_id, name)] for name, _ in row.jobs]


def _first_of_each(rows: list[Row]) -> list[Row]:
    """The same event twice in one batch: the first copy is inserted, the rest are duplicates."""
    seen: dict[tuple[int | None, str, str], Row] = {}
    for row in rows:
        seen.setdefault(row.key, row)
    return list(seen.values())


def _insert_events(sql: Sql, rows: list[Row]) -> Unit[list[Row]]:
    orphans = [row for row in rows if row.workspace_id is None]
    if orphans:
        known = yield from _existing_orphans(sql, orphans)
        rows = [row for row in rows if row.workspace_id is not None or row.key not in known]
    if not rows:
        return []
    params: list[Any] = [value for row in rows for value in row.values()]
    returned = yield (
        _insert_sql(
            sql,
            "core_event",
            _EVENT_COLUMNS,
            len(rows),
            "RETURNING id, workspace_id, stripe_account_id, stripe_event_id",
        ),
        params,
    )
    by_key = {row.key: row for row in rows}
    fresh = []
    for record in returned:
        row = by_key[
            (record["workspace_id"], record["stripe_account_id"], record["stripe_event_id"])
        ]
        row.event_id = int(record["id"])
        fresh.append(row)
    return fresh


def _existing_orphans(sql: Sql, orphans: list[Row]) -> Unit[set[tuple[int | None, str, str]]]:
    known = set()
    account, event = sql.marks(2)
    query = (
        "SELECT 1 AS found FROM core_event WHERE workspace_id IS NULL "  # noqa: S608
        f"AND stripe_account_id = {account} AND stripe_event_id = {event}"
    )
    for row in orphans:  # rare (unknown or revoked accounts): one small query each is fine
        if (yield query, [row.stripe_account_id, row.stripe_event_id]):
            known.add(row.key)
    return known


def _insert_jobs(sql: Sql, rows: list[Row], now: datetime) -> Unit[None]:
    owners: list[Row] = []
    params: list[Any] = []
    for row in rows:
        for name, max_attempts in row.jobs:
            owners.append(row)
            params += (
                row.workspace_id,
                name,
                row.event_id,
                "{}",
                "pending",
                0,
                max_attempts,
                now,
                now,  # dispatched in the same insert: the dispatch follows the commit
                "",
                now,
            )
    width = len(_JOB_COLUMNS)
    found: dict[tuple[int, str], int] = {}
    for start in range(0, len(owners), MAX_BATCH):
        count = len(owners[start : start + MAX_BATCH])
        returned = yield (
            _insert_sql(sql, "core_job", _JOB_COLUMNS, count, "RETURNING id, event_id, name"),
            params[start * width : (start + count) * width],
        )
        # RETURNING promises no order: match each id back to its (event, job name).
        found.update({(int(r["event_id"]), str(r["name"])): int(r["id"]) for r in returned})
    for row in rows:
        assert row.event_id is not None
        row.job_ids = [found[(row.event_id, name)] for name, _ in row.jobs]
