from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from plugins.recovery.models import AttemptOutcome, AttemptSource, CaseStatus, FinalAction, StepStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='AttemptLedger',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('invoice_id', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=128)),
                ('source', fields.CharEnumField(description='STRIPE: stripe\nSECONDLOOP: secondloop', enum_type=AttemptSource, max_length=12)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharEnumField(description='FAILED: failed\nSUCCEEDED: succeeded\nACTION_REQUIRED: action_required', enum_type=AttemptOutcome, max_length=16)),
                ('code', fields.CharField(default='', max_length=64)),
                ('decline_code', fields.CharField(default='', max_length=64)),
                ('charge_id', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'recovery_attempt', 'app': 'recovery', 'unique_together': (('workspace', 'stripe_account_id', 'invoice_id', 'key'),), 'indexes': [Index(fields=['workspace_id', 'stripe_account_id', 'invoice_id', 'at'])], 'pk_attr': 'id', 'table_description': 'One payment attempt on an invoice, by Stripe or by SecondLoop, counted once by its key.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='RecoverySettings',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enabled', fields.BooleanField(default=False)),
                ('processing_paused', fields.BooleanField(default=False)),
                ('final_action', fields.CharEnumField(default=FinalAction.CANCEL, description='CANCEL: cancel\nLEAVE_PAST_DUE: leave_past_due', enum_type=FinalAction, max_length=20)),
                ('expiring_card_lead_days', fields.IntField(default=30)),
                ('sender_name', fields.CharField(default='', max_length=120)),
                ('reply_to', fields.CharField(default='', max_length=254)),
                ('product_description', fields.CharField(default='', max_length=300)),
                ('tone', fields.CharField(default='friendly', max_length=20)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'recovery_settings', 'app': 'recovery', 'unique_together': (('workspace',),), 'pk_attr': 'id', 'table_description': 'Recovery settings of one workspace. Recovery stays off until the operator turns it on.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Sequence',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('category', fields.CharField(max_length=20)),
                ('current_version', fields.IntField(default=1)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'recovery_sequence', 'app': 'recovery', 'unique_together': (('workspace', 'category'),), 'pk_attr': 'id', 'table_description': 'The sequence a workspace runs for one decline category, pointing at its current version.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SequenceVersion',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sequence', fields.ForeignKeyField('recovery.Sequence', source_field='sequence_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('steps', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'recovery_sequence_version', 'app': 'recovery', 'unique_together': (('workspace', 'sequence', 'version'),), 'pk_attr': 'id', 'table_description': 'An immutable version of a sequence. Steps hold type, delay, template and tone.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Case',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('invoice_id', fields.CharField(max_length=64)),
                ('customer_id', fields.CharField(default='', max_length=64)),
                ('customer_email', fields.CharField(default='', max_length=254)),
                ('customer_name', fields.CharField(default='', max_length=200)),
                ('subscription_id', fields.CharField(default='', max_length=64)),
                ('test_clock', fields.CharField(default='', max_length=64)),
                ('amount', fields.IntField(default=0)),
                ('currency', fields.CharField(default='usd', max_length=3)),
                ('code', fields.CharField(default='', max_length=64)),
                ('decline_code', fields.CharField(default='', max_length=64)),
                ('advice_code', fields.CharField(default='', max_length=64)),
                ('outcome', fields.CharField(default='', max_length=64)),
                ('category', fields.CharField(default='other', max_length=20)),
                ('decline_resolved', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=CaseStatus.OPEN, description='OPEN: open\nPAUSED: paused\nRECOVERED: recovered\nLOST: lost\nCANCELLED: cancelled', enum_type=CaseStatus, max_length=10)),
                ('sequence_version', fields.ForeignKeyField('recovery.SequenceVersion', source_field='sequence_version_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_reason', fields.CharField(default='', max_length=64)),
                ('recovered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('recovered_amount', fields.IntField(null=True)),
                ('recovered_by_step', fields.CharField(default='', max_length=64)),
                ('time_to_recover', fields.IntField(null=True)),
                ('stripe_retries_active', fields.BooleanField(default=False)),
                ('retries_suspended', fields.BooleanField(default=False)),
                ('disputed', fields.BooleanField(default=False)),
                ('customer_flagged', fields.BooleanField(default=False)),
                ('notes', fields.TextField(default='', unique=False)),
                ('last_event_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'recovery_case', 'app': 'recovery', 'unique_together': (('workspace', 'stripe_account_id', 'invoice_id'),), 'indexes': [Index(fields=['workspace_id', 'status']), Index(fields=['workspace_id', 'customer_id'])], 'pk_attr': 'id', 'table_description': 'One failed invoice being recovered. Stripe retry events update it, never duplicate it.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='CaseStep',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('recovery.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='steps', on_delete=OnDelete.CASCADE)),
                ('index', fields.IntField()),
                ('type', fields.CharField(max_length=64)),
                ('config', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=StepStatus.PENDING, description='PENDING: pending\nRUNNING: running\nDONE: done\nSKIPPED: skipped\nCANCELLED: cancelled\nFAILED: failed', enum_type=StepStatus, max_length=10)),
                ('idempotency_key', fields.CharField(unique=True, max_length=128)),
                ('result', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('attempts', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_case_step', 'app': 'recovery', 'unique_together': (('workspace', 'case', 'index'),), 'indexes': [Index(fields=['workspace_id', 'status', 'due_at'])], 'pk_attr': 'id', 'table_description': 'One scheduled step of a case. The idempotency key makes a re-run harmless.'},
            bases=['TenantModel'],
        ),
    ]
