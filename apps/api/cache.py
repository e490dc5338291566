"""Response caching in Redis DB 1 (the cache database; keys under the cache KEY_PREFIX).

Keys are the endpoint plus its normalised parameters (validated, defaults filled, sorted), so
`?limit=20` and no limit share one entry, and a user cannot grow the key space beyond what the
validators allow. Answers are shared between users: nothing cached here depends on who asks.

One Redis client (one connection pool) per process, not Django's cache object: under ASGI each
request runs in a fresh thread context, and Django's per-context cache instances would open a
new Redis connection for every request (measured: one per request under Daphne). Values are
JSON, not pickles.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import redis
from django.conf import settings
from redis.exceptions import RedisError

from apps.api import metrics

logger = logging.getLogger(__name__)

KEY_VERSION = "v1"
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def api_redis() -> redis.Redis:
    """The process-wide client of the cache database (thread-safe; short timeouts so an outage is quick)."""
    url = settings.REDIS_CACHE_URL
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url)
            if client is None:
                client = redis.Redis.from_url(
                    url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
                )
                _clients[url] = client
    return client


def key_prefix() -> str:
    return settings.CACHES["default"].get("KEY_PREFIX") or "sf"


def cache_key(*, endpoint: str, params: dict[str, Any]) -> str:
    normalised = sorted((name, "" if value is None else str(value)) for name, value in params.items())
    return f"{key_prefix()}:api:{KEY_VERSION}:{endpoint}:{urlencode(normalised)}"


def cached_compute(*, endpoint: str, params: dict[str, Any], compute: Callable[[], Any]) -> tuple[Any, bool]:
    """(answer, was_cached): the cached answer, or `compute()` stored for the endpoint's TTL."""
    ttl = settings.API_CACHE_TTL.get(endpoint, 0)
    if ttl <= 0:
        return compute(), False
    key = cache_key(endpoint=endpoint, params=params)
    try:
        cached = api_redis().get(key)
    except RedisError as exc:  # a cache outage slows the API down; it does not take it down
        logger.warning("API cache unavailable (%s); answering uncached", exc)
        metrics.CACHE_LOOKUPS.labels(endpoint=endpoint, result="error").inc()
        return compute(), False
    if cached is not None:
        metrics.CACHE_LOOKUPS.labels(endpoint=endpoint, result="hit").inc()
        return json.loads(cached), True
    metrics.CACHE_LOOKUPS.labels(endpoint=endpoint, result="miss").inc()
    value = compute()
    try:
        api_redis().set(key, json.dumps(value, separators=(",", ":"), default=str), ex=ttl)
    except RedisError as exc:
        logger.warning("API cache unavailable (%s); answer not stored", exc)
    return value, False
