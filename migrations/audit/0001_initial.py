from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from plugins.audit.models import RunStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_signin')]

    initial = True

    operations = [
        ops.CreateModel(
            name='AuditRun',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('account_ref', fields.IntField(null=True)),
                ('status', fields.CharEnumField(default=RunStatus.QUEUED, description='QUEUED: queued\nRUNNING: running\nDONE: done\nFAILED: failed', enum_type=RunStatus, max_length=10)),
                ('trigger', fields.CharField(default='manual', max_length=20)),
                ('lookback_days', fields.IntField(default=90)),
                ('progress', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('checkpoint', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('results', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('calls', fields.IntField(default=0)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_run', 'app': 'audit', 'indexes': [Index(fields=['workspace_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A diagnostic of one connected Stripe account over a lookback window.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='AuditSettings',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('monthly', fields.BooleanField(default=False)),
                ('last_scheduled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_settings', 'app': 'audit', 'unique_together': (('workspace',),), 'pk_attr': 'id', 'table_description': 'Per-workspace audit preferences: the monthly scheduled run and its email summary.'},
            bases=['TenantModel'],
        ),
    ]
