"""The default watch list (data/default_sources.json), shared by the seeding migration and services.

Kept free of heavy imports so the migration can call it with its historical model.
"""

import json
from pathlib import Path
from typing import Any

SEED_FILE = Path(__file__).resolve().parent / "data" / "default_sources.json"


def source_config_seed_rows(*, model: Any) -> int:
    """Insert the rows of the default list that are missing (edited rows are kept); returns how many were added."""
    rows = json.loads(SEED_FILE.read_text())
    before = model.objects.count()
    model.objects.bulk_create(
        [
            model(
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
    return model.objects.count() - before
