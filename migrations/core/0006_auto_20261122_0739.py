from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0005_user_sessions')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboundEmail',
            name='bounced',
            field=fields.BooleanField(default=False),
        ),
    ]
