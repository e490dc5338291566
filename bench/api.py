"""API latency: p50/p99 and requests/s of trending and pulse, cached and uncached, over a real Daphne.

The data lives in its own database (sf_bench_api, sf_bench_api_quick; SIGNALFLOW_BENCH_API_DB overrides),
filled with SQL generate_series: N signals (1,000,000 in full mode, 100,000 with --quick) over 30
days on four platforms, each with one or two of 2,000 topics drawn with a heavy head (a few hot
topics, a long tail), their signal_topics rows, and topic_timeseries aggregated from them. Rows
are written in time order, as the pipeline and the aggregator write them in production (a day's
rows sit together on disk). The data is reused when it already holds N signals of this LAYOUT.
Daphne runs twice on it: once with every cache TTL at 0 (uncached: each request queries
PostgreSQL) and once with the shipped TTLs (cached: Redis).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# Bumped when the generated data changes shape, so an older bench database is regenerated.
LAYOUT = 2
TOPICS = 2000
DAYS = 30
USER, PASSWORD = "bench", "bench-password-1"


def _conninfo(dbname: str) -> str:
    db = settings.DATABASES["default"]
    return f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER'] or 'postgres'} dbname={dbname}"


def _url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{dbname}"


def _env(dbname: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "signalflow.settings.local",
            "DATABASE_URL": _url(dbname),
            "DJANGO_DEBUG": "0",
            "SIGNALFLOW_THROTTLE_USER": "100000000/min",
            "SIGNALFLOW_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


GENERATE_SIGNALS = """
INSERT INTO signals (id, platform, source_id, title, body, url, author, community, published_at, raw_score,
                     comment_count, extra, schema_version, is_comment, language, sentiment_compound,
                     sentiment_label, sentiment_model, topics, velocity, trending_score, is_trending,
                     first_seen_at, last_updated_at, observed_at)
SELECT p.platform || ':b' || g, p.platform, 'b' || g,
       CASE WHEN g %% 3 = 0 THEN '' ELSE 'Bench signal ' || g || ' about ' || t1 END,
       'Body of bench signal ' || g || ' discussing ' || t1 || ' and what people think of it.',
       'https://example.com/' || p.platform || '/' || g, 'author' || (g %% 5000),
       CASE WHEN p.platform = 'reddit' THEN 'worldnews' ELSE '' END,
       now() - make_interval(days => %(days)s) * (%(count)s - g) / %(count)s - r1 * interval '10 minutes',
       (r2 * 500)::int, (r3 * 80)::int,
       jsonb_build_object('is_comment', g %% 3 = 0), 1, g %% 3 = 0, 'en',
       s, CASE WHEN s > 0.05 THEN 'positive' WHEN s < -0.05 THEN 'negative' ELSE 'neutral' END,
       CASE WHEN g %% 3 = 0 THEN 'roberta' ELSE 'vader' END,
       CASE WHEN g %% 2 = 0 OR t1 = t2 THEN jsonb_build_array(t1) ELSE jsonb_build_array(t1, t2) END,
       r2 * 20, r3 * 10, r3 > 0.95, now(), now(), now()
FROM generate_series(%(start)s, %(stop)s) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['reddit', 'bluesky', 'hackernews', 'youtube'])[1 + g %% 4] AS platform) p
CROSS JOIN LATERAL (
    SELECT random() AS r1, random() AS r2, random() AS r3,
           round((random() * 2 - 1)::numeric, 3)::float8 AS s,
           'topic' || lpad(floor(%(topics)s * random() ^ 3)::int::text, 4, '0') AS t1,
           'topic' || lpad(floor(%(topics)s * random() ^ 2)::int::text, 4, '0') AS t2
    WHERE g IS NOT NULL
) r
"""

GENERATE_TOPICS = """
INSERT INTO signal_topics (topic, published_at, signal_id, platform, sentiment, is_comment)
SELECT t.topic, s.published_at, s.id, s.platform, s.sentiment_compound, s.is_comment
FROM signals s CROSS JOIN LATERAL jsonb_array_elements_text(s.topics) AS t(topic)
ORDER BY s.published_at
"""

GENERATE_TIMESERIES = """
INSERT INTO topic_timeseries (topic, platform, bucket, signal_count, sentiment_sum, sentiment_count,
                              max_trending, score_sum)
SELECT st.topic, st.platform, date_bin('15 minutes', st.published_at, TIMESTAMPTZ '2000-01-01'),
       count(*), coalesce(sum(st.sentiment), 0), count(st.sentiment), max(s.trending_score), sum(s.raw_score)
