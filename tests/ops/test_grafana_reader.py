"""docker/timescaledb-init/10-grafana-reader.sh creates a read-only role Grafana can query with.

The script runs with psql against the local PostgreSQL exactly as the TimescaleDB image's
entrypoint runs it (POSTGRES_* and GRAFANA_DB_* in the environment), on the test database.
"""

from __future__ import annotations

import subprocess
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.ops.support import pg_primary
from tests.support.services import ROOT

SCRIPT = ROOT / "docker" / "timescaledb-init" / "10-grafana-reader.sh"


@pytest.mark.django_db(transaction=True)
def test_reader_role_can_select_but_not_write_including_tables_created_later():
    primary = pg_primary()
    database = settings.DATABASES["default"]["NAME"]
    reader = f"grafana_reader_{uuid.uuid4().hex[:8]}"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PGHOST": primary["host"],
        "PGPORT": str(primary["port"]),
        "POSTGRES_USER": primary["user"],
        "POSTGRES_DB": database,
        "GRAFANA_DB_USER": reader,
        "GRAFANA_DB_PASSWORD": "change-me",
    }
    owner = {"host": primary["host"], "port": primary["port"], "user": primary["user"], "dbname": database}
    later_table = f"grafana_later_{uuid.uuid4().hex[:8]}"
    try:
        result = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        with psycopg.connect(autocommit=True, **owner) as connection:
            # A table the migrations create after the role exists: default privileges cover it.
            connection.execute(f"CREATE TABLE {later_table} (id int)")
            connection.execute(f"INSERT INTO {later_table} VALUES (1)")
        with psycopg.connect(autocommit=True, **{**owner, "user": reader, "password": "change-me"}) as connection:
            assert connection.execute("SELECT count(*) FROM signals").fetchone()[0] >= 0
            assert connection.execute("SELECT count(*) FROM trending_topics_24h").fetchone()[0] >= 0
            assert connection.execute(f"SELECT id FROM {later_table}").fetchall() == [(1,)]
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                connection.execute("DELETE FROM signals")
    finally:
        with psycopg.connect(autocommit=True, **owner) as connection:
            connection.execute(f"DROP TABLE IF EXISTS {later_table}")
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [reader]).fetchone()
            if exists:
                connection.execute(f'DROP OWNED BY "{reader}"')
                connection.execute(f'DROP ROLE "{reader}"')
