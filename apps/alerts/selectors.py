"""Reads of apps/alerts."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.alerts.models import AlertDelivery, AlertFiring, WatchedTopic


def watches_for_user(*, user_id: int) -> QuerySet[WatchedTopic]:
    return WatchedTopic.objects.filter(user_id=user_id).order_by("topic", "id")


def deliveries_for_firing(*, firing_id: str) -> QuerySet[AlertDelivery]:
    return AlertDelivery.objects.filter(firing_id=firing_id).order_by("attempt", "id")


def firings_due_ids(*, limit: int = 500) -> list[str]:
    """Firings whose next attempt is due, or whose delivering worker's claim expired (it died)."""
    from django.db.models import Q
    from django.utils import timezone

    now = timezone.now()
    due = AlertFiring.objects.filter(
        Q(status=AlertFiring.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=AlertFiring.Status.DELIVERING, claimed_until__lt=now)
    ).order_by("next_attempt_at")
    return [str(pk) for pk in due.values_list("id", flat=True)[:limit]]
