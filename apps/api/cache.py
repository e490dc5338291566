"""Response caching in Redis (Django's cache = Redis DB 1, KEY_PREFIX set in settings).

Keys are the endpoint plus its normalised parameters (validated, defaults filled, sorted), so
`?limit=20` and no limit share one entry, and a user cannot grow the key space beyond what the
validators allow. Answers are shared between users: nothing cached here depends on who asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from apps.api import metrics

logger = logging.getLogger(__name__)

KEY_VERSION = "v1"


def cache_key(*, endpoint: str, params: dict[str, Any]) -> str:
    normalised = sorted((name, "" if value is None else str(value)) for name, value in params.items())
    return f"api:{KEY_VERSION}:{endpoint}:{urlencode(normalised)}"


def cached_compute(*, endpoint: str, params: dict[str, Any], compute: Callable[[], Any]) -> tuple[Any, bool]:
    """(answer, was_cached): the cached answer, or `compute()` stored for the endpoint's TTL."""
    ttl = settings.API_CACHE_TTL.get(endpoint, 0)
    if ttl <= 0:
        return compute(), False
    key = cache_key(endpoint=endpoint, params=params)
    try:
        cached = cache.get(key)
    except RedisError as exc:  # a cache outage slows the API down; it does not take it down
        logger.warning("API cache unavailable (%s); answering uncached", exc)
        metrics.CACHE_LOOKUPS.labels(endpoint=endpoint, result="error").inc()
        return compute(), False
    if cached is not None:
        metrics.CACHE_LOOKUPS.labels(endpoint=endpoint, result="hit").inc()
        return cached, True
    metrics.CACHE_LOOKUPS.labels(endpoint=endpoint, result="miss").inc()
    value = compute()
    try:
        cache.set(key, value, ttl)
    except RedisError as exc:
        logger.warning("API cache unavailable (%s); answer not stored", exc)
    return value, False
