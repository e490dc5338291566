"""Helpers shared by the ops tests: free ports, child processes, waiting on HTTP."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_stop(process: subprocess.Popen, timeout: float = 15) -> str:
    """SIGTERM, then SIGKILL after `timeout`; returns what the process printed (when piped)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    if process.stdout is None:
        return ""
    try:
        return process.stdout.read() or ""
    except ValueError:
        return ""


def prometheus_text_parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a /metrics body keyed by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def tool_ensure(tool: str) -> str:
    """Path of a Debian-packaged tool, installed by scripts/ensure_tool.sh when missing (idempotent)."""
    import shutil

    import pytest

    from tests.support.services import ROOT

    found = shutil.which(tool)
    if found:
        return found
    result = subprocess.run(
        [str(ROOT / "scripts" / "ensure_tool.sh"), tool], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{tool} is not installed and could not be: {result.stderr.strip()[-500:]}", pytrace=False)
    return result.stdout.strip().splitlines()[-1]


def pg_primary() -> dict:
    """Connection parameters of the primary behind the test database."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return {"host": db["HOST"] or "127.0.0.1", "port": int(db["PORT"] or 5432), "user": db["USER"] or "postgres"}


def pg_sql(query: str, **conn) -> list[tuple]:
    """Rows of one statement on the `postgres` database of a server (autocommit)."""
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **conn) as connection:
        return connection.execute(query).fetchall()
