"""Writes of apps/alerts: watches, evaluation (claiming firings) and webhook delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv6Address
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.alerts import metrics
from apps.alerts.models import AlertDelivery, AlertFiring, WatchedTopic
from apps.alerts.urlsafety import UnsafeWebhookURL, WebhookTarget, webhook_target_resolve

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-SignalFlow-Signature"
TIMESTAMP_HEADER = "X-SignalFlow-Timestamp"
FIRING_HEADER = "X-SignalFlow-Firing"
USER_AGENT = "SignalFlow-Webhooks/1.0"
MAX_ERROR_LENGTH = 2000
# Status codes worth another attempt; any other non-2xx is the receiver saying no.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class WatchError(ValueError):
    """A watch cannot be created as asked; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- watches ----------------------------------------------------------------------------------


def watch_create(
    *,
    user_id: int,
    topic: str,
    webhook_url: str,
    min_trending_score: float = 1.0,
    min_platforms: int = 2,
    cooldown_seconds: int = 3600,
    secret: str | None = None,
) -> WatchedTopic:
    """Save a webhook subscription after the SSRF check; the secret is generated when not given."""
    try:
        webhook_target_resolve(url=webhook_url)
    except UnsafeWebhookURL as exc:
        raise WatchError("webhook_url", str(exc).removeprefix("webhook_url: ")) from None
    if WatchedTopic.objects.filter(user_id=user_id).count() >= settings.ALERTS_MAX_WATCHES_PER_USER:
        raise WatchError("topic", f"at most {settings.ALERTS_MAX_WATCHES_PER_USER} watches per user")
    try:
        with transaction.atomic():
            return WatchedTopic.objects.create(
                user_id=user_id,
                topic=topic,
                webhook_url=webhook_url,
                secret=secret or secrets.token_urlsafe(32),
                min_trending_score=min_trending_score,
                min_platforms=min_platforms,
                cooldown_seconds=cooldown_seconds,
            )
    except IntegrityError:
        raise WatchError("webhook_url", "you already watch this topic with this URL") from None


def watch_delete(*, user_id: int, watch_id: int) -> bool:
    """Delete one of the user's watches (its audit rows stay); False when it is not theirs."""
    deleted, _ = WatchedTopic.objects.filter(user_id=user_id, pk=watch_id).delete()
    return deleted > 0


# --- evaluation -------------------------------------------------------------------------------

# One statement gates and claims: a watch fires when its topic's best trending score in the
# window reaches the threshold, on enough platforms, and its cooldown has passed. Concurrent
# evaluators serialise on the row lock; the loser re-checks the WHERE against the winner's
# committed last_fired_at (READ COMMITTED re-evaluation) and claims nothing.
EVALUATE_SQL = """
WITH watched AS (
    SELECT DISTINCT topic FROM watched_topics WHERE is_active
), activity AS (
    SELECT st.topic,
           count(DISTINCT st.platform)                        AS platform_count,
           count(*)                                           AS signal_count,
           max(s.trending_score)                              AS max_trending,
           array_agg(DISTINCT st.platform ORDER BY st.platform) AS platforms,
           avg(st.sentiment)                                  AS avg_sentiment
    FROM signal_topics st
    JOIN signals s ON s.id = st.signal_id
    WHERE st.topic IN (SELECT topic FROM watched)
      AND st.published_at > now() - make_interval(mins => %(window)s)
    GROUP BY st.topic
)
UPDATE watched_topics w
SET last_fired_at = now()
FROM activity a
WHERE w.is_active
  AND w.topic = a.topic
  AND a.max_trending >= w.min_trending_score
  AND a.platform_count >= w.min_platforms
  AND (w.last_fired_at IS NULL OR w.last_fired_at < now() - make_interval(secs => w.cooldown_seconds))
RETURNING w.id, w.topic, w.last_fired_at, a.platform_count, a.signal_count, a.max_trending,
          a.platforms, a.avg_sentiment
"""


