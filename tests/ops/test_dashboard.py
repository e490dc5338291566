"""The live dashboard in a real browser: headless Chromium against a real Daphne server.

The test seeds stored signals (factories) and runs the real intelligence jobs over them, logs in
through the admin login form, checks that the trending cards, the heatmap, the disputes and the
per-topic page show that data, then stores a new signal through the pipeline's service (whose
after-commit publisher sends it to the Channels group) and waits for it in the live feed.
Screenshots go to artifacts/ (gitignored; CI keeps them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from tests.support.services import PYTHON, ROOT, redis_require, subprocess_env

ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1100",
]
PASSWORD = "dashboard-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Debian's chromium and chromedriver, installed by scripts/ensure_chromium.sh when missing."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "ensure_chromium.sh")], capture_output=True, text=True, timeout=900, check=False
    )
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if result.returncode != 0 or not binary or not driver:
        pytest.fail(f"headless Chromium is not available: {result.stderr.strip()[-300:]}", pytrace=False)
    return binary, driver


@pytest.fixture(scope="module")
def web_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Daphne serving the ASGI app on the test database, the way `make demo` serves it."""
    redis_require()
    port = _free_port()
    log_path = ROOT / "var" / "log" / f"test-dashboard-daphne-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh run id gives the server its own API cache namespace (Kafka and queue prefixes are
    # passed explicitly by subprocess_env and stay this run's): no answer cached by another test.
    env = subprocess_env(
        DATABASE_URL=_database_url(), DJANGO_DEBUG="false", SIGNALFLOW_TEST_RUN_ID=uuid.uuid4().hex[:8]
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "signalflow.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"daphne exited ({process.returncode}): {log_path.read_text()[-2000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"daphne did not answer /health/ within 60 s: {log_path.read_text()[-2000:]}", pytrace=False)
        time.sleep(0.3)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def browser(chromium: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _seed() -> None:
    """Signals on three topics and four platforms, then the real aggregation, divergence and summary jobs."""
    from django.contrib.auth import get_user_model

    from apps.intel import services as intel
    from tests.support.factories import signal_create

    now = timezone.now()
    for i in range(20):
        # Reddit posts warm on Tesla, YouTube comments cold: a dispute the detector must find.
        signal_create(
            platform="reddit",
            topics=["tesla"],
            sentiment=0.55 + (i % 5) * 0.05,
            published_at=now - timedelta(minutes=3 + i),
            title=f"Tesla delivery numbers look great, report {i}",
        )
        signal_create(
            platform="youtube",
            topics=["tesla"],
            is_comment=True,
            sentiment=-0.5 - (i % 5) * 0.05,
            published_at=now - timedelta(minutes=4 + i),
            body=f"Tesla service was awful again, comment {i}",
        )
    for i, platform in enumerate(["hackernews", "bluesky", "reddit", "hackernews", "bluesky", "reddit"]):
        signal_create(
            platform=platform,
            topics=["iran", "ukraine"],
            sentiment=-0.2 + i * 0.05,
            published_at=now - timedelta(minutes=10 + i),
        )
        signal_create(platform=platform, topics=["openai"], sentiment=0.3, published_at=now - timedelta(minutes=7 + i))
    intel.topics_aggregate()
    intel.divergences_detect()
    intel.topics_summarise()
    user_model = get_user_model()
    user_model.objects.filter(username="dash").delete()
    user_model.objects.create_superuser("dash", "dash@example.com", PASSWORD)


def _login(driver: Any, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/dashboard/")
    assert "/admin/login/" in driver.current_url, "the dashboard must require a login"
    driver.find_element(By.ID, "id_username").send_keys("dash")
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def _wait(driver: Any, condition: Any, timeout: float, message: str) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        _screenshot(driver, "dashboard-failure.png")
        logs = "\n".join(str(entry) for entry in _console(driver))
        pytest.fail(f"{message} (browser console: {logs[-1500:] or 'empty'})", pytrace=False)


def _console(driver: Any) -> list[Any]:
    try:
        return driver.get_log("browser")
    except Exception:  # not every driver exposes the console
        return []


def _screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def _live_signal_store(source_id: str) -> str:
    """A new post through the pipeline's own service: models, upsert, after-commit publish."""
    from apps.nlp.services import signal_item_from_dict, signals_process

    now = timezone.now()
    signal = {
        "id": f"reddit:{source_id}",
        "platform": "reddit",
        "source_id": source_id,
        "title": "Tesla opens its biggest factory in Germany and investors love it",
        "body": "",
        "url": f"https://www.reddit.com/r/technology/comments/{source_id}/",
        "author": "live_feed_test",
        "community": "technology",
        "published_at": now.isoformat(),
        "raw_score": 120,
        "comment_count": 14,
        "extra": {"is_comment": False},
        "schema_version": 1,
    }
    outcome = signals_process(items=[signal_item_from_dict({"signal": signal, "observed_at": now.isoformat()})])
    assert outcome.stored == 1
    return signal["id"]


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_dashboard_shows_data_and_live_feed(web_server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    _seed()
    _login(browser, web_server)
    _wait(browser, lambda d: d.current_url.rstrip("/").endswith("/dashboard"), 20, "login did not land on /dashboard/")

    # Trending cards from /api/v1/trending/ (topic_timeseries written by the aggregator).
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "trending").get_attribute("data-state") == "ready",
        20,
        "trending cards did not load",
    )
    cards = {c.get_attribute("data-topic") for c in browser.find_elements(By.CSS_SELECTOR, "#trending .card")}
    assert {"tesla", "iran", "ukraine", "openai"} <= cards
    assert browser.find_elements(By.CSS_SELECTOR, "#trending .card svg polyline"), "sparklines are drawn"

    # Disputes from /api/v1/divergence/leaderboard/ and the heatmap from pulse per topic.
    _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#divergence li.dispute[data-topic="tesla"]'),
        20,
        "the Tesla divergence is not listed",
    )
    _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#heatmap tr[data-topic="tesla"] td.diverging'),
        20,
        "the heatmap does not show Tesla's diverging cells",
    )
    tesla_cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, '#heatmap tr[data-topic="tesla"] td')]
    assert any(text.startswith("+0.") for text in tesla_cells)
    assert any(text.startswith("-0.") for text in tesla_cells)

    # Live feed: wait until the socket is authenticated, then store a signal through the pipeline.
    _wait(browser, lambda d: "live" in d.find_element(By.ID, "ws-state").get_attribute("class"), 20, "no live socket")
    # An idle socket must stay up: a channel layer whose blocking read times out (redis-py 8's 5 s
    # default socket_timeout) drops every consumer every few seconds, and signals are lost between.
    time.sleep(8)
    state = browser.find_element(By.ID, "ws-state")
    assert "live" in state.get_attribute("class")
    assert state.get_attribute("data-connects") == "1", "the server dropped the idle WebSocket"
    signal_id = _live_signal_store(f"live{os.getpid()}")
    item = _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#feed li.item[data-id="{signal_id}"]'),
        20,
        "the stored signal did not reach the live feed",
    )[0]
    assert "Tesla opens its biggest factory" in item.text
    assert browser.find_element(By.ID, "feed-count").text == "1"
    shot = _screenshot(browser, "dashboard.png")
    assert shot.stat().st_size > 10_000

    # Per-topic page: the extractive summary and per-platform sentiment.
    browser.get(f"{web_server}/dashboard/topic/tesla/")
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "platform-sentiment").get_attribute("data-state") == "ready",
        20,
        "per-platform sentiment did not load",
    )
    bars = browser.find_element(By.ID, "platform-sentiment").text
    assert "Reddit" in bars
    assert "YouTube" in bars
    summary = browser.find_element(By.ID, "summary").text
    assert "No summary yet" not in summary
    assert len(summary) > 40
    assert browser.find_elements(By.CSS_SELECTOR, '#topic-divergence li.dispute[data-topic="tesla"]')
    _screenshot(browser, "dashboard-topic.png")
