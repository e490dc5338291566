"""Reads of apps/ingest: the watch list and resume points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import IngestCursor, SourceConfig


@dataclass(frozen=True)
class SourceSpec:
    """An immutable snapshot of one active source_config row; a changed row gives a different spec."""

    platform: str
    identifier: str
    label: str
    poll_interval_seconds: int
    options: tuple[tuple[str, Any], ...]

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.identifier}"

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


def source_specs_active(*, platform: str | None = None) -> list[SourceSpec]:
    rows = SourceConfig.objects.filter(is_active=True)
    if platform:
        rows = rows.filter(platform=platform)
    return [
        SourceSpec(
            platform=row.platform,
            identifier=row.identifier,
            label=row.label,
            poll_interval_seconds=row.poll_interval_seconds,
            options=tuple(sorted((str(k), _freeze(v)) for k, v in (row.options or {}).items())),
        )
        for row in rows.order_by("platform", "identifier")
    ]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def cursor_get(*, key: str) -> str | None:
    row = IngestCursor.objects.filter(key=key).values_list("value", flat=True).first()
    return row
