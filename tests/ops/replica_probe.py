"""Run in a child process with DATABASE_REPLICA_URL set (tests/ops/test_replica.py).

Goes through the production settings path (signalflow/settings/database.py installs the router)
and prints one JSON object describing where each kind of read went and what /metrics reported.
Arguments: a signal id prefix that is unique to this run.
"""

from __future__ import annotations

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signalflow.settings.test")
django.setup()

from django.core.signals import request_started  # noqa: E402
from django.db import connections, router, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from apps.nlp.models import Signal  # noqa: E402
from signalflow.db_router import primary_pin_reset, primary_reads  # noqa: E402
from tests.support.factories import signal_create  # noqa: E402


def in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return bool(cursor.fetchone()[0])


def metrics_scrape() -> dict[str, float]:
    body = Client().get("/metrics").content.decode()
    values = {}
    for line in body.splitlines():
        if line.startswith("signalflow_db_replica_"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def visible_on_replica(signal_id: str, timeout_s: float = 15.0) -> float | None:
    """Seconds until a row committed on the primary is read through the router (from the replica)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        primary_pin_reset()
        queryset = Signal.objects.filter(id=signal_id)
        assert queryset.db == "replica"
        if queryset.exists():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def main() -> None:
    prefix = sys.argv[1]
    report: dict = {"aliases": sorted(connections.settings)}
    report["read_alias"] = router.db_for_read(Signal)
    report["write_alias"] = None
    report["read_in_recovery"] = in_recovery(Signal.objects.all().db)
    report["primary_in_recovery"] = in_recovery("default")
    report["allow_migrate_replica"] = router.allow_migrate("replica", "nlp")
    report["allow_migrate_primary"] = router.allow_migrate("default", "nlp")

    # A write pins the unit of work to the primary: it reads its own write even with a lagging replica.
    first = signal_create(platform="hackernews", source_id=f"{prefix}-1", topics=["replica"])
    report["write_alias"] = first._state.db
    report["read_after_write_alias"] = Signal.objects.filter(id=first.id).db
    report["read_after_write_found"] = Signal.objects.filter(id=first.id).exists()
    # A new request starts a new unit of work: reads go back to the replica.
    request_started.send(sender=None)
    report["read_alias_next_request"] = router.db_for_read(Signal)
    report["first_visible_after_s"] = visible_on_replica(first.id)
    with transaction.atomic():
        report["read_in_atomic_alias"] = Signal.objects.all().db
    primary_pin_reset()
    with primary_reads():
        report["read_in_primary_reads_alias"] = Signal.objects.all().db

    report["metrics_caught_up"] = metrics_scrape()

    # Hold replay on the replica: new WAL arrives but is not applied, which is what lag looks like.
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        time.sleep(1.5)
        second = signal_create(platform="hackernews", source_id=f"{prefix}-2", topics=["replica"])
        time.sleep(0.5)
        primary_pin_reset()
        report["second_visible_while_paused"] = Signal.objects.filter(id=second.id).exists()
        report["metrics_paused"] = metrics_scrape()
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    report["second_visible_after_resume_s"] = visible_on_replica(second.id)
    time.sleep(0.2)
    report["metrics_resumed"] = metrics_scrape()

    Signal.objects.filter(id__startswith=f"hackernews:{prefix}").delete()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
