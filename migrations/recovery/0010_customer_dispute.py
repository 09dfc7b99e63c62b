from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0008_job_event_index'), ('recovery', '0009_attempt_card_and_advice')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomerDispute',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('stripe_account_id', fields.CharField(max_length=64)),
                ('dispute_id', fields.CharField(max_length=64)),
                ('customer_id', fields.CharField(max_length=64)),
                ('closed', fields.BooleanField(default=False)),
                ('won', fields.BooleanField(default=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_customer_dispute', 'app': 'recovery', 'unique_together': (('workspace', 'stripe_account_id', 'dispute_id'),), 'indexes': [Index(fields=['workspace_id', 'stripe_account_id', 'customer_id', 'closed'])], 'pk_attr': 'id', 'table_description': 'A dispute a customer opened, so a case that opens while it is open starts suspended.'},
            bases=['TenantModel'],
        ),
    ]
