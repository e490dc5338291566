"""Grafana provisioning: every panel's query runs against the real datasource and returns data.

- Provisioning files are consistent (datasource uids, dashboard folder, generated JSON up to date).
- SQL panels: each query, with Grafana's macros and template variables expanded, runs against
  PostgreSQL over seeded rows and returns rows.
- PromQL panels: Debian's Prometheus scrapes real SignalFlow processes started here (Daphne web
  with a streaming read replica, the ingest supervisor polling a fake HN Algolia, the Kafka bridge,
  a prefork Celery worker) while traffic flows through them; every query, evaluated through
  Prometheus's HTTP API, returns series (quantiles: at least one finite value).
"""

from __future__ import annotations

import math
import re
import runpy
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
import yaml
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.alerts.models import AlertFiring, WatchedTopic
from apps.ingest.models import IngestCursor, SourceConfig
from apps.intel.models import PlatformDivergence, TopicSummary, TopicTimeseries
from apps.nlp.models import DeadLetter
from signalflow.kafka import SIGNALS_NORMALISED, producer_create, signal_produce, topic_name
from signalflow.queues import Queue, queue_name
from signalflow.settings.env import redis_db_url
from signalflow.signal import signal_validate
from tests.ops.support import free_port, pg_primary, process_stop, tool_ensure
from tests.ops.support.grafana import (
    DASHBOARDS,
    GRAFANA,
    dashboards,
    datasources,
    duration_seconds,
    panel_queries,
    promql_expand,
    sql_expand,
    variable_queries,
)
from tests.support.factories import signal_create
from tests.support.services import FIXTURES, PYTHON, ROOT, kafka_require, redis_require, subprocess_env
from tests.support.webhook_receiver import WebhookReceiver

PLATFORMS = ["reddit", "bluesky", "hackernews", "youtube"]
TOPICS = ["nvidia", "openai", "election", "climate"]
# Mean sentiment per platform: the platforms disagree, so the divergence heatmap has cells.
PLATFORM_SENTIMENT = {"reddit": -0.4, "bluesky": 0.1, "hackernews": 0.5, "youtube": -0.7}
# The dashboard's default range; Grafana's $__interval for it at ~1,500 px is 15 s, its lower bound here.
RANGE = timedelta(hours=6)


def _prometheus_scrape_interval() -> float:
    prometheus = datasources()["signalflow-prometheus"]
    return duration_seconds(prometheus["jsonData"]["timeInterval"])


# --- provisioning --------------------------------------------------------------------------------


def test_dashboards_are_generated_from_the_builder():
    """The committed JSON is what grafana/build_dashboards.py writes (edit the builder, not the JSON)."""
    builder = runpy.run_path(str(GRAFANA / "build_dashboards.py"))
    committed = dashboards()
    assert committed["signalflow-topics.json"] == builder["topics_dashboard"]()
    assert committed["signalflow-pipeline.json"] == builder["pipeline_dashboard"]()


def test_panels_use_provisioned_datasources_and_cover_the_required_views():
    provisioned = datasources()
    assert provisioned["signalflow-prometheus"]["type"] == "prometheus"
    assert provisioned["signalflow-postgres"]["type"] == "grafana-postgresql-datasource"
    for query in panel_queries():
        assert query.datasource_uid in provisioned, query.label
        assert provisioned[query.datasource_uid]["type"] == query.datasource_type, query.label
        assert query.query.strip(), query.label
    titles = {panel["title"] for dashboard in dashboards().values() for panel in dashboard["panels"]}
    for required in (
        "Topic traction timeline",
        "Platform divergence heatmap",
        "Trending topics (24 h)",
        "Top topics by platform",
        "Pipeline throughput (messages/s)",
        "Batch flush latency p99",
        "Inference time per model (p95)",
        "DLQ rate",
    ):
        assert required in titles
    uids = [dashboard["uid"] for dashboard in dashboards().values()]
    assert len(uids) == len(set(uids))


