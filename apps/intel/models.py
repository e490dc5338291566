"""What the periodic jobs write: topic time series, divergence events, summaries, watermarks."""

from django.db import models
from django.db.models import Q

from apps.nlp.models import PLATFORM_CHOICES


class TopicTimeseries(models.Model):
    """(topic, platform, 15-minute bucket). Sums and counts, not averages, so buckets merge exactly.

    The composite primary key includes the time column, as a TimescaleDB hypertable requires.
    """

    pk = models.CompositePrimaryKey("topic", "platform", "bucket")
    topic = models.CharField(max_length=100)
    platform = models.CharField(max_length=16, choices=PLATFORM_CHOICES)
    bucket = models.DateTimeField()
    signal_count = models.IntegerField(default=0)
    sentiment_sum = models.FloatField(default=0.0)
    sentiment_count = models.IntegerField(default=0)
    max_trending = models.FloatField(default=0.0)
    score_sum = models.BigIntegerField(default=0)

    class Meta:
        db_table = "topic_timeseries"
        indexes = [models.Index(fields=["-bucket", "topic"], name="topic_ts_bucket_topic")]

    def __str__(self) -> str:
        return f"{self.topic}/{self.platform}@{self.bucket:%Y-%m-%d %H:%M}"


class JobWatermark(models.Model):
    """How far an incremental job has read (e.g. the aggregator's last signal first_seen_at)."""

    name = models.CharField(max_length=100, primary_key=True)
    value = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "job_watermarks"

    def __str__(self) -> str:
        return f"{self.name}@{self.value.isoformat()}"


class PlatformDivergence(models.Model):
    """Two platforms feel differently about a topic, significantly, over the lookback window."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    topic = models.CharField(max_length=100)
    platform_a = models.CharField(max_length=16, choices=PLATFORM_CHOICES)
    platform_b = models.CharField(max_length=16, choices=PLATFORM_CHOICES)
    sentiment_a = models.FloatField()
    sentiment_b = models.FloatField()
    count_a = models.IntegerField()
    count_b = models.IntegerField()
    gap = models.FloatField(help_text="|sentiment_a - sentiment_b| on [-1, 1]")
    p_value = models.FloatField()
    origin_platform = models.CharField(max_length=16, choices=PLATFORM_CHOICES, blank=True, default="")
    lag_seconds = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "platform_divergence"
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "platform_a", "platform_b"],
                condition=Q(status="open"),
                name="platform_divergence_one_open",
            ),
        ]
        indexes = [models.Index(fields=["topic", "-detected_at"], name="divergence_topic_detected")]

    def __str__(self) -> str:
        return f"{self.topic}: {self.platform_a} vs {self.platform_b} gap {self.gap:.2f}"


class TopicSummary(models.Model):
    """The LLM's (or the extractive fallback's) read of a topic's conversation over a window."""

    topic = models.CharField(max_length=100)
    window = models.CharField(max_length=16, default="24h")
    summary = models.TextField()
    dominant_narrative = models.TextField(blank=True, default="")
    emerging_angle = models.TextField(blank=True, default="")
    divergence_explanation = models.TextField(blank=True, default="")
    source_platform = models.CharField(max_length=16, blank=True, default="")
    provider = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    signal_count = models.IntegerField(default=0)
    prompt_tokens = models.IntegerField(null=True, blank=True)
    completion_tokens = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "topic_summaries"
        constraints = [models.UniqueConstraint(fields=["topic", "window"], name="topic_summaries_topic_window")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.window})"


class ArchiveFile(models.Model):
    """One verified Parquet file of archived signals: the manifest that makes archiving restartable.

    A file is recorded only after it was read back and its row count and checksum matched; its
    rows are deleted in the same transaction that marks it `deleted`, so a crash at any step
    leaves either rows still stored (re-exported next run) or a file that replays them.
    """

    class State(models.TextChoices):
        VERIFIED = "verified"
        DELETED = "deleted"

    path = models.CharField(max_length=500, unique=True, help_text="relative to SIGNALFLOW_ARCHIVE_DIR")
    day = models.DateField()
    row_count = models.IntegerField()
    checksum = models.CharField(max_length=64, help_text="sha256 of the rows in canonical JSON")
    file_sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    cutoff = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.VERIFIED)
    deleted_count = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "archive_files"
        indexes = [models.Index(fields=["day"], name="archive_files_day")]

    def __str__(self) -> str:
        return f"{self.path} ({self.row_count} rows, {self.state})"
