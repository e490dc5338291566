"""Stored signals, their per-topic index rows, and dead letters."""

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from signalflow.signal import MAX_ID_LENGTH, Platform

PLATFORM_CHOICES = [(p.value, p.value) for p in Platform]


class Signal(models.Model):
    """One normalised signal (DESIGN.md fields) plus what the pipeline derived from it."""

    id = models.CharField(max_length=MAX_ID_LENGTH, primary_key=True)
    platform = models.CharField(max_length=16, choices=PLATFORM_CHOICES)
    source_id = models.CharField(max_length=256)
    title = models.TextField(blank=True, default="")
    body = models.TextField(blank=True, default="")
    url = models.TextField(blank=True, default="")
    author = models.CharField(max_length=256, blank=True, default="")
    community = models.CharField(max_length=256, blank=True, default="")
    published_at = models.DateTimeField()
    raw_score = models.IntegerField(default=0)
    comment_count = models.IntegerField(default=0)
    extra = models.JSONField(default=dict, blank=True)
    schema_version = models.PositiveSmallIntegerField(default=1)
    is_comment = models.BooleanField(default=False)

    language = models.CharField(max_length=16, blank=True, default="")
    # Null where no model would score the text (non-English, empty): never a misleading 0.
    sentiment_compound = models.FloatField(null=True, blank=True)
    sentiment_label = models.CharField(max_length=16, null=True, blank=True)
    sentiment_model = models.CharField(max_length=64, null=True, blank=True)
    topics = models.JSONField(default=list, blank=True)

    velocity = models.FloatField(default=0.0)
    trending_score = models.FloatField(default=0.0)
    is_trending = models.BooleanField(default=False)
    # When the platform's counts were observed (Kafka record time, or a refresh's observed_at): an upsert or
    # refresh older than what is stored changes nothing, so a late redelivery cannot roll counts back.
    observed_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "signals"
        indexes = [
            GinIndex(fields=["topics"], name="signals_topics_gin"),
            models.Index(fields=["-published_at"], name="signals_published_desc"),
            models.Index(fields=["platform", "-published_at"], name="signals_platform_published"),
            models.Index(fields=["-trending_score"], name="signals_trending_partial", condition=Q(is_trending=True)),
        ]

    def __str__(self) -> str:
        return self.id


class SignalTopic(models.Model):
    """One row per (signal, topic): per-topic reads go through its covering index, not the GIN.

    Measured with 5 M signals: a topic's 24 h sentiment aggregate takes ~3 ms here against
    100-120 ms through GIN ∧ published_at.
    """

    topic = models.CharField(max_length=100)
    published_at = models.DateTimeField()
    # (signal, topic) unique constraint already indexes signal_id first.
    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="topic_rows", db_index=False)
    platform = models.CharField(max_length=16, choices=PLATFORM_CHOICES)
    sentiment = models.FloatField(null=True, blank=True)
    is_comment = models.BooleanField(default=False)

    class Meta:
        db_table = "signal_topics"
        constraints = [models.UniqueConstraint(fields=["signal", "topic"], name="signal_topics_signal_topic")]
        indexes = [
            models.Index(
                fields=["topic", "-published_at"],
                include=["platform", "sentiment", "is_comment", "signal"],
                name="signal_topics_topic_time_cov",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} ← {self.signal_id}"


class DeadLetter(models.Model):
    """A message that could not be processed: the original bytes, where it came from, and why."""

    topic = models.CharField(max_length=255, help_text="logical source topic it is replayed to")
    partition = models.IntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)
    key = models.TextField(blank=True, default="")
    payload = models.BinaryField()
    error = models.TextField()
    error_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "dead_letters"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "partition", "offset"], name="dead_letters_topic_offset"),
        ]

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.error[:60]}"

    @property
    def payload_text(self) -> str:
        return bytes(self.payload).decode("utf-8", errors="replace")