def test_dashboard_provider_reads_the_directory_compose_mounts():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "signalflow.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    assert list(DASHBOARDS.glob("*.json"))
    # Every ${VAR} of the datasource file is set on the grafana service.
    wanted = set(re.findall(r"\$\{(\w+)\}", (GRAFANA / "provisioning/datasources/signalflow.yml").read_text()))
    assert wanted <= set(compose["services"]["grafana"]["environment"])


# --- SQL panels ----------------------------------------------------------------------------------


def _seed_topic_data(now: datetime) -> None:
    """Signals, 15-minute aggregates, a divergence event, a summary and dead letters in the last hours."""
    for topic in TOPICS:
        for platform in PLATFORMS:
            for minutes in (10, 40, 95):
                signal_create(
                    platform=platform,
                    topics=[topic],
                    sentiment=PLATFORM_SENTIMENT[platform],
                    published_at=now - timedelta(minutes=minutes),
                    is_trending=topic == "nvidia",
                    trending_score=3.0 if topic == "nvidia" else 0.5,
                    velocity=2.0,
                )
    first_bucket = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    rows = []
    for step in range(12):
        bucket = first_bucket + timedelta(minutes=15 * step)
        for topic in TOPICS:
            for platform in PLATFORMS:
                count = 3 + step % 4
                rows.append(
                    TopicTimeseries(
                        topic=topic,
                        platform=platform,
                        bucket=bucket,
                        signal_count=count,
                        sentiment_sum=PLATFORM_SENTIMENT[platform] * count,
                        sentiment_count=count,
                        max_trending=1.5,
                        score_sum=10 * count,
                    )
                )
    TopicTimeseries.objects.bulk_create(rows)
    PlatformDivergence.objects.create(
        topic="nvidia",
        platform_a="hackernews",
        platform_b="youtube",
        sentiment_a=0.5,
        sentiment_b=-0.7,
        count_a=20,
        count_b=20,
        gap=1.2,
        p_value=0.001,
        origin_platform="hackernews",
        lag_seconds=900,
    )
    TopicSummary.objects.create(
        topic="nvidia",
        summary="Chip supply and the new accelerator launch dominate the conversation.",
        source_platform="hackernews",
        provider="extractive",
        model="extractive",
        signal_count=48,
    )
    for offset in range(3):
        DeadLetter.objects.create(
            topic=SIGNALS_NORMALISED,
            partition=0,
            offset=10_000 + offset,
            payload=b"{not json",
            error="invalid JSON",
            error_type="invalid",
        )


