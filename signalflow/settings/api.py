"""REST framework, JWT, OpenAPI, response caching, throttling and the WebSocket feed."""

from datetime import timedelta

from .env import env_int, env_str

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # These classes read their rate from the settings below at request time, so an operator (or a
    # test's override_settings) changes it without DRF's import-time copy getting in the way.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.api.throttling.UserThrottle",
        "apps.api.throttling.AnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": None, "anon": None},
    "EXCEPTION_HANDLER": "apps.api.errors.exception_handler",
}

# "<requests>/<second|minute|hour|day>", per authenticated user (per IP for anonymous callers).
API_THROTTLE_USER_RATE = env_str("SIGNALFLOW_THROTTLE_USER", "600/min")
API_THROTTLE_ANON_RATE = env_str("SIGNALFLOW_THROTTLE_ANON", "60/min")

# Seconds each cached endpoint keeps its answer in Redis (0 turns that endpoint's cache off).
API_CACHE_TTL = {
    "trending": env_int("SIGNALFLOW_API_CACHE_TRENDING_S", 120),
    "pulse": env_int("SIGNALFLOW_API_CACHE_PULSE_S", 300),
    "divergence_leaderboard": env_int("SIGNALFLOW_API_CACHE_DIVERGENCE_S", 60),
    "stats_totals": env_int("SIGNALFLOW_API_CACHE_TOTALS_S", 300),
}

# The /ws/signals/ feed: how long an unauthenticated socket may wait for {"action": "auth"}.
WS_AUTH_TIMEOUT_S = env_int("SIGNALFLOW_WS_AUTH_TIMEOUT_S", 10)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("SIGNALFLOW_JWT_ACCESS_MINUTES", 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("SIGNALFLOW_JWT_REFRESH_DAYS", 7)),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SignalFlow API",
    "DESCRIPTION": "Trending topics, cross-platform sentiment and divergence over public social conversation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
