from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0008_job_event_index'), ('recovery', '0008_slack_webhook_url_enc')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AttemptLedger',
            name='advice_code',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='AttemptLedger',
            name='payment_method_id',
            field=fields.CharField(default='', max_length=64),
        ),
    ]
