"""Seed the default watch list (apps/ingest/data/default_sources.json); existing rows are kept as they are."""

from django.db import migrations

from apps.ingest.seed import source_config_seed_rows


def seed(apps, schema_editor):
    source_config_seed_rows(model=apps.get_model("ingest", "SourceConfig"))


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
