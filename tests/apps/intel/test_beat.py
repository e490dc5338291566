"""The one beat schedule: every entry names a registered task, routes to this run's queue, expires, says why."""

from __future__ import annotations

import re

import pytest

import celery_app
from signalflow import beat
from signalflow.queues import Queue, queue_name
from tests.support.services import ROOT


def test_every_entry_is_a_registered_task_with_queue_and_expiry():
    celery_app.app.loader.import_default_modules()
    assert beat.BEAT_SCHEDULE, "empty schedule"
    for name, entry in beat.BEAT_SCHEDULE.items():
        assert entry["task"] in celery_app.app.tasks, name
        assert entry["options"]["queue"] == queue_name(Queue.DEFAULT)
        assert 0 < entry["options"]["expires"] <= float(entry["schedule"]), name
        # django-celery-beat's DatabaseScheduler keeps only expire_seconds
        assert entry["options"]["expire_seconds"] == entry["options"]["expires"], name


def test_every_entry_is_preceded_by_a_comment_saying_why():
    source = (ROOT / "signalflow" / "beat.py").read_text()
    for name in beat.BEAT_SCHEDULE:
        assert re.search(rf"#[^\n]*\n\s*\"{re.escape(name)}\":", source), f"{name} has no comment"


def test_intel_intervals_follow_settings(settings):
    assert beat.BEAT_SCHEDULE["intel-aggregate-topics"]["schedule"] == float(settings.SIGNALFLOW_AGGREGATE_EVERY_S)
    assert beat.BEAT_SCHEDULE["intel-detect-divergence"]["schedule"] == float(settings.SIGNALFLOW_DIVERGENCE_EVERY_S)
    assert beat.BEAT_SCHEDULE["intel-summarise-topics"]["schedule"] == float(settings.SIGNALFLOW_SUMMARY_EVERY_S)
    assert beat.BEAT_SCHEDULE["intel-archive-signals"]["kwargs"] == {
        "older_than_days": settings.SIGNALFLOW_ARCHIVE_AFTER_DAYS
    }


@pytest.mark.django_db
def test_database_scheduler_keeps_queue_and_expiry():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    for name, entry in beat.BEAT_SCHEDULE.items():
        ModelEntry.from_entry(name, app=celery_app.app, **entry)  # what DatabaseScheduler does at start-up
    task = PeriodicTask.objects.get(name="intel-aggregate-topics")
    assert task.queue == queue_name(Queue.DEFAULT)
    assert task.expire_seconds == beat.BEAT_SCHEDULE["intel-aggregate-topics"]["options"]["expires"]
    assert ModelEntry(task, app=celery_app.app).options["expires"] == task.expire_seconds  # sent with each tick
