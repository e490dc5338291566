"""Fixtures of the ops tests: a real streaming replica of the local PostgreSQL (pg_basebackup -R)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.ops.support import free_port, pg_primary, pg_sql

HBA_MARKER = "# signalflow-replication"


def _as_postgres(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Cluster files must belong to the postgres OS user, and postgres refuses to run as root."""
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _pg_bin(name: str) -> str:
    version = pg_sql("SHOW server_version_num", **pg_primary())[0][0][:2]
    candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (Debian package postgresql-{version})", pytrace=False)
    return found


def _replication_allowed(primary: dict) -> None:
    """Loopback replication connections are trusted, as ordinary ones are here (idempotent)."""
    hba_file = pg_sql("SHOW hba_file", **primary)[0][0]
    text = Path(hba_file).read_text()
    if HBA_MARKER not in text:
        with open(hba_file, "a") as handle:
            handle.write(f"\nhost replication all 127.0.0.1/32 trust {HBA_MARKER}\n")
        pg_sql("SELECT pg_reload_conf()", **primary)


@pytest.fixture
def pg_replica():
    """A hot standby of the running cluster on a free port; yields its connection parameters."""
    primary = pg_primary()
    if pg_sql("SHOW wal_level", **primary)[0][0] == "minimal":
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
        lines = [f"{name} = {pg_sql(f'SHOW {name}', **primary)[0][0]}" for name in copied]
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
                if pg_sql("SELECT pg_is_in_recovery()", **replica)[0][0]:
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
