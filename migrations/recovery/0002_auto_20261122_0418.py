from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('recovery', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Case',
            name='hold_emails',
            field=fields.BooleanField(default=False),
        ),
    ]
