"""A real WAL streaming replica of the local PostgreSQL: reads are served there, lag is a metric.

pg_basebackup -R clones the running cluster into a temporary directory, which starts as a hot
standby on a free loopback port. A child process with DATABASE_REPLICA_URL set (the production
settings path) reports where its reads went (tests/ops/replica_probe.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.ops.support import free_port
from tests.support.services import PYTHON, ROOT, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HBA_MARKER = "# signalflow-replication"


def _primary() -> dict:
    db = settings.DATABASES["default"]
    return {"host": db["HOST"] or "127.0.0.1", "port": int(db["PORT"] or 5432), "user": db["USER"] or "postgres"}


def _sql(query: str, **conn) -> list[tuple]:
    with psycopg.connect(dbname="postgres", autocommit=True, **conn) as connection:
        return connection.execute(query).fetchall()


def _as_postgres(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Cluster files must belong to the postgres OS user, and postgres refuses to run as root."""
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _pg_bin(name: str) -> str:
    version = _sql("SHOW server_version_num", **_primary())[0][0][:2]
    candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (Debian package postgresql-{version})", pytrace=False)
    return found


def _replication_allowed(primary: dict) -> None:
    """Loopback replication connections are trusted, as ordinary ones are here (idempotent)."""
    hba_file = _sql("SHOW hba_file", **primary)[0][0]
    text = Path(hba_file).read_text()
    if HBA_MARKER not in text:
        with open(hba_file, "a") as handle:
            handle.write(f"\nhost replication all 127.0.0.1/32 trust {HBA_MARKER}\n")
        _sql("SELECT pg_reload_conf()", **primary)


@pytest.fixture
def replica():
    primary = _primary()
    if _sql("SHOW wal_level", **primary)[0][0] == "minimal":
        pytest.fail("the primary runs wal_level=minimal: set wal_level=replica and restart it", pytrace=False)
    _replication_allowed(primary)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="signalflow-replica-"))
    datadir = workdir / "data"
    shutil.chown(workdir, "postgres", "postgres")
    workdir.chmod(0o700)
    started = False
    try:
        backup = _as_postgres(
            _pg_bin("pg_basebackup"),
            *("-h", primary["host"], "-p", str(primary["port"]), "-U", primary["user"]),
            *("-D", str(datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
        )
        assert backup.returncode == 0, backup.stderr
        # Debian keeps the configuration outside the data directory: give the standby its own.
        # Hot standby needs these at least as high as on the primary.
        copied = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions"]
        copied.append("max_locks_per_transaction")
        lines = [f"{name} = {_sql(f'SHOW {name}', **primary)[0][0]}" for name in copied]
        lines += [
            f"port = {port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{workdir}'",
            "hot_standby = on",
            "shared_buffers = 32MB",
            "fsync = off",
            "logging_collector = off",
        ]
        (datadir / "postgresql.conf").write_text("\n".join(lines) + "\n")
        (datadir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        for path in (datadir / "postgresql.conf", datadir / "pg_hba.conf"):
            shutil.chown(path, "postgres", "postgres")
        start = _as_postgres(
            _pg_bin("pg_ctl"), "-D", str(datadir), "-l", str(workdir / "log"), "-w", "-t", "60", "start"
        )
        assert start.returncode == 0, start.stderr + (workdir / "log").read_text()
        started = True
        replica = {"host": "127.0.0.1", "port": port, "user": primary["user"]}
        deadline = time.monotonic() + 30
        while True:
            try:
                if _sql("SELECT pg_is_in_recovery()", **replica)[0][0]:
                    break
            except psycopg.OperationalError:
                pass
            assert time.monotonic() < deadline, (workdir / "log").read_text()
            time.sleep(0.2)
        yield replica
    finally:
        if started:
            _as_postgres(_pg_bin("pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


def test_reads_served_by_streaming_replica_and_lag_exported(replica):
    primary = _primary()
    name = settings.DATABASES["default"]["NAME"]
    replica_url = f"postgres://{replica['user']}@{replica['host']}:{replica['port']}/{name}"
    primary_url = f"postgres://{primary['user']}@{primary['host']}:{primary['port']}/{name}"
    # The standby streams from the primary right now.
    senders = _sql("SELECT state FROM pg_stat_replication WHERE application_name = 'walreceiver'", **primary)
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