FROM signal_topics st JOIN signals s ON s.id = st.signal_id
GROUP BY 1, 2, 3
ORDER BY 3
"""


def dataset_ensure(dbname: str, count: int) -> dict[str, Any]:
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{dbname}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=_env(dbname), check=True
    )
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--no-input", "--username", USER, "--email", "b@b.invalid"],
        cwd=ROOT,
        env=_env(dbname, DJANGO_SUPERUSER_PASSWORD=PASSWORD),
        capture_output=True,
    )
    with psycopg.connect(_conninfo(dbname), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_api_layout (layout int NOT NULL)")
        layout = conn.execute("SELECT max(layout) FROM bench_api_layout").fetchone()[0]
        existing = conn.execute("SELECT count(*) FROM signals").fetchone()[0]
        if existing == count and layout == LAYOUT:
            rows = conn.execute("SELECT count(*) FROM signal_topics").fetchone()[0]
            return {"signals": count, "signal_topics": rows, "generated_s": None, "reused": True}
        started = time.monotonic()
        conn.execute("TRUNCATE signals, signal_topics, topic_timeseries")
        chunk = 250_000
        for start in range(1, count + 1, chunk):
            stop = min(count, start + chunk - 1)
            conn.execute(
                GENERATE_SIGNALS, {"start": start, "stop": stop, "days": DAYS, "topics": TOPICS, "count": count}
            )
            print(f"  signals {stop:,}/{count:,} ({time.monotonic() - started:.0f} s)", flush=True)
        conn.execute(GENERATE_TOPICS)
        conn.execute(GENERATE_TIMESERIES)
        conn.execute("VACUUM ANALYZE signals")
        conn.execute("VACUUM ANALYZE signal_topics")
        conn.execute("VACUUM ANALYZE topic_timeseries")
        conn.execute("DELETE FROM bench_api_layout")
        conn.execute("INSERT INTO bench_api_layout VALUES (%s)", (LAYOUT,))
        rows = conn.execute("SELECT count(*) FROM signal_topics").fetchone()[0]
        return {"signals": count, "signal_topics": rows, "generated_s": round(time.monotonic() - started, 1)}


def pulse_topics(dbname: str) -> list[str]:
    """Hot, middling and tail topics (by 24 h mentions), so uncached pulse sees realistic sizes."""
    with psycopg.connect(_conninfo(dbname)) as conn:
        ranked = [
            row[0]
            for row in conn.execute(
                "SELECT topic FROM topic_timeseries WHERE bucket > now() - interval '24 hours' "
                "GROUP BY topic ORDER BY sum(signal_count) DESC"
            )
        ]
    picks = ranked[:5] + ranked[len(ranked) // 4 : len(ranked) // 4 + 5] + ranked[len(ranked) // 2 :: 100][:10]
    return picks or ["topic0000"]


class Daphne:
    def __init__(self, dbname: str, port: int, **env: str) -> None:
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "signalflow.asgi:application"],
            cwd=ROOT,
            env=_env(dbname, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError("daphne did not start")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def load(base: str, token: str, paths: list[str], *, requests: int, concurrency: int) -> dict[str, Any]:
    """`requests` GETs spread over `concurrency` keep-alive clients, cycling through `paths`."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for n in counter:
                started = time.perf_counter()
                response = client.get(paths[n % len(paths)])
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 200

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "req_per_s": round(len(ordered) / wall, 1),
    }


def run(quick: bool = False) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    # Separate databases per size, so a quick run does not throw away the million rows of a full one.
    dbname = os.environ.get("SIGNALFLOW_BENCH_API_DB", "sf_bench_api") + ("_quick" if quick else "")
    dataset = dataset_ensure(dbname, count)
    topics = pulse_topics(dbname)
    port = 18765
    trending = ["/api/v1/trending/", "/api/v1/trending/?window=1h", "/api/v1/trending/?platform=reddit"]
    pulse = [f"/api/v1/pulse/?topic={topic}" for topic in topics]
    sizes = {"uncached": 60 if quick else 300, "cached": 300 if quick else 3000}
    results: dict[str, Any] = {"dataset": dataset, "pulse_topics": len(topics)}
    off = {f"SIGNALFLOW_API_CACHE_{name}_S": "0" for name in ("TRENDING", "PULSE", "DIVERGENCE", "TOTALS")}
    for mode, env in (("uncached", off), ("cached", {})):
        server = Daphne(dbname, port, **env)
        try:
            base = f"http://127.0.0.1:{port}"
            token = httpx.post(f"{base}/api/token/", json={"username": USER, "password": PASSWORD}).json()["access"]
            if mode == "cached":  # fill the cache once, as the first callers after a deploy would
                load(base, token, trending + pulse, requests=len(trending + pulse), concurrency=1)
            for name, paths in (("trending", trending), ("pulse", pulse)):
                # One client at a time: the latency of a request alone; four: queueing on one process.
                for concurrency, requests in ((1, sizes[mode] // 3), (4, sizes[mode])):
                    key = f"{name}_{mode}_c{concurrency}"
                    results[key] = load(base, token, paths, requests=requests, concurrency=concurrency)
                    print(f"  {key}: {results[key]}", flush=True)
        finally:
            server.close()
    return results
