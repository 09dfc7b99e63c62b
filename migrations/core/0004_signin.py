from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0003_auto_20261122_0412')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RateLimitHit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('bucket', fields.CharField(max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'core_rate_limit_hit', 'app': 'core', 'indexes': [Index(fields=['bucket', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One counted attempt in a bucket (for example signin email or signin ip).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(db_index=True, max_length=254)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('requested_ip', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'core_signin_token', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A magic link. Only the SHA-256 of the token is kept, and it is good for one use.'},
            bases=['Model'],
        ),
    ]
