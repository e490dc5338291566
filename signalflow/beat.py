"""Celery beat: the one schedule. Every entry says why it runs and expires if it could not start in time.

django-celery-beat's DatabaseScheduler syncs these entries into its tables at start-up, so
operators can see and pause them in the admin; exactly one beat process runs.
"""

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}
