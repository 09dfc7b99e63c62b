"""`StripeTestClock.updated_at` comes from the runtime's clock, no longer `auto_now`.

A Python-side change only: the column stays as it is, so the field is altered for the
migration state alone (on SQLite, Tortoise's AlterField rebuilds the table without its indexes
and unique key; see docs/architecture.md).
"""

from tortoise import fields, migrations

from core.migration_ops import AlterFieldState


class Migration(migrations.Migration):
    dependencies = [("core", "0009_event_index_trim")]

    initial = False

    operations = [
        AlterFieldState(
            model_name="StripeTestClock",
            name="updated_at",
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
    ]
