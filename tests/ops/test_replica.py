"""A real WAL streaming replica of the local PostgreSQL: reads are served there, lag is a metric.

pg_basebackup -R clones the running cluster into a temporary directory, which starts as a hot
standby on a free loopback port. A child process with DATABASE_REPLICA_URL set (the production
settings path) reports where its reads went (tests/ops/replica_probe.py).
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from django.conf import settings

from tests.ops.support import pg_primary, pg_sql
from tests.support.services import PYTHON, ROOT, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_reads_served_by_streaming_replica_and_lag_exported(pg_replica):
    replica = pg_replica
    primary = pg_primary()
    name = settings.DATABASES["default"]["NAME"]
    replica_url = f"postgres://{replica['user']}@{replica['host']}:{replica['port']}/{name}"
    primary_url = f"postgres://{primary['user']}@{primary['host']}:{primary['port']}/{name}"
    # The standby streams from the primary right now.
    senders = pg_sql("SELECT state FROM pg_stat_replication WHERE application_name = 'walreceiver'", **primary)
    assert ("streaming",) in senders

    prefix = f"replica-{uuid.uuid4().hex[:8]}"
    probe = subprocess.run(
        [PYTHON, str(ROOT / "tests" / "ops" / "replica_probe.py"), prefix],
        env=subprocess_env(DATABASE_URL=primary_url, DATABASE_REPLICA_URL=replica_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout.strip().splitlines()[-1])

    assert report["aliases"] == ["default", "replica"]
    # Plain reads go to the replica, and the connection behind them is a standby.
    assert report["read_alias"] == "replica"
    assert report["read_in_recovery"] is True
    assert report["primary_in_recovery"] is False
    # Writes and migrations go to the primary only.
    assert report["write_alias"] == "default"
    assert report["allow_migrate_primary"] is True
    assert report["allow_migrate_replica"] is False
    # Read-your-writes in the same unit of work; fresh units read the replica again.
    assert report["read_after_write_alias"] == "default"
    assert report["read_after_write_found"] is True
    assert report["read_alias_next_request"] == "replica"
    assert report["read_in_atomic_alias"] == "default"
    assert report["read_in_primary_reads_alias"] == "default"
    # Data written on the primary becomes readable through the router once replayed.
    assert report["first_visible_after_s"] is not None

    caught_up = report["metrics_caught_up"]
    assert caught_up["signalflow_db_replica_up"] == 1
    assert caught_up["signalflow_db_replica_in_recovery"] == 1
    assert caught_up["signalflow_db_replica_streaming"] == 1
    assert 0 <= caught_up["signalflow_db_replica_lag_seconds"] < 5

    # With replay paused, the new row is not readable on the replica and the lag shows it.
    assert report["second_visible_while_paused"] is False
    paused = report["metrics_paused"]
    assert paused["signalflow_db_replica_replay_lag_bytes"] > 0
    assert paused["signalflow_db_replica_lag_seconds"] >= 1.5

    # Resumed: the row arrives and the lag returns to zero.
    assert report["second_visible_after_resume_s"] is not None
    resumed = report["metrics_resumed"]
    assert resumed["signalflow_db_replica_replay_lag_bytes"] == 0
    assert resumed["signalflow_db_replica_lag_seconds"] < 1
