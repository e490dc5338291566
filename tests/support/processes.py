"""Real pipeline processes for end-to-end tests: `manage.py run_bridge` and Celery workers, killable with SIGKILL.

Each process runs in its own session (process group), so SIGKILL takes a prefork worker's children with it,
as a container kill does. Output goes to a log file whose tail is shown when a test fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from django.db import connection

from signalflow.queues import Queue, queue_name
from tests.support.services import PYTHON, ROOT, subprocess_env


def database_url() -> str:
    """The URL of the database this test uses (pytest-django's test database), for child processes."""
    conf = connection.settings_dict
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def pipeline_env(**extra: str) -> dict[str, str]:
    """subprocess_env() plus the test database; quick batches and timeouts so tests converge fast."""
    env = subprocess_env(
        DATABASE_URL=database_url(),
        SIGNALFLOW_BRIDGE_BATCH_SIZE="32",
        SIGNALFLOW_BRIDGE_BATCH_SECONDS="0.3",
        SIGNALFLOW_BRIDGE_BATCH_TIMEOUT_SECONDS="8",
        SIGNALFLOW_BRIDGE_COMMIT_INTERVAL_SECONDS="0.2",
        SIGNALFLOW_BRIDGE_LAG_INTERVAL_SECONDS="2",
        SIGNALFLOW_TORCH_THREADS="1",
        DATABASE_CONN_MAX_AGE="0",
    )
    env.update(extra)
    return env


class Process:
    """One child process with a log file; start(), kill() (SIGKILL to its group), stop() (SIGTERM), restart()."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Process:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, no warning: the process and its children die wherever they are."""
        if self.popen is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode

    def restart(self) -> Process:
        self.kill()
        return self.start()

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout=timeout)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


def bridge_process(log_dir: Path, env: dict[str, str], name: str = "bridge") -> Process:
    return Process(name, [PYTHON, "manage.py", "run_bridge"], env, log_dir)


def worker_process(
    log_dir: Path, env: dict[str, str], *, queues: Sequence[Queue], name: str, pool: str = "solo"
) -> Process:
    """`celery -A celery_app worker` on this run's prefixed queues (queue_name reads the current settings)."""
    argv = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "celery_app",
        "worker",
        "-Q",
        ",".join(queue_name(queue) for queue in queues),
        "--pool",
        pool,
        "--concurrency",
        "1",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    ]
    return Process(name, argv, env, log_dir)


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.25, what: str = "") -> Any:
    """Poll until predicate() is truthy; its value, or AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


@contextmanager
def processes_cleanup(*processes: Process) -> Iterator[None]:
    """Kill every process on the way out, whatever happened; show their logs when the test failed."""
    try:
        yield
    except BaseException:
        for process in processes:
            print(f"----- {process.name} log tail -----\n{process.log_tail()}")
        raise
    finally:
        for process in processes:
            process.kill()