def _run_sql(sql: str) -> tuple[list[str], list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [column.name for column in cursor.description], cursor.fetchall()


@pytest.mark.django_db
def test_every_sql_panel_query_returns_rows():
    now = timezone.now()
    _seed_topic_data(now)
    time_from, time_to = now - RANGE, now + timedelta(minutes=1)
    interval_s = _prometheus_scrape_interval()

    # Template variables first, as Grafana does: their queries must return the choices.
    values = {}
    for dashboard, variable in variable_queries():
        if variable["type"] == "custom":
            values[variable["name"]] = [choice.strip() for choice in variable["query"].split(",")]
        elif variable["type"] == "query":
            sql = sql_expand(variable["query"], time_from=time_from, time_to=time_to, interval_s=interval_s, values={})
            _, rows = _run_sql(sql)
            assert rows, f"{dashboard}: variable {variable['name']} has no choices"
            values[variable["name"]] = [row[0] for row in rows]
    assert set(TOPICS) <= set(values["topic"])

    failures = []
    sql_queries = [query for query in panel_queries() if query.datasource_type == "grafana-postgresql-datasource"]
    assert len(sql_queries) >= 6
    for query in sql_queries:
        sql = sql_expand(query.query, time_from=time_from, time_to=time_to, interval_s=interval_s, values=values)
        columns, rows = _run_sql(sql)
        if not rows:
            failures.append(f"{query.label}: no rows from {sql}")
        elif query.fmt == "time_series":
            # What Grafana's SQL time series need: a "time" column, a metric name, a numeric value.
            assert columns[0] == "time", query.label
            assert all(isinstance(row[0], int | float | Decimal) for row in rows), query.label
            assert all(row[-1] is None or isinstance(row[-1], int | float | Decimal) for row in rows), query.label
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_sql_panels_follow_the_platform_variable():
    now = timezone.now()
    _seed_topic_data(now)
    query = next(q for q in panel_queries() if q.panel == "Top topics by platform")
    sql = sql_expand(
        query.query,
        time_from=now - RANGE,
        time_to=now,
        interval_s=15,
        values={"platform": ["youtube"], "topic": TOPICS},
    )
    _, rows = _run_sql(sql)
    assert {row[0] for row in rows} == {"youtube"}
    assert len(rows) == len(TOPICS)


# --- PromQL panels against real processes ---------------------------------------------------------


class Stack:
    """Child processes with their logs in files; stopped in reverse order."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}", pytrace=False)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            process_stop(process, timeout=20)


def _wait_http(url: str, stack: Stack, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {timeout:.0f} s", pytrace=False)
        time.sleep(0.5)


COMMENT_TEXTS = [
    "Honestly the new Nvidia chips look amazing, great job by the team",
    "OpenAI keeps shipping, but this release feels rushed and disappointing",
    "The election coverage on here is awful and biased",
    "Climate report is terrifying but the solar numbers give me hope",
]
POST_TEXTS = [
    "Nvidia unveils a faster accelerator for data centres",
    "OpenAI announces a partnership with Microsoft on new models",
    "Election officials in Ohio report record turnout",
    "Climate scientists warn of another record hot summer in Europe",
]


class Traffic(threading.Thread):
    """New signals onto the bus, now and then a malformed message, and API requests, until stopped."""

    def __init__(self, web_url: str, username: str, password: str) -> None:
        super().__init__(daemon=True)
        self.web_url = web_url
        self.credentials = {"username": username, "password": password}
        self.stopping = threading.Event()
        self.produced = 0
        self.bad = 0
        self.requests = 0
        self.errors: list[str] = []

    def _signals(self, round_id: int) -> list:
        now = datetime.now(UTC).isoformat()
        signals = []
        # Two platforms a round, in turn: a post and a comment (the cpu and gpu lanes) from each.
        for index in (round_id % 4, (round_id + 1) % 4):
            platform, text = PLATFORMS[index], POST_TEXTS[index]
            source_id = f"grafana-{uuid.uuid4().hex[:12]}"
            signals.append(
                signal_validate(
                    {
                        "id": f"{platform}:{source_id}",
                        "platform": platform,
                        "source_id": source_id,
                        "title": text,
                        "body": "",
                        "published_at": now,
                        "raw_score": 10 + round_id,
                        "comment_count": index,
                        "extra": {"is_comment": False},
                    }
                )
            )
            comment_id = f"grafana-c-{uuid.uuid4().hex[:12]}"
            signals.append(
                signal_validate(
                    {
                        "id": f"{platform}:{comment_id}",
                        "platform": platform,
                        "source_id": comment_id,
                        "title": "",
                        "body": COMMENT_TEXTS[index],
                        "published_at": now,
                        "extra": {"is_comment": True, "parent_id": source_id, "parent_title": text},
                    }
                )
            )
        return signals

    def run(self) -> None:
        producer = producer_create()
        client = httpx.Client(base_url=self.web_url, timeout=10)
        token = None
        round_id = 0
        try:
            while not self.stopping.is_set():
                round_id += 1
                for signal in self._signals(round_id):
                    signal_produce(producer, signal)
                    self.produced += 1
                if round_id % 8 == 0:
                    producer.send(topic_name(SIGNALS_NORMALISED), key=b"bad", value=b'{"id": "truncated')
                    self.bad += 1
                producer.flush(timeout=10)
                try:
                    if token is None:
                        response = client.post("/api/token/", json=self.credentials)
                        token = response.json().get("access") if response.status_code == 200 else None
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    for path in ("/api/v1/trending/", "/api/v1/stats/totals/", "/api/v1/signals/"):
                        client.get(path, headers=headers)
                        self.requests += 1
                except (httpx.HTTPError, ValueError) as exc:
                    self.errors.append(repr(exc))
                # Slow enough for one prefork worker on a shared 2-core machine to keep up.
                self.stopping.wait(3.0)
        finally:
            producer.close(timeout=5)
            client.close()


def _prometheus_config(path: Path, targets: dict[str, str], scrape_interval_s: float) -> None:
    config = {
        "global": {"scrape_interval": f"{scrape_interval_s:g}s", "scrape_timeout": f"{scrape_interval_s:g}s"},
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics", "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }
    path.write_text(yaml.safe_dump(config))


def _promql_results(prometheus_url: str, queries: list, expand: dict) -> dict[str, str]:
    """label -> why it is not good yet (missing from the dict: returned data)."""
    problems = {}
    for query in queries:
        expr = promql_expand(query.query, **expand)
        try:
            body = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10).json()
        except (httpx.HTTPError, ValueError) as exc:
            problems[query.label] = f"{expr}: {exc!r}"
            continue
        if body.get("status") != "success":
            problems[query.label] = f"{expr}: {body.get('errorType')} {body.get('error')}"
            continue
        result = body["data"]["result"]
        values = [float(sample["value"][1]) for sample in result]
        if not values:
            problems[query.label] = f"{expr}: no series"
        elif not any(math.isfinite(value) for value in values):
            problems[query.label] = f"{expr}: only NaN/Inf {values}"
    return problems


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_every_promql_panel_query_returns_data_from_real_processes(tmp_path, pg_replica, kafka_topics):
    redis_require()
    kafka_require()
    prometheus_bin = tool_ensure("prometheus")
    # Every 3 s: ample samples in Grafana's 60 s $__rate_interval, and slack for a busy 2-core box.
    scrape_interval_s = 3.0
    interval_s = _prometheus_scrape_interval()

    # Rows the processes need: a login for the API, one HN source, a webhook watch and its firing.
    from django.contrib.auth import get_user_model

    password = uuid.uuid4().hex
    user = get_user_model().objects.create_user(username=f"grafana-{uuid.uuid4().hex[:6]}", password=password)
    SourceConfig.objects.filter(platform="hackernews").update(is_active=False)
    SourceConfig.objects.create(
        platform="hackernews",
        identifier="grafana_story",
        poll_interval_seconds=300,
        options={"tags": "story", "hits": 20},
    )
    IngestCursor.objects.filter(key__startswith="hackernews").delete()
    receiver = WebhookReceiver(responses=[200])
    receiver.__enter__()
    watch = WatchedTopic.objects.create(
        user=user, topic="nvidia", webhook_url=receiver.url("/hook"), secret="s3cret", min_platforms=1
    )
    firing = AlertFiring.objects.create(
        id=uuid.uuid4(), watched_topic=watch, payload={"topic": "nvidia"}, next_attempt_at=timezone.now()
    )

    from tests.support.fakes.algolia import FakeAlgolia

    algolia = FakeAlgolia(fixtures=FIXTURES).start()
    # The ingest seen-store gets its own Redis database, emptied: earlier runs must not dedupe this one away.
    ingest_redis_url = redis_db_url(settings.REDIS_URL, 9)
    redis.Redis.from_url(ingest_redis_url).flushdb()

    primary = pg_primary()
    db_name = settings.DATABASES["default"]["NAME"]
    database_url = f"postgres://{primary['user']}@{primary['host']}:{primary['port']}/{db_name}"
    replica_url = f"postgres://{pg_replica['user']}@{pg_replica['host']}:{pg_replica['port']}/{db_name}"
    base_env = {"DATABASE_URL": database_url}
    ports = {name: free_port() for name in ("web", "ingest", "bridge", "worker", "prometheus")}
    stack = Stack(tmp_path)
    traffic = None
    try:
        stack.start(
            "web",
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(ports["web"]), "signalflow.asgi:application"],
            subprocess_env(**base_env, DATABASE_REPLICA_URL=replica_url),
        )
        stack.start(
            "worker",
            [
                *(PYTHON, "-m", "celery", "-A", "celery_app", "worker", "--pool", "prefork", "-c", "1"),
                *("-Q", ",".join(queue_name(queue) for queue in Queue), "--loglevel", "INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            subprocess_env(
                **base_env,
                SIGNALFLOW_WORKER_METRICS_PORT=str(ports["worker"]),
                PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker-metrics"),
                # The transformer cannot load: comments fall back to VADER, which the dashboard counts.
                SIGNALFLOW_SENTIMENT_MODEL=str(tmp_path / "no-such-model"),
                SIGNALFLOW_LANGUAGE_ACCURACY="low",  # loads faster; detection is not what is tested here
                SIGNALFLOW_WEBHOOK_ALLOWLIST="127.0.0.1",
                SIGNALFLOW_WEBHOOK_REQUIRE_HTTPS="0",
            ),
        )
        stack.start(
            "bridge",
            [PYTHON, "manage.py", "run_bridge", "--metrics-port", str(ports["bridge"])],
            subprocess_env(
                **base_env, SIGNALFLOW_BRIDGE_BATCH_SECONDS="0.5", SIGNALFLOW_BRIDGE_LAG_INTERVAL_SECONDS="1"
            ),
        )
        stack.start(
            "ingest",
            [PYTHON, "manage.py", "run_ingest", "--platform", "hackernews", "--metrics-port", str(ports["ingest"])],
            subprocess_env(
                **base_env,
                HN_ALGOLIA_URL=f"{algolia.url}/api/v1",
                INGEST_STARTUP_SPREAD_SECONDS="0",
                INGEST_REDIS_URL=ingest_redis_url,
            ),
        )
        targets = {
            "web": f"127.0.0.1:{ports['web']}",
            "ingest": f"127.0.0.1:{ports['ingest']}",
            "bridge": f"127.0.0.1:{ports['bridge']}",
            "worker": f"127.0.0.1:{ports['worker']}",
        }
        for target in targets.values():
            _wait_http(f"http://{target}/metrics", stack)
        _prometheus_config(tmp_path / "prometheus.yml", targets, scrape_interval_s)
        stack.start(
            "prometheus",
            [
                prometheus_bin,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
            ],
            {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        prometheus_url = f"http://127.0.0.1:{ports['prometheus']}"
        _wait_http(f"{prometheus_url}/-/ready", stack, timeout=60)

        from celery_app import app

        app.send_task("alerts.deliver", args=[str(firing.id)], queue=queue_name(Queue.DEFAULT))
        traffic = Traffic(f"http://{targets['web']}", user.username, password)
        traffic.start()

        queries = [query for query in panel_queries() if query.datasource_type == "prometheus"]
        assert len(queries) >= 10
        expand = {"interval_s": interval_s, "scrape_interval_s": interval_s, "range_s": RANGE.total_seconds()}
        # A query passes once it returned data; a scrape that times out on a loaded machine makes
        # series briefly stale, which must not undo an earlier pass.
        # Generous for a loaded 2-core machine (the worker's first batch loads its models); a
        # passing run on a quiet one takes well under a minute here.
        deadline = time.monotonic() + 480
        pending = {query.label: query for query in queries}
        problems: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            stack.check_alive()
            time.sleep(3)
            problems = _promql_results(prometheus_url, list(pending.values()), expand)
            pending = {label: query for label, query in pending.items() if label in problems}
        targets_health = httpx.get(f"{prometheus_url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        down = {t["labels"]["job"]: t.get("lastError") for t in targets_health if t["health"] != "up"}
        assert not pending, (
            "PromQL panels without data:\n"
            + "\n".join(f"- {label}: {problems.get(label)}" for label in pending)
            + f"\ntargets down: {down}\ntraffic: produced={traffic.produced} bad={traffic.bad} "
            f"requests={traffic.requests} errors={traffic.errors[:3]}\n"
            + "\n".join(f"--- {name}\n{stack.log_tail(name, 1500)}" for name in ("bridge", "worker", "ingest"))
        )
        assert receiver.requests, "the webhook was never delivered"
    finally:
        if traffic is not None:
            traffic.stopping.set()
            traffic.join(timeout=15)
        stack.stop()
        algolia.stop()
        receiver.__exit__(None, None, None)
