"""Generate grafana/dashboards/*.json: `python grafana/build_dashboards.py` (then commit the JSON).

Panels are declared here once, as data, so tests/ops/test_grafana.py can read every query back
from the JSON and run it against real Prometheus and PostgreSQL. Datasources are referred to by
the uids provisioned in grafana/provisioning/datasources/signalflow.yml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "signalflow-prometheus"}
POSTGRES = {"type": "grafana-postgresql-datasource", "uid": "signalflow-postgres"}
PLATFORMS = ["reddit", "bluesky", "hackernews", "youtube"]


def _prom_panel(
    title: str,
    queries: list[tuple[str, str]],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    description: str = "",
    width: int = 12,
    height: int = 8,
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "gridPos": {"w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + index), "datasource": PROMETHEUS, "expr": expr, "legendFormat": legend}
            for index, (expr, legend) in enumerate(queries)
        ],
    }


def _sql_panel(
    title: str,
    sql: str,
    *,
    kind: str,
    fmt: str,
    unit: str = "short",
    description: str = "",
    width: int = 12,
    height: int = 8,
    options: dict[str, Any] | None = None,
    field_defaults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": POSTGRES,
        "gridPos": {"w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit, **(field_defaults or {})}, "overrides": []},
        "options": options or {},
        "targets": [
            {
                "refId": "A",
                "datasource": POSTGRES,
                "editorMode": "code",
                "rawQuery": True,
                "format": fmt,
                "rawSql": " ".join(sql.split()),
            }
        ],
    }


def _layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Left to right, wrapping at Grafana's 24 columns."""
    x = y = row_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        width, height = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        panel["id"] = panel_id
        panel["gridPos"] = {"x": x, "y": y, "w": width, "h": height}
        x += width
        row_height = max(row_height, height)
    return panels


