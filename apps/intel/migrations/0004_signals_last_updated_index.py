"""The aggregator's access path: signals written since its watermark.

The index lives on apps/nlp's `signals` table but is created here because only the aggregator
reads by last_updated_at; it is raw SQL so the nlp app's model state is untouched.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("intel", "0003_archive_files"), ("nlp", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS signals_last_updated_at_intel ON signals (last_updated_at)",
            "DROP INDEX IF EXISTS signals_last_updated_at_intel",
        ),
    ]
