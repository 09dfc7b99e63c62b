"""Put back recovery_case's unique constraint and indexes on SQLite.

Tortoise 1.1's SQLite schema editor applies RemoveField (0006 removed Case.notes) by copying
the table into a new one, and the copy has neither `unique_together` nor any index. Without
the unique constraint two failure events handled at once (invoice.payment_failed and
invoice.payment_action_required for one renewal) open two cases and send two emails.
PostgreSQL alters the table in place and kept them, so this does nothing there.
The names are the ones Tortoise gives them, so later operations find them.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

TABLE = "recovery_case"
UNIQUE = ["workspace_id", "stripe_account_id", "invoice_id"]
INDEXES = [["workspace_id"], ["workspace_id", "status"], ["workspace_id", "customer_id"]]


def _columns(fields: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in fields)


async def restore(apps: Any, schema_editor: Any) -> None:
    if schema_editor.DIALECT != "sqlite":
        return
    name = schema_editor._generate_index_name_for_table("uid", TABLE, UNIQUE)
    await schema_editor._run_sql(
        f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{TABLE}" ({_columns(UNIQUE)})'
    )
    for fields in INDEXES:
        name = schema_editor._generate_index_name_for_table("idx", TABLE, fields)
        await schema_editor._run_sql(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{TABLE}" ({_columns(fields)})'
        )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0006_auto_20261122_0740")]

    initial = False

    operations = [ops.RunPython(restore, ops.RunPython.noop)]
