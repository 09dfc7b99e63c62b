from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('recovery', '0002_auto_20261122_0418')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Case',
            name='stripe_next_attempt_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
