"""Admin for models the operators manage through the API's process: sources and dead letters.

apps.ingest and apps.nlp own these models and may register them themselves; they are loaded
first (INSTALLED_APPS order), so a registration there wins and nothing here is registered twice.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.exceptions import APIException

from apps.api.services import dead_letter_replay
from apps.ingest.models import SourceConfig
from apps.nlp.models import DeadLetter


class SourceConfigAdmin(admin.ModelAdmin):
    """Running sources pick edits up within 60 s."""

    list_display = ("platform", "identifier", "label", "poll_interval_seconds", "is_active", "updated_at")
    list_filter = ("platform", "is_active", "label")
    list_editable = ("is_active", "poll_interval_seconds")
    search_fields = ("identifier", "label")


@admin.action(description="Replay the selected dead letters to their source topic")
def replay_dead_letters(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
    done, failed = 0, []
    for letter_id in queryset.values_list("pk", flat=True):
        try:
            dead_letter_replay(dead_letter_id=letter_id)
            done += 1
        except APIException as exc:
            failed.append(f"#{letter_id}: {exc.detail}")
    if done:
        modeladmin.message_user(request, f"Replayed {done} dead letter(s).", messages.SUCCESS)
    for line in failed[:10]:
        modeladmin.message_user(request, line, messages.ERROR)


class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("created_at", "topic", "partition", "offset", "error_type", "short_error", "replay_count")
    list_filter = ("topic", "error_type")
    search_fields = ("error", "key")
    readonly_fields = [f.name for f in DeadLetter._meta.fields] + ["payload_text"]
    exclude = ("payload",)
    actions = [replay_dead_letters]
    date_hierarchy = "created_at"

    @admin.display(description="error")
    def short_error(self, letter: DeadLetter) -> str:
        return letter.error[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


for model, model_admin in ((SourceConfig, SourceConfigAdmin), (DeadLetter, DeadLetterAdmin)):
    if not admin.site.is_registered(model):
        admin.site.register(model, model_admin)
