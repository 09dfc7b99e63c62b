from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0007_auto_20261122_0748')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['event_id']),
        ),
    ]
