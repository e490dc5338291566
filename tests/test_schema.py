"""Migrations, indexes and the deploy check, against the real PostgreSQL."""

import os
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection

from tests.support.services import PYTHON, ROOT


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_seeded_sources_cover_every_platform():
    from apps.ingest.models import SourceConfig
    from apps.ingest.services import source_config_seed

    source_config_seed()  # the migration's seed; a transactional test elsewhere may have flushed the table

    counts = {
        p: SourceConfig.objects.filter(platform=p).count() for p in ("reddit", "hackernews", "youtube", "bluesky")
    }
    assert counts["reddit"] >= 150
    assert all(counts.values()), counts
    labels = set(SourceConfig.objects.filter(platform="reddit").values_list("label", flat=True))
    assert {"news", "politics", "technology", "science", "finance", "gaming", "culture"} <= labels


@pytest.mark.django_db
def test_views_exist_and_answer():
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM trending_topics_24h LIMIT 1")
        cursor.execute("SELECT * FROM topic_leaderboard_2h LIMIT 1")


@pytest.mark.django_db
def test_alert_deliveries_are_append_only(django_user_model):
    from django.db import DatabaseError, transaction

    from apps.alerts.models import AlertDelivery, WatchedTopic

    user = django_user_model.objects.create_user("u", password="p")
    watch = WatchedTopic.objects.create(user=user, topic="iran", webhook_url="https://example.com/h", secret="s")
    row = AlertDelivery.objects.create(
        watched_topic=watch,
        firing_id="00000000-0000-0000-0000-000000000001",
        attempt=1,
        url=watch.webhook_url,
        payload={},
    )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AlertDelivery.objects.filter(pk=row.pk).update(error="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AlertDelivery.objects.filter(pk=row.pk).delete()


@pytest.mark.django_db
def test_gin_index_serves_topic_containment_with_time_range():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO signals (id, platform, source_id, title, body, url, author, community, published_at,
                                 raw_score, comment_count, extra, schema_version, is_comment, language, topics,
                                 velocity, trending_score, is_trending, first_seen_at, last_updated_at)
            SELECT 'reddit:g' || i, 'reddit', 'g' || i, '', '', '', '', '', now() - (i || ' minutes')::interval,
                   0, 0, '{}', 1, false, 'en',
                   jsonb_build_array(CASE WHEN i % 1000 = 0 THEN 'iran' ELSE 'topic' || (i % 500) END),
                   0, 0, false, now(), now()
            FROM generate_series(1, 100000) AS i
            """
        )
        cursor.execute("ANALYZE signals")
        cursor.execute(
            """EXPLAIN SELECT count(*) FROM signals
               WHERE topics @> '["iran"]' AND published_at > now() - interval '35 days'"""
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "signals_topics_gin" in plan, plan


@pytest.mark.django_db
def test_covering_index_serves_per_topic_reads():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            """EXPLAIN SELECT platform, avg(sentiment) FROM signal_topics
               WHERE topic = 'iran' AND published_at > now() - interval '24 hours' GROUP BY platform"""
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "signal_topics_topic_time_cov" in plan, plan


def test_deploy_check_refuses_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_SETTINGS_MODULE"] = "signalflow.settings.production"
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_deploy_check_passes_with_production_settings():
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="signalflow.settings.production",
        DJANGO_SECRET_KEY="x" * 64 + "-production-grade-random-looking-secret-value",
        DJANGO_ALLOWED_HOSTS="signalflow.example.com",
    )
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
