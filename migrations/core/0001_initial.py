from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from core.models.accounts import ConnectionMode, ConnectionStatus
from core.models.events import EventStatus, JobStatus
from core.models.workspaces import Role
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ScheduleRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('slot', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='running', max_length=12)),
                ('job_id', fields.BigIntField(null=True)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'core_schedule_run', 'app': 'core', 'unique_together': (('name', 'slot'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(default='', max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_user', 'app': 'core', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Workspace',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=120)),
                ('slug', fields.CharField(unique=True, max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_workspace', 'app': 'core', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_event_id', fields.CharField(max_length=255)),
                ('stripe_account_id', fields.CharField(default='', max_length=64)),
                ('type', fields.CharField(db_index=True, max_length=100)),
                ('api_version', fields.CharField(default='', max_length=40)),
                ('livemode', fields.BooleanField(default=False)),
                ('created', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('source', fields.CharField(default='connect', max_length=20)),
                ('status', fields.CharEnumField(default=EventStatus.RECEIVED, description='RECEIVED: received\nPROCESSED: processed\nFAILED: failed\nIGNORED: ignored\nORPHANED: orphaned\nUNINTERPRETABLE: uninterpretable', enum_type=EventStatus, max_length=20)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'core_event', 'app': 'core', 'unique_together': (('workspace', 'stripe_account_id', 'stripe_event_id'),), 'indexes': [Index(fields=['workspace_id', 'received_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(max_length=254)),
                ('role', fields.CharEnumField(default=Role.MEMBER, description='OWNER: owner\nADMIN: admin\nMEMBER: member', enum_type=Role, max_length=10)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('invited_by', fields.ForeignKeyField('core.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_invitation', 'app': 'core', 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('event', fields.ForeignKeyField('core.Event', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.CASCADE)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=JobStatus.PENDING, description='PENDING: pending\nRUNNING: running\nDONE: done\nFAILED: failed\nSKIPPED: skipped', enum_type=JobStatus, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('max_attempts', fields.IntField(default=8)),
                ('run_after', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dispatched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_job', 'app': 'core', 'indexes': [Index(fields=['status', 'run_after'])], 'pk_attr': 'id', 'table_description': 'A unit of work. The row is the truth, a broker message only names the job id.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(default=Role.MEMBER, description='OWNER: owner\nADMIN: admin\nMEMBER: member', enum_type=Role, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_membership', 'app': 'core', 'unique_together': (('workspace', 'user'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='StripeAccount',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(db_index=True, max_length=64)),
                ('display_name', fields.CharField(default='', max_length=200)),
                ('mode', fields.CharEnumField(description='OAUTH: oauth\nRESTRICTED_KEY: restricted_key', enum_type=ConnectionMode, max_length=20)),
                ('status', fields.CharEnumField(default=ConnectionStatus.PENDING, description='PENDING: pending\nACTIVE: active\nREVOKED: revoked', enum_type=ConnectionStatus, max_length=10)),
                ('livemode', fields.BooleanField(default=False)),
                ('scope', fields.CharField(default='', max_length=20)),
                ('access_token_enc', fields.TextField(null=True, unique=False)),
                ('refresh_token_enc', fields.TextField(null=True, unique=False)),
                ('api_key_enc', fields.TextField(null=True, unique=False)),
                ('webhook_secret_enc', fields.TextField(null=True, unique=False)),
                ('webhook_token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('webhook_token_enc', fields.TextField(null=True, unique=False)),
                ('webhook_endpoint_id', fields.CharField(null=True, max_length=64)),
                ('missing_permissions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('signature_failures', fields.IntField(default=0)),
                ('last_signature_failure_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_stripe_account', 'app': 'core', 'unique_together': (('workspace', 'stripe_account_id'),), 'pk_attr': 'id', 'table_description': 'One Stripe account connected to a workspace. Secrets are AES-256-GCM ciphertexts.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='StripeTestClock',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('clock_id', fields.CharField(max_length=64)),
                ('frozen_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='ready', max_length=20)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'core_stripe_test_clock', 'app': 'core', 'unique_together': (('workspace', 'stripe_account_id', 'clock_id'),), 'pk_attr': 'id', 'table_description': 'The current time of a Stripe test clock, followed from test clock events.'},
            bases=['TenantModel'],
        ),
    ]
