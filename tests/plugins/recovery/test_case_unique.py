"""The database itself keeps one case per failed invoice, whatever ran the migrations."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError

from core.clock import FrozenClock
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import handlers
from plugins.recovery.models import Case
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle


async def test_a_second_case_for_the_same_invoice_is_refused(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    """Two failure events handled at once (`invoice.payment_failed` and
    `invoice.payment_action_required` for one 3D Secure renewal) both find no case and both
    create one: only the unique constraint turns the second into the update it should be."""
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        failed = event("invoice.payment_failed", invoice(), clock.now())
        await handlers.payment_failed(failed, ws, runtime)
        await settle()
        case = await Case.get(invoice_id="in_1")
        twin = case.clone()
        with pytest.raises(IntegrityError):
            await twin.save()
        assert await Case.filter(invoice_id="in_1").count() == 1


async def _unique_column_sets(table: str) -> set[frozenset[str]]:
    """The column sets the database itself keeps unique on `table` (SQLite or PostgreSQL)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        _, indexes = await conn.execute_query(f"PRAGMA index_list('{table}')")
        found = set()
        for index in indexes:
            if index["unique"]:
                _, columns = await conn.execute_query(f"PRAGMA index_info('{index['name']}')")
                found.add(frozenset(str(c["name"]) for c in columns))
        return found
    rows = await conn.execute_query_dict(
        "SELECT array_agg(a.attname::text) AS columns FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) "
        "WHERE t.relname = $1 AND i.indisunique GROUP BY i.indexrelid",
        [table],
    )
    return {frozenset(row["columns"]) for row in rows}


async def test_every_recovery_table_keeps_its_unique_constraints(app: object) -> None:
    """A migration that rebuilds a SQLite table (RemoveField, AlterField) must not lose them."""
    for model in Tortoise.apps["recovery"].values():
        meta = model._meta
        have = await _unique_column_sets(meta.db_table)
        for together in meta.unique_together:
            columns = frozenset(meta.fields_map[name].source_field or name for name in together)
            assert columns in have, f"{meta.db_table} lost UNIQUE {sorted(columns)}"
