from tortoise import migrations
from tortoise.migrations import operations as ops
from core.models.accounts import ConnectionStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_auto_20261122_0411'), ('core', '0003_auto_20261122_0412'), ('core', '0004_signin'), ('core', '0005_user_sessions'), ('core', '0006_auto_20261122_0739')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='StripeAccount',
            name='status',
            field=fields.CharEnumField(default=ConnectionStatus.PENDING, description='PENDING: pending\nACTIVE: active\nRECONNECT: reconnect\nREVOKED: revoked', enum_type=ConnectionStatus, max_length=10),
        ),
        ops.AddField(
            model_name='StripeAccount',
            name='access_error',
            field=fields.CharField(default='', max_length=300),
        ),
        ops.AddField(
            model_name='StripeAccount',
            name='previous_webhook_secret_enc',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='StripeAccount',
            name='previous_webhook_secret_until',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='StripeAccount',
            name='retiring_webhook_endpoint_id',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