def _dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict:
    return {
        "uid": uid,
        "title": title,
        "tags": ["signalflow"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": _layout(panels),
    }


PLATFORM_VARIABLE = {
    "name": "platform",
    "label": "Platform",
    "type": "custom",
    "query": ",".join(PLATFORMS),
    "multi": True,
    "includeAll": True,
    "current": {"text": ["All"], "value": ["$__all"]},
    "options": [],
}
TOPIC_VARIABLE = {
    "name": "topic",
    "label": "Topic",
    "type": "query",
    "datasource": POSTGRES,
    # The day's most active topics; the traction timeline follows the ones selected.
    "query": "SELECT topic FROM trending_topics_24h ORDER BY velocity_sum DESC NULLS LAST, signal_count DESC LIMIT 25",
    "definition": "trending_topics_24h by velocity",
    "refresh": 2,
    "multi": True,
    "includeAll": True,
    "current": {"text": ["All"], "value": ["$__all"]},
    "options": [],
    "sort": 0,
}


def topics_dashboard() -> dict:
    panels = [
        _sql_panel(
            "Trending topics (24 h)",
            """
            SELECT topic, signal_count
            FROM trending_topics_24h
            ORDER BY any_trending DESC, max_trending_score DESC NULLS LAST, velocity_sum DESC NULLS LAST
            LIMIT 12
            """,
            kind="stat",
            fmt="table",
            width=24,
            height=6,
            description="One card per topic: signals in the last 24 h, ranked by trending score and velocity.",
            options={
                "reduceOptions": {"values": True, "calcs": ["lastNotNull"], "fields": "/^signal_count$/"},
                "textMode": "value_and_name",
                "colorMode": "background",
                "graphMode": "none",
                "orientation": "auto",
            },
        ),
        _sql_panel(
            "Topic traction timeline",
            """
            SELECT $__timeGroupAlias(bucket, $__interval), topic AS metric, sum(signal_count) AS value
            FROM topic_timeseries
            WHERE $__timeFilter(bucket) AND topic IN ($topic) AND platform IN ($platform)
            GROUP BY 1, 2
            ORDER BY 1
            """,
            kind="timeseries",
            fmt="time_series",
            width=24,
            description="Signals per topic per interval, from the 15-minute aggregates (topic_timeseries).",
        ),
        _sql_panel(
            "Platform divergence heatmap",
            """
            SELECT $__timeGroupAlias(bucket, '15m'), topic AS metric, max(mean) - min(mean) AS value
            FROM (
              SELECT bucket, topic, platform, sum(sentiment_sum) / nullif(sum(sentiment_count), 0) AS mean
              FROM topic_timeseries
              WHERE $__timeFilter(bucket) AND topic IN ($topic) AND platform IN ($platform)
              GROUP BY bucket, topic, platform
            ) per_platform
            WHERE mean IS NOT NULL
            GROUP BY 1, 2
            HAVING count(*) >= 2
            ORDER BY 1
            """,
            kind="heatmap",
            fmt="time_series",
            width=12,
            description="Per topic and 15-minute bucket: the gap between the most positive and the most "
            "negative platform's mean sentiment (0 = agreement, 2 = opposite).",
            options={
                "calculate": False,
                "yAxis": {"axisPlacement": "left"},
                "color": {"mode": "scheme", "scheme": "Oranges", "min": 0, "max": 1},
                "cellValues": {"decimals": 2},
            },
        ),
        _sql_panel(
            "Open divergence events",
            """
            SELECT topic, platform_a, round(sentiment_a::numeric, 2) AS sentiment_a,
                   platform_b, round(sentiment_b::numeric, 2) AS sentiment_b,
                   round(gap::numeric, 2) AS gap, p_value, origin_platform, lag_seconds, detected_at
            FROM platform_divergence
            WHERE status = 'open' AND $__timeFilter(detected_at)
            ORDER BY gap DESC
            LIMIT 50
            """,
            kind="table",
            fmt="table",
            width=12,
            description="Divergence events the detector opened in the time range, largest gap first.",
        ),
        _sql_panel(
            "Top topics by platform",
            """
            SELECT platform, topic, signals, avg_sentiment
            FROM (
              SELECT platform, topic, count(*) AS signals, round(avg(sentiment)::numeric, 3) AS avg_sentiment,
                     row_number() OVER (PARTITION BY platform ORDER BY count(*) DESC, topic) AS rank
              FROM signal_topics
              WHERE $__timeFilter(published_at) AND platform IN ($platform)
              GROUP BY platform, topic
            ) ranked
            WHERE rank <= 5
            ORDER BY platform, rank
            """,
            kind="table",
            fmt="table",
            width=12,
            description="The five topics with most signals on each platform in the time range.",
        ),
        _sql_panel(
            "Sentiment by platform",
            """
            SELECT $__timeGroupAlias(bucket, $__interval), platform AS metric,
                   sum(sentiment_sum) / nullif(sum(sentiment_count), 0) AS value
            FROM topic_timeseries
            WHERE $__timeFilter(bucket) AND platform IN ($platform)
            GROUP BY 1, 2
            HAVING sum(sentiment_count) > 0
            ORDER BY 1
            """,
            kind="timeseries",
            fmt="time_series",
            width=12,
            field_defaults={"min": -1, "max": 1},
            description="Mean compound sentiment of each platform's scored signals.",
        ),
        _sql_panel(
            "Latest topic summaries",
            """
            SELECT topic, "window", summary, source_platform, provider, signal_count, updated_at
            FROM topic_summaries
            WHERE $__timeFilter(updated_at)
            ORDER BY updated_at DESC
            LIMIT 20
            """,
            kind="table",
            fmt="table",
            width=24,
            description="What the summariser (LLM or the offline extractive one) wrote last, per topic.",
        ),
        _sql_panel(
            "Dead letters stored",
            """
            SELECT $__timeGroupAlias(created_at, $__interval), topic AS metric, count(*) AS value
            FROM dead_letters
            WHERE $__timeFilter(created_at)
            GROUP BY 1, 2
            ORDER BY 1
            """,
            kind="timeseries",
            fmt="time_series",
            width=12,
            description="Messages stored in dead_letters per source topic (replay them from the admin or the API).",
        ),
    ]
    return _dashboard("signalflow-topics", "SignalFlow · Topics", panels, [PLATFORM_VARIABLE, TOPIC_VARIABLE])


def _quantile(q: float, histogram: str, by: str) -> str:
    """PromQL for a quantile of a histogram over Grafana's rate interval, per `by` labels."""
    return f"histogram_quantile({q}, sum by ({by}) (rate({histogram}_bucket[$__rate_interval])))"


def pipeline_dashboard() -> dict:
    rate = "[$__rate_interval]"
    panels = [
        _prom_panel(
            "Pipeline throughput (messages/s)",
            [
                (f"sum by (platform) (rate(signalflow_ingest_signals_produced_total{rate}))", "produced {{platform}}"),
                (f"sum by (topic) (rate(signalflow_bridge_messages_consumed_total{rate}))", "consumed {{topic}}"),
                (f"sum by (kind) (rate(signalflow_nlp_signals_stored_total{rate}))", "stored {{kind}}"),
            ],
            unit="ops",
            width=24,
            description="Signals produced by ingest, messages read by the bridge, rows upserted by the workers.",
        ),
        _prom_panel(
            "Batch flush latency p99",
            [
                (
                    _quantile(0.99, "signalflow_bridge_batch_flush_seconds", "le, lane"),
                    "p99 {{lane}}",
                ),
                (
                    _quantile(0.5, "signalflow_bridge_batch_flush_seconds", "le"),
                    "p50 all lanes",
                ),
            ],
            unit="s",
            description="From a batch's dispatch by the bridge to its task reporting it stored.",
        ),
        _prom_panel(
            "Inference time per model (p95)",
            [
                (
                    _quantile(0.95, "signalflow_nlp_inference_seconds", "le, model"),
                    "{{model}}",
                ),
            ],
            unit="s",
            description="Wall time of one batch through each model stage (RoBERTa, VADER, spaCy, language).",
        ),
        _prom_panel(
            "DLQ rate",
            [(f"sum by (topic, reason) (rate(signalflow_bridge_dlq_messages_total{rate}))", "{{topic}} {{reason}}")],
            unit="ops",
            description="Messages sent to dead-letter topics. A burst trips the bridge's circuit breaker.",
        ),
        _prom_panel(
            "Consumer lag",
            [("sum by (topic) (signalflow_bridge_consumer_lag_messages)", "{{topic}}")],
            description="End offset minus committed offset, summed over partitions (Tansu under-reads by a batch).",
        ),
        _prom_panel(
            "Celery tasks/s by outcome",
            [(f"sum by (task, outcome) (rate(signalflow_celery_tasks_total{rate}))", "{{task}} {{outcome}}")],
            unit="ops",
        ),
        _prom_panel(
            "Celery task duration p95",
            [
                (
                    _quantile(0.95, "signalflow_celery_task_duration_seconds", "le, task"),
                    "{{task}}",
                )
            ],
            unit="s",
        ),
        _prom_panel(
            "API latency p95 by route",
            [
                (
                    _quantile(0.95, "signalflow_api_request_duration_seconds", "le, route"),
                    "{{route}}",
                )
            ],
            unit="s",
        ),
        _prom_panel(
            "Sentiment model routing",
            [
                (f"sum by (model) (rate(signalflow_nlp_sentiment_scored_total{rate}))", "scored {{model}}"),
                (f"sum by (reason) (rate(signalflow_nlp_sentiment_fallbacks_total{rate}))", "fallback {{reason}}"),
            ],
            unit="ops",
            description="Texts scored per model; fallbacks are comments VADER scored because the transformer failed.",
        ),
        _prom_panel(
            "Webhook deliveries by outcome",
            [(f"sum by (outcome) (rate(signalflow_alerts_webhook_deliveries_total{rate}))", "{{outcome}}")],
            unit="ops",
        ),
        _prom_panel(
            "Seconds since last successful poll",
            [("time() - max by (platform) (signalflow_ingest_last_success_timestamp_seconds)", "{{platform}}")],
            unit="s",
            description="Per platform, the freshest of its sources. A rising line is a stalled source.",
        ),
        _prom_panel(
            "Read replica lag",
            [
                ("max(signalflow_db_replica_lag_seconds)", "lag seconds"),
                ("min(signalflow_db_replica_up)", "replica up"),
            ],
            unit="s",
            description="Age of the last replayed transaction while WAL waits to be replayed (0 when caught up).",
        ),
    ]
    return _dashboard("signalflow-pipeline", "SignalFlow · Pipeline", panels, [])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, dashboard in {
        "signalflow-topics.json": topics_dashboard(),
        "signalflow-pipeline.json": pipeline_dashboard(),
    }.items():
        (OUT / name).write_text(json.dumps(dashboard, indent=2) + "\n")


if __name__ == "__main__":
    main()
