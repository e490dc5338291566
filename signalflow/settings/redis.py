"""Redis: one database per subsystem (DESIGN.md): 0 Celery, 1 API cache, 2 Channels, 3 NLP caches."""

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
        "CONFIG": {"hosts": [REDIS_CHANNELS_URL], "capacity": 1000, "expiry": 30},
    }
}