def alerts_evaluate() -> list[str]:
    """Claim every watch whose gates pass, record a firing each, and enqueue their delivery.

    Returns the new firing ids. Runs in Celery after each aggregation, never in a request.
    """
    window = settings.ALERTS_EVALUATE_WINDOW_MINUTES
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(EVALUATE_SQL, {"window": window})
            columns = [c.name for c in cursor.description]
            claimed = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        firings = []
        for row in claimed:
            firing_id = uuid.uuid4()
            payload = {
                "event": "topic.trending",
                "firing_id": str(firing_id),
                "watch_id": row["id"],
                "topic": row["topic"],
                "fired_at": row["last_fired_at"].isoformat(),
                "window_minutes": window,
                "trending_score": round(float(row["max_trending"] or 0.0), 4),
                "platform_count": row["platform_count"],
                "platforms": list(row["platforms"]),
                "signal_count": row["signal_count"],
                "avg_sentiment": None if row["avg_sentiment"] is None else round(float(row["avg_sentiment"]), 4),
            }
            firings.append(
                AlertFiring(
                    id=firing_id, watched_topic_id=row["id"], payload=payload, next_attempt_at=row["last_fired_at"]
                )
            )
        AlertFiring.objects.bulk_create(firings)
        ids = [str(f.id) for f in firings]
        if ids:
            metrics.FIRINGS.inc(len(ids))
            transaction.on_commit(lambda: _deliveries_enqueue(ids))
    return ids


def _deliveries_enqueue(firing_ids: list[str], countdown: float = 0) -> None:
    from apps.alerts.tasks import alerts_deliver

    for firing_id in firing_ids:
        alerts_deliver.apply_async((firing_id,), countdown=countdown)


def firings_due_enqueue() -> int:
    """The beat sweep: enqueue delivery of every firing that is due (or whose worker died)."""
    from apps.alerts.selectors import firings_due_ids

    ids = firings_due_ids()
    _deliveries_enqueue(ids)
    return len(ids)


# --- delivery ---------------------------------------------------------------------------------


def webhook_sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, as sent in X-SignalFlow-Signature ("sha256=<hex>")."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def backoff_seconds(*, attempt: int) -> float:
    """Delay before attempt `attempt + 1`: exponential from the base, capped, with ±20 % jitter."""
    base = settings.ALERTS_WEBHOOK_BACKOFF_BASE_S * (2 ** max(0, attempt - 1))
    return min(settings.ALERTS_WEBHOOK_BACKOFF_MAX_S, base) * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class DeliveryResult:
    firing_id: str
    status: str  # the firing's status after this attempt ("skipped" when it was not ours to send)
    attempt: int = 0
    outcome: str = ""
    retry_in: float | None = None


def _pinned_url(target: WebhookTarget) -> str:
    """The URL with its host replaced by the checked address, so DNS cannot change under us."""
    parts = urlsplit(target.url)
    address = target.pinned
    host = f"[{address}]" if isinstance(address, IPv6Address) else str(address)
    return urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


def _host_header(target: WebhookTarget) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def _claim(firing_id: str, hold_seconds: float) -> int | None:
    """Take the firing for one attempt (one conditional UPDATE); None when it is not due or taken."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE alert_firings
            SET status = 'delivering', attempts = attempts + 1,
                claimed_until = clock_timestamp() + make_interval(secs => %(hold)s)
            WHERE id = %(id)s
              AND ((status = 'pending' AND next_attempt_at <= clock_timestamp())
                   OR (status = 'delivering' AND claimed_until < clock_timestamp()))
            RETURNING attempts
            """,
            {"id": firing_id, "hold": hold_seconds},
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _send(target: WebhookTarget, body: bytes, headers: dict[str, str]) -> httpx.Response:
    timeout = httpx.Timeout(settings.ALERTS_WEBHOOK_TIMEOUT_S, connect=settings.ALERTS_WEBHOOK_CONNECT_TIMEOUT_S)
    extensions: dict[str, Any] = {"sni_hostname": target.host} if target.scheme == "https" else {}
    # trust_env off: no proxy from the environment may route around the address check.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        request = client.build_request(
            "POST", _pinned_url(target), content=body, headers=headers, extensions=extensions
        )
        return client.send(request)


