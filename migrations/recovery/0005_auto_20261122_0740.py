from tortoise import migrations
from tortoise.migrations import operations as ops
from plugins.recovery.models import CaseKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0006_auto_20261122_0739'), ('recovery', '0004_auto_20261122_0445')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CardUpdate',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('payment_method_id', fields.CharField(max_length=64)),
                ('exp_month', fields.IntField()),
                ('exp_year', fields.IntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_card_update', 'app': 'recovery', 'unique_together': (('workspace', 'stripe_account_id', 'payment_method_id', 'exp_year', 'exp_month'),), 'pk_attr': 'id', 'table_description': 'A card the network updater renewed, so the expiring-card scan leaves it alone.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='EndedSubscription',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('subscription_id', fields.CharField(max_length=64)),
                ('customer_id', fields.CharField(default='', max_length=64)),
                ('reason', fields.CharField(default='', max_length=64)),
                ('ended_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_ended_subscription', 'app': 'recovery', 'unique_together': (('workspace', 'stripe_account_id', 'subscription_id'),), 'pk_attr': 'id', 'table_description': 'A subscription Stripe reported ended, kept so a late failure event opens no case.'},
            bases=['TenantModel'],
        ),
        ops.AddField(
            model_name='Case',
            name='kind',
            field=fields.CharEnumField(default=CaseKind.DUNNING, description='DUNNING: dunning\nWINBACK: winback', enum_type=CaseKind, max_length=10),
        ),
        ops.AddField(
            model_name='RecoverySettings',
            name='slack_webhook_sealed',
            field=fields.TextField(default='', unique=False),
        ),
        ops.AddField(
            model_name='RecoverySettings',
            name='winback_enabled',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='RecoverySettings',
            name='winback_first_hours',
            field=fields.IntField(default=1),
        ),
    ]
