"""A second connection to the SQLite file, used on the event loop's own thread.

`core.db_units` runs its units here rather than on aiosqlite's thread (see there for why).
What such a connection must not do is make the loop wait: it never waits for another
connection's write lock (`timeout=0`; the caller then takes the thread, which may wait), and
it never checkpoints the WAL itself, since a checkpoint ends in an fsync (about 10 ms here
for the default 1,000 pages). Every `CHECKPOINT_EVERY` commits a passive checkpoint runs on a
worker thread instead, through a connection of its own; it takes no writer's lock, so units
go on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import weakref
from typing import Any

from tortoise.backends.sqlite.client import SqliteClient

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 200  # commits: with a few pages each, about SQLite's own 1,000 pages


class Busy(Exception):
    """Another connection holds the write lock; nothing of the unit has run."""


class InlineSqlite:
    """The loop-thread connection that belongs to one of Tortoise's SQLite connections.

    Opened with the pragmas Tortoise gives its own; lives as long as Tortoise's connection
    (keyed on it: a reconnect, or another test's database, gets a new one). Only ever used
    under Tortoise's connection lock, so one unit at a time."""

    _by_connection: weakref.WeakKeyDictionary[Any, InlineSqlite] = weakref.WeakKeyDictionary()

    def __init__(self, filename: str, pragmas: dict[str, Any]) -> None:
        self.filename = filename
        # check_same_thread=False: tests run several loops one after another in one process;
        # Tortoise's lock keeps its use to one unit at a time.
        self.db = sqlite3.connect(
            filename, isolation_level=None, timeout=0, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        for pragma, value in pragmas.items():
            self.db.execute(f"PRAGMA {pragma}={value}")
        self.db.execute("PRAGMA wal_autocheckpoint=0")  # see `committed`
        self._commits = 0
        self._checkpointing = False
        self._closing = threading.Lock()  # a checkpoint and `close` never overlap
        self._closed = False

    @classmethod
    def of(cls, conn: SqliteClient, aio: Any) -> InlineSqlite | None:
        """The inline connection for Tortoise's `conn` (whose aiosqlite connection is `aio`);
        None for an in-memory database, which a second connection would not see."""
        if conn.filename == ":memory:" or conn.filename.startswith("file::memory:"):
            return None
        inline = cls._by_connection.get(aio)
        if inline is None:
            inline = cls._by_connection[aio] = cls(conn.filename, conn.pragmas)
        return inline

    def committed(self) -> None:
        """Count a commit; every `CHECKPOINT_EVERY`, checkpoint on a worker thread."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY or self._checkpointing:
            return
        self._commits, self._checkpointing = 0, True
        done = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        done.add_done_callback(self._checkpointed)

    def _checkpoint(self) -> None:
        with self._closing:
            if self._closed:
                return
            db = sqlite3.connect(self.filename, timeout=0)
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                db.close()

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = False
        if not done.cancelled() and (error := done.exception()) is not None:
            log.info("WAL checkpoint skipped: %s", error)  # the next one catches up

    def close(self) -> None:
        with self._closing:
            self._closed = True
            self.db.close()

    @classmethod
    def close_all(cls) -> None:
        """Close every inline connection (`core.db.close_db`): none outlives Tortoise's."""
        for inline in list(cls._by_connection.values()):
            inline.close()
        cls._by_connection.clear()
