from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from core.models.api_keys import ApiScope
from core.models.email import EmailStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0002_auto_20261122_0411')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(default='', max_length=120)),
                ('prefix', fields.CharField(max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('scope', fields.CharEnumField(default=ApiScope.READ, description='READ: read\nWRITE: write', enum_type=ApiScope, max_length=5)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_api_key', 'app': 'core', 'indexes': [Index(fields=['workspace_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'The key itself is shown once at creation, only its hash and a short prefix are kept.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='OutboundEmail',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=300)),
                ('idempotency_key', fields.CharField(max_length=255)),
                ('message_id', fields.CharField(max_length=255)),
                ('to_address', fields.CharField(max_length=254)),
                ('from_address', fields.CharField(max_length=320)),
                ('reply_to', fields.CharField(null=True, max_length=254)),
                ('subject', fields.CharField(max_length=500)),
                ('text_body', fields.TextField(unique=False)),
                ('html_body', fields.TextField(unique=False)),
                ('headers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('category', fields.CharField(default='transactional', max_length=40)),
                ('customer_facing', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=EmailStatus.QUEUED, description='QUEUED: queued\nSENDING: sending\nSENT: sent\nFAILED: failed\nSUPPRESSED: suppressed', enum_type=EmailStatus, max_length=12)),
                ('transport', fields.CharField(default='', max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_outbound_email', 'app': 'core', 'indexes': [Index(fields=['workspace_id', 'created_at']), Index(fields=['workspace_id', 'status', 'sent_at'])], 'pk_attr': 'id', 'table_description': 'One message. The key column makes a repeat of the same idempotency key a no-op.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Suppression',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(max_length=254)),
                ('reason', fields.CharField(default='unsubscribe', max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_suppression', 'app': 'core', 'unique_together': (('workspace', 'email'),), 'pk_attr': 'id', 'table_description': 'An address the workspace must not mail again (unsubscribed, hard bounce, manual).'},
            bases=['TenantModel'],
        ),
    ]
