from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('core', '0008_job_event_index'), ('recovery', '0007_restore_case_constraints')]

    initial = False

    operations = [
        ops.RenameField(
            model_name='RecoverySettings',
            old_name='slack_webhook_sealed',
            new_name='slack_webhook_url_enc',
        ),
    ]
