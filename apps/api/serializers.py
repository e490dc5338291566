"""Request bodies and response shapes (the latter for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.alerts.models import WatchedTopic
from apps.api.params import MAX_TOPIC_LENGTH
from apps.nlp.models import DeadLetter

DLQ_PREVIEW_CHARS = 2000


class WatchCreateSerializer(serializers.Serializer):
    topic = serializers.CharField(max_length=MAX_TOPIC_LENGTH, trim_whitespace=True)
    webhook_url = serializers.CharField(max_length=2048, trim_whitespace=True)
    min_trending_score = serializers.FloatField(default=1.0, min_value=0.0, max_value=1_000_000.0)
    min_platforms = serializers.IntegerField(default=2, min_value=1, max_value=4)
    cooldown_seconds = serializers.IntegerField(default=3600, min_value=60, max_value=30 * 86400)
    secret = serializers.CharField(
        required=False, min_length=16, max_length=128, help_text="HMAC key; generated when omitted"
    )

    def validate_topic(self, value: str) -> str:
        return value.lower()  # the pipeline stores topics in canonical lower case


class WatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = WatchedTopic
        fields = (
            "id",
            "topic",
            "webhook_url",
            "min_trending_score",
            "min_platforms",
            "cooldown_seconds",
            "is_active",
            "last_fired_at",
            "created_at",
        )


class WatchCreatedSerializer(WatchSerializer):
    """The create answer is the only one that shows the signing secret."""

    class Meta(WatchSerializer.Meta):
        fields = (*WatchSerializer.Meta.fields, "secret")


class DeadLetterSerializer(serializers.ModelSerializer):
    payload_preview = serializers.SerializerMethodField()
    payload_bytes = serializers.SerializerMethodField()

    class Meta:
        model = DeadLetter
        fields = (
            "id",
            "topic",
            "partition",
            "offset",
            "key",
            "error",
            "error_type",
            "created_at",
            "replayed_at",
            "replay_count",
            "payload_bytes",
            "payload_preview",
        )

    def get_payload_preview(self, letter: DeadLetter) -> str:
        return bytes(letter.payload[: DLQ_PREVIEW_CHARS * 4]).decode("utf-8", errors="replace")[:DLQ_PREVIEW_CHARS]

    def get_payload_bytes(self, letter: DeadLetter) -> int:
        return len(letter.payload)


class SignalSerializer(serializers.Serializer):
    """A stored signal in the feed (fields of apps.api.selectors.FEED_FIELDS)."""

    id = serializers.CharField()
    platform = serializers.CharField()
    source_id = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    author = serializers.CharField()
    community = serializers.CharField()
    published_at = serializers.DateTimeField()
    raw_score = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    is_comment = serializers.BooleanField()
    language = serializers.CharField()
    sentiment_compound = serializers.FloatField(allow_null=True)
    sentiment_label = serializers.CharField(allow_null=True)
    sentiment_model = serializers.CharField(allow_null=True)
    topics = serializers.ListField(child=serializers.CharField())
    velocity = serializers.FloatField()
    trending_score = serializers.FloatField()
    is_trending = serializers.BooleanField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return super().to_representation(instance)
