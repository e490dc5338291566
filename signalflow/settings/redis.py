"""Redis: one database per subsystem (DESIGN.md): 0 Celery, 1 API cache, 2 Channels, 3 NLP caches.

DB 4 is the ingest seen-store (INGEST_REDIS_URL, settings/ingest.py).
"""

from .env import env_str, redis_db_url

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379")
REDIS_CELERY_URL = redis_db_url(REDIS_URL, 0)
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL", redis_db_url(REDIS_URL, 1))
REDIS_CHANNELS_URL = env_str("REDIS_CHANNELS_URL", redis_db_url(REDIS_URL, 2))
REDIS_NLP_URL = env_str("REDIS_NLP_URL", redis_db_url(REDIS_URL, 3))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": "sf",
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # socket_timeout None: redis-py 8 defaults it to 5 s, which aborts the layer's blocking
        # BZPOPMIN and drops every idle WebSocket consumer (django/channels_redis#422).
        "CONFIG": {
            "hosts": [{"address": REDIS_CHANNELS_URL, "socket_timeout": None}],
            "capacity": 1000,
            "expiry": 30,
        },
    }
}
