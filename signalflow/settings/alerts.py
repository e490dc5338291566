"""Settings of apps/alerts (webhook alerts), read through signalflow/settings/env.py."""

from .env import env_float, env_int, env_list, env_str

# Hosts (exact names) or networks (CIDR) a webhook may point at even though they are private,
# loopback or otherwise non-public: a local receiver in tests, an internal relay in production.
ALERTS_WEBHOOK_ALLOWLIST = env_list("SIGNALFLOW_WEBHOOK_ALLOWLIST", [])
# "1"/"0" forces it; unset means https is required whenever DEBUG is off (production, tests).
_https = env_str("SIGNALFLOW_WEBHOOK_REQUIRE_HTTPS", "").strip().lower()
ALERTS_WEBHOOK_REQUIRE_HTTPS = None if _https == "" else _https in {"1", "true", "yes", "on"}

ALERTS_WEBHOOK_CONNECT_TIMEOUT_S = env_float("SIGNALFLOW_WEBHOOK_CONNECT_TIMEOUT_S", 3.0)
ALERTS_WEBHOOK_TIMEOUT_S = env_float("SIGNALFLOW_WEBHOOK_TIMEOUT_S", 10.0)
# Attempts per firing, and the backoff between them: base * 2^(attempt-1), capped, ±20 % jitter.
ALERTS_WEBHOOK_MAX_ATTEMPTS = env_int("SIGNALFLOW_WEBHOOK_MAX_ATTEMPTS", 6)
ALERTS_WEBHOOK_BACKOFF_BASE_S = env_float("SIGNALFLOW_WEBHOOK_BACKOFF_BASE_S", 30.0)
ALERTS_WEBHOOK_BACKOFF_MAX_S = env_float("SIGNALFLOW_WEBHOOK_BACKOFF_MAX_S", 3600.0)
# Signatures older than this are to be refused by receivers (documented; sent as the timestamp).
ALERTS_WEBHOOK_TOLERANCE_S = env_int("SIGNALFLOW_WEBHOOK_TOLERANCE_S", 300)

# The evaluation window: trend and platform gates look at signals published this recently.
ALERTS_EVALUATE_WINDOW_MINUTES = env_int("SIGNALFLOW_ALERTS_WINDOW_MINUTES", 60)
# Maximum watches per user (a bound on what one account can make the evaluator do).
ALERTS_MAX_WATCHES_PER_USER = env_int("SIGNALFLOW_ALERTS_MAX_WATCHES_PER_USER", 50)
