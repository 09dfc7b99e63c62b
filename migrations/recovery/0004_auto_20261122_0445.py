from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('recovery', '0003_auto_20261122_0426')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CardAlert',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('customer_id', fields.CharField(max_length=64)),
                ('payment_method_id', fields.CharField(max_length=64)),
                ('exp_month', fields.IntField()),
                ('exp_year', fields.IntField()),
                ('stage', fields.IntField()),
                ('email_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_card_alert', 'app': 'recovery', 'unique_together': (('workspace', 'stripe_account_id', 'customer_id', 'payment_method_id', 'exp_year', 'exp_month', 'stage'),), 'pk_attr': 'id', 'table_description': 'One expiring-card email, unique per customer, card, expiry and stage (days ahead).'},
            bases=['TenantModel'],
        ),
    ]
