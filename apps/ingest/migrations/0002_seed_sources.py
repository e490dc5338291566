"""Seed the default watch list (apps/ingest/data/default_sources.json); existing rows are kept as they are."""

import json
from pathlib import Path

from django.db import migrations

SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "default_sources.json"


def seed(apps, schema_editor):
    SourceConfig = apps.get_model("ingest", "SourceConfig")
    rows = json.loads(SEED_FILE.read_text())
    SourceConfig.objects.bulk_create(
        [
            SourceConfig(
                platform=row["platform"],
                identifier=row["identifier"],
                label=row.get("label", ""),
                poll_interval_seconds=row.get("poll_interval_seconds", 300),
                options=row.get("options", {}),
                is_active=row.get("is_active", True),
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
