"""Migration operations of our own, for what Tortoise's do not do safely."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class AlterFieldState(ops.AlterField):
    """`AlterField` for the migration state alone; the database part, if any, is the
    migration's own `RunSQL`.

    On SQLite, Tortoise carries out `AlterField` by rebuilding the table, and the rebuilt table
    has lost its indexes and unique constraints. A change that is Python-side only (`auto_now`)
    or only drops an index must not go through that."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None
