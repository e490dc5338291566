"""SQL views over signal_topics, and TimescaleDB where the extension exists.

Views are raw SQL because the ORM has no view DDL. The hypertable conversion runs only when
the `timescaledb` extension is available; plain PostgreSQL keeps an ordinary table.
"""

from django.db import migrations

TRENDING_TOPICS_24H = """
CREATE OR REPLACE VIEW trending_topics_24h AS
SELECT st.topic,
       count(*)                                   AS signal_count,
       count(DISTINCT st.platform)                AS platform_count,
       avg(st.sentiment)                          AS avg_sentiment,
       max(s.trending_score)                      AS max_trending_score,
       sum(s.velocity)                            AS velocity_sum,
       bool_or(s.is_trending)                     AS any_trending,
       max(st.published_at)                       AS last_seen_at
FROM signal_topics st
JOIN signals s ON s.id = st.signal_id
WHERE st.published_at > now() - interval '24 hours'
GROUP BY st.topic
"""

TOPIC_LEADERBOARD_2H = """
CREATE OR REPLACE VIEW topic_leaderboard_2h AS
SELECT st.topic,
       st.platform,
       count(*)                 AS signal_count,
       avg(st.sentiment)        AS avg_sentiment,
       max(st.published_at)     AS last_seen_at
FROM signal_topics st
WHERE st.published_at > now() - interval '2 hours'
GROUP BY st.topic, st.platform
"""


def timescale_enable(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        cursor.execute(
            "SELECT create_hypertable('topic_timeseries', 'bucket', migrate_data => true, if_not_exists => true)"
        )
        cursor.execute("SELECT add_retention_policy('topic_timeseries', INTERVAL '90 days', if_not_exists => true)")


class Migration(migrations.Migration):
    dependencies = [("intel", "0001_initial"), ("nlp", "0001_initial")]
    operations = [
        migrations.RunSQL(TRENDING_TOPICS_24H, "DROP VIEW IF EXISTS trending_topics_24h"),
        migrations.RunSQL(TOPIC_LEADERBOARD_2H, "DROP VIEW IF EXISTS topic_leaderboard_2h"),
        migrations.RunPython(timescale_enable, migrations.RunPython.noop),
    ]