def firing_deliver(*, firing_id: str) -> DeliveryResult:
    """One delivery attempt of a firing, appended to alert_deliveries; says when to retry, if ever."""
    hold = settings.ALERTS_WEBHOOK_TIMEOUT_S + settings.ALERTS_WEBHOOK_CONNECT_TIMEOUT_S + 30
    attempt = _claim(firing_id, hold)
    if attempt is None:
        return DeliveryResult(firing_id=firing_id, status="skipped")
    firing = AlertFiring.objects.select_related("watched_topic").filter(pk=firing_id).first()
    if firing is None:  # its watch was deleted since the claim (the firing went with it)
        return DeliveryResult(firing_id=firing_id, status="skipped")
    watch = firing.watched_topic
    body = json.dumps(firing.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_sign(secret=watch.secret, timestamp=timestamp, body=body),
        FIRING_HEADER: f"{firing_id}; attempt={attempt}",
    }
    status_code: int | None = None
    error = ""
    retryable = True
    started = time.monotonic()
    try:
        if not watch.is_active:
            raise UnsafeWebhookURL("watch is no longer active")
        target = webhook_target_resolve(url=watch.webhook_url)
        headers["Host"] = _host_header(target)
        response = _send(target, body, headers)
        status_code = response.status_code
        if 200 <= status_code < 300:
            outcome = "delivered"
        elif 300 <= status_code < 400:
            # Following would let a receiver point us anywhere; a redirect is a misconfiguration.
            outcome, retryable = "redirect", False
            error = f"redirect to {response.headers.get('location', '?')[:200]} not followed"
        else:
            outcome, retryable = "http_error", status_code in RETRYABLE_STATUS
            error = f"HTTP {status_code}: {response.text[:200]}"
    except UnsafeWebhookURL as exc:
        outcome, error = "blocked", str(exc)
        # A name that stopped resolving may come back; an address that is unsafe will not.
        retryable = "does not resolve" in error
        if retryable:
            outcome = "unresolvable"
    except httpx.TimeoutException as exc:
        outcome, error = "timeout", f"timeout: {exc!r}"[:MAX_ERROR_LENGTH]
    except httpx.HTTPError as exc:
        outcome, error = "connection_error", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
    latency_ms = int((time.monotonic() - started) * 1000)
    metrics.WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if status_code is not None:
        metrics.WEBHOOK_LATENCY.observe(latency_ms / 1000)

    succeeded = outcome == "delivered"
    now = timezone.now()
    retry_in: float | None = None
    with transaction.atomic():
        AlertDelivery.objects.create(
            watched_topic_id=watch.pk,
            firing_id=firing.pk,
            attempt=attempt,
            url=watch.webhook_url,
            payload=firing.payload,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error[:MAX_ERROR_LENGTH],
            succeeded=succeeded,
        )
        if succeeded:
            firing.status, firing.finished_at = AlertFiring.Status.DELIVERED, now
        elif retryable and attempt < settings.ALERTS_WEBHOOK_MAX_ATTEMPTS:
            retry_in = backoff_seconds(attempt=attempt)
            firing.status = AlertFiring.Status.PENDING
            firing.next_attempt_at = now + timedelta(seconds=retry_in)
        else:
            firing.status, firing.finished_at = AlertFiring.Status.FAILED, now
        firing.claimed_until = None
        firing.last_error = error[:MAX_ERROR_LENGTH]
        firing.save(update_fields=["status", "finished_at", "next_attempt_at", "claimed_until", "last_error"])
    if not succeeded:
        logger.info("webhook %s attempt %s: %s %s", firing_id, attempt, outcome, error[:200])
    return DeliveryResult(
        firing_id=firing_id, status=firing.status, attempt=attempt, outcome=outcome, retry_in=retry_in
    )
