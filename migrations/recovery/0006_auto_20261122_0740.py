from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_auto_20261122_0411'), ('core', '0003_auto_20261122_0412'), ('core', '0004_signin'), ('core', '0005_user_sessions'), ('core', '0006_auto_20261122_0739'), ('recovery', '0005_auto_20261122_0740')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseNote',
            fields=[
                ('workspace', fields.ForeignKeyField('core.Workspace', source_field='workspace_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('recovery.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='case_notes', on_delete=OnDelete.CASCADE)),
                ('author_id', fields.IntField(null=True)),
                ('author', fields.CharField(default='', max_length=254)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_case_note', 'app': 'recovery', 'indexes': [Index(fields=['workspace_id', 'case_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A note an operator wrote on a case, with its author and time.'},
            bases=['TenantModel'],
        ),
        ops.RemoveField(model_name='Case', name='notes'),
        ops.AddField(
            model_name='RecoverySettings',
            name='tones',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
