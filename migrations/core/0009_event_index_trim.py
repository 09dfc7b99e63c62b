"""Drop two single-column indexes on core_event that other indexes already cover.

`workspace_id` leads both the unique key and (workspace_id, received_at); `received_at` alone
served no query. Each index is paid again on every event the intake inserts.

The model change is recorded with AlterField for the state only: on SQLite, Tortoise carries
out AlterField by rebuilding the table, and the rebuilt table lost every index and the unique
key that de-duplicates deliveries. Plain DROP INDEX does the database's part on both engines.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from core.migration_ops import AlterFieldState


class Migration(migrations.Migration):
    dependencies = [("core", "0008_job_event_index")]

    initial = False

    operations = [
        AlterFieldState(
            model_name="Event",
            name="received_at",
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        AlterFieldState(
            model_name="Event",
            name="workspace",
            field=fields.ForeignKeyField(
                "core.Workspace",
                source_field="workspace_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name=False,
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.RunSQL(
            'DROP INDEX IF EXISTS "idx_core_event_workspa_8bfb78"',
            'CREATE INDEX "idx_core_event_workspa_8bfb78" ON "core_event" ("workspace_id")',
        ),
        ops.RunSQL(
            'DROP INDEX IF EXISTS "idx_core_event_receive_84da01"',
            'CREATE INDEX "idx_core_event_receive_84da01" ON "core_event" ("received_at")',
        ),
    ]
