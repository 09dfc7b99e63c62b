from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomerClock',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('customer_id', fields.CharField(max_length=64)),
                ('clock_id', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_customer_clock', 'app': 'core', 'unique_together': (('workspace', 'stripe_account_id', 'customer_id'),), 'pk_attr': 'id', 'table_description': 'Which test clock a customer lives on, learned from any object carrying both ids.'},
            bases=['TenantModel'],
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['stripe_account_id', 'status']),
        ),
        ops.AddField(
            model_name='StripeTestClock',
            name='last_event_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
