"""`make demo`'s promise, end to end: scripts/run_stack.sh demo starts every process (web, ingest
replaying demo/corpus, bridge, gpu and cpu workers, beat, flower) and within two minutes of
starting the dashboard's API shows at least 20 trending topics, at least 3 of them on more than one
platform, at least one divergence event, and summaries. Then SIGINT stops everything cleanly.

The stack runs on this test run's database, Kafka topic prefix and Celery queue prefix, on free
ports, with its logs under a temporary directory, so it never meets another stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from tests.ops.test_dashboard import ARTIFACTS, browser, chromium  # noqa: F401 - fixtures used below
from tests.support.services import ROOT, kafka_require, redis_require, subprocess_env

DEADLINE_S = 120  # from the moment the script starts
PASSWORD = "demo-test-password"


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_block(size: int) -> int:
    """The first of `size` consecutive free ports, below the kernel's ephemeral range.

    A port from the ephemeral range can be taken by any outgoing connection between this check and
    the stack's bind (seen: the bridge's metrics port went to a Kafka client socket).
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, max(20_001, low - size))
        if all(_port_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _criteria(client: httpx.Client) -> dict[str, Any]:
    trending = client.get("/api/v1/trending/", params={"limit": 100}).json()["results"]
    disputes = client.get("/api/v1/divergence/leaderboard/").json()["results"]
    from apps.intel.models import TopicSummary

    summaries = list(TopicSummary.objects.values_list("topic", flat=True))
    return {
        "trending": len(trending),
        "multi_platform": sorted(t["topic"] for t in trending if t["platform_count"] > 1),
        "divergences": [f"{d['topic']}: {d['platform_a']} vs {d['platform_b']} gap {d['gap']}" for d in disputes],
        "summaries": len(summaries),
    }


def _met(state: dict[str, Any]) -> bool:
    return (
        state["trending"] >= 20
        and len(state["multi_platform"]) >= 3
        and len(state["divergences"]) >= 1
        and state["summaries"] >= 1
        # and the corpus's planted Tesla dispute (positive Reddit posts, negative YouTube comments)
        and any(d.startswith("tesla:") for d in state["divergences"])
    )


def _tail(path: Path, chars: int = 1500) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _dashboard_screenshot(driver: Any, base: str) -> None:
    """What a person sees after `make demo`: the dashboard with the replayed data, kept as an artifact."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/admin/login/?next=/dashboard/")
    driver.find_element(By.ID, "id_username").send_keys("demo")
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait = WebDriverWait(driver, 30, poll_frequency=0.3)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#trending .card")) >= 20)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#heatmap td.diverging"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#divergence li.dispute"))
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "demo-dashboard.png"))
    driver.get(f"{base}/dashboard/topic/tesla/")
    wait.until(lambda d: d.find_element(By.ID, "summary").get_attribute("data-state") == "ready")
    driver.save_screenshot(str(ARTIFACTS / "demo-topic-tesla.png"))


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.django_db(transaction=True)
def test_demo_stack_meets_its_promise_and_stops_cleanly(
    tmp_path: Path,
    kafka_topics: None,
    browser: Any,  # noqa: F811 - the fixture imported from test_dashboard
) -> None:
    redis_require()
    kafka_require()
    base = _free_block(4)
    web_port, flower_port = _free_block(1), _free_block(1)
    logs = tmp_path / "logs"
    env = subprocess_env(
        DATABASE_URL=_database_url(),
        WEB_PORT=str(web_port),
        FLOWER_PORT=str(flower_port),
        METRICS_PORT_BASE=str(base),
        STACK_LOG_DIR=str(logs),
        DEMO_USER="demo",
        DEMO_PASSWORD=PASSWORD,
        STACK_STOP_TIMEOUT_S="25",
        # Its own API cache namespace: nothing another test's server cached can answer for the demo.
        SIGNALFLOW_TEST_RUN_ID=uuid.uuid4().hex[:8],
    )
    for key in ("GROQ_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SIGNALFLOW_SENTIMENT_MODEL"):
        env.pop(key, None)
    started = time.monotonic()
    stack_log = tmp_path / "run_stack.out"
    with stack_log.open("wb") as out:
        stack = subprocess.Popen(
            [str(ROOT / "scripts" / "run_stack.sh"), "demo"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A shell cannot trap a signal it was started with ignored, and SIGINT is ignored in
            # processes launched in the background (CI, nohup): give the stack Ctrl-C back.
            preexec_fn=_sigint_default,
        )
    state: dict[str, Any] = {}
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=10)
        token = None
        while time.monotonic() - started < DEADLINE_S:
            if stack.poll() is not None:
                pytest.fail(f"run_stack.sh exited early ({stack.returncode}): {_tail(stack_log)}", pytrace=False)
            try:
                if token is None:
                    answer = client.post("/api/token/", json={"username": "demo", "password": PASSWORD})
                    if answer.status_code != 200:
                        raise httpx.TransportError("demo user not there yet")
                    token = answer.json()["access"]
                    client.headers["Authorization"] = f"Bearer {token}"
                state = _criteria(client)
                if _met(state):
                    break
            except (httpx.TransportError, KeyError, json.JSONDecodeError):
                pass
            time.sleep(3)
        elapsed = time.monotonic() - started
        print(f"demo criteria after {elapsed:.0f} s: {state}")
        banner = stack_log.read_text(errors="replace")
        assert f"http://127.0.0.1:{web_port}/dashboard/" in banner
        assert f"demo / {PASSWORD}" in banner
        assert _met(state), (
            f"after {elapsed:.0f} s the demo shows {state}; ingest: {_tail(logs / 'ingest.log', 400)}; "
            f"bridge: {_tail(logs / 'bridge.log', 600)}; worker-cpu: {_tail(logs / 'worker-cpu.log', 600)}"
        )
        _dashboard_screenshot(browser, f"http://127.0.0.1:{web_port}")
    finally:
        pids = {p.name: int(p.read_text()) for p in (ROOT / "var" / "run" / f"stack-{web_port}").glob("*.pid")}
        if stack.poll() is None:
            os.kill(stack.pid, signal.SIGINT)
        try:
            code = stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for pid in [stack.pid, *pids.values()]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            pytest.fail(f"run_stack.sh did not stop within 60 s of SIGINT: {_tail(stack_log)}", pytrace=False)
    assert code == 0, _tail(stack_log)
    assert "all stopped" in stack_log.read_text(errors="replace")
    assert len(pids) >= 7, pids
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        pytest.fail(f"{name} (pid {pid}) is still running after the stack stopped", pytrace=False)
