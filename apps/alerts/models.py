"""Webhook subscriptions and the append-only audit of every delivery attempt."""

from django.conf import settings
from django.db import models


class WatchedTopic(models.Model):
    """A user's webhook on a topic, gated by trend threshold, platform count and cooldown."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watched_topics")
    topic = models.CharField(max_length=100)
    webhook_url = models.URLField(max_length=2048)
    secret = models.CharField(max_length=128, help_text="HMAC-SHA256 key for the X-SignalFlow-Signature header")
    min_trending_score = models.FloatField(default=1.0)
    min_platforms = models.PositiveSmallIntegerField(default=2)
    cooldown_seconds = models.PositiveIntegerField(default=3600)
    is_active = models.BooleanField(default=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "watched_topics"
        constraints = [
            models.UniqueConstraint(fields=["user", "topic", "webhook_url"], name="watched_topics_user_topic_url")
        ]
        indexes = [models.Index(fields=["topic", "is_active"], name="watched_topics_topic_active")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.topic} → {self.webhook_url}"


class AlertDelivery(models.Model):
    """One delivery attempt. Rows are only ever inserted (a trigger refuses UPDATE and DELETE)."""

    watched_topic = models.ForeignKey(WatchedTopic, on_delete=models.DO_NOTHING, db_constraint=False)
    firing_id = models.UUIDField(db_index=True)
    attempt = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2048)
    payload = models.JSONField()
    status_code = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "alert_deliveries"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.firing_id}#{self.attempt} → {self.status_code or self.error[:40]}"


class AlertFiring(models.Model):
    """One claimed firing of a watch and where its delivery stands.

    The evaluator inserts a row after winning the conditional UPDATE on watched_topics; delivery
    attempts move it from pending to delivered, or to failed after the last attempt. The beat sweep
    re-enqueues pending rows whose next_attempt_at has passed (a lost task, a restarted worker) and
    delivering rows whose claim expired (a worker killed mid-request).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True)
    watched_topic = models.ForeignKey(WatchedTopic, on_delete=models.CASCADE, related_name="firings")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_firings"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="alert_firings_due",
                condition=models.Q(status__in=["pending", "delivering"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status} ({self.attempts} attempts)"
