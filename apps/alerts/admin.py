"""Admin for webhook subscriptions, firings, and the read-only delivery audit."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.alerts.models import AlertDelivery, AlertFiring, WatchedTopic


@admin.register(WatchedTopic)
class WatchedTopicAdmin(admin.ModelAdmin):
    list_display = ("topic", "user", "webhook_url", "min_trending_score", "min_platforms", "is_active", "last_fired_at")
    list_filter = ("is_active",)
    search_fields = ("topic", "webhook_url", "user__username")
    readonly_fields = ("last_fired_at", "created_at")
    raw_id_fields = ("user",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    """Append-only in the database (a trigger refuses UPDATE and DELETE); read-only here too."""

    list_display = ("created_at", "watched_topic_id", "firing_id", "attempt", "status_code", "latency_ms", "succeeded")
    list_filter = ("succeeded",)
    search_fields = ("firing_id", "url", "error")
    date_hierarchy = "created_at"


@admin.register(AlertFiring)
class AlertFiringAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "watched_topic", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status",)
    search_fields = ("id", "watched_topic__topic")
