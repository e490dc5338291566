"""Settings of apps/nlp, read through signalflow/settings/env.py."""

from .env import env_bool, env_float, env_int, env_str  # noqa: F401

# --- Model stages (apps/nlp/sentiment.py, topics.py, language.py); docs/nlp-models.md describes each knob.
# SIGNALFLOW_SENTIMENT_MODEL and SIGNALFLOW_SPACY_MODEL are in pipeline.py.
SIGNALFLOW_SENTIMENT_DEVICE = env_str("SIGNALFLOW_SENTIMENT_DEVICE", "auto")  # auto | cpu | cuda | cuda:N
SIGNALFLOW_SENTIMENT_BATCH_SIZE = env_int("SIGNALFLOW_SENTIMENT_BATCH_SIZE", 32)
SIGNALFLOW_SENTIMENT_MAX_TOKENS = env_int("SIGNALFLOW_SENTIMENT_MAX_TOKENS", 256)
# Languages the configured transformer reads; a multilingual model lists more (or "*"), and then scores them.
SIGNALFLOW_SENTIMENT_LANGUAGES = env_str("SIGNALFLOW_SENTIMENT_LANGUAGES", "en")
SIGNALFLOW_SENTIMENT_RETRY_SECONDS = env_float("SIGNALFLOW_SENTIMENT_RETRY_SECONDS", 300.0)
SIGNALFLOW_TORCH_THREADS = env_int("SIGNALFLOW_TORCH_THREADS", 0)  # 0: the CPUs this process may use
SIGNALFLOW_LANGUAGE_ACCURACY = env_str("SIGNALFLOW_LANGUAGE_ACCURACY", "high")  # high | low (less memory)
SIGNALFLOW_TOPICS_BATCH_SIZE = env_int("SIGNALFLOW_TOPICS_BATCH_SIZE", 64)
SIGNALFLOW_TOPICS_MAX_CHARS = env_int("SIGNALFLOW_TOPICS_MAX_CHARS", 3000)

# --- Pipeline (apps/nlp/bridge.py, tasks.py, scoring.py, services.py); docs/processing.md describes each knob.
# Micro-batches close at this many signals, this many bytes of payload, or this many seconds after their first one.
SIGNALFLOW_BRIDGE_BATCH_SIZE = env_int("SIGNALFLOW_BRIDGE_BATCH_SIZE", 64)
SIGNALFLOW_BRIDGE_BATCH_MAX_BYTES = env_int("SIGNALFLOW_BRIDGE_BATCH_MAX_BYTES", 1_000_000)
SIGNALFLOW_BRIDGE_BATCH_SECONDS = env_float("SIGNALFLOW_BRIDGE_BATCH_SECONDS", 1.0)
# Batches dispatched and not yet stored; past it the bridge pauses its partitions (backpressure).
SIGNALFLOW_BRIDGE_MAX_IN_FLIGHT = env_int("SIGNALFLOW_BRIDGE_MAX_IN_FLIGHT", 8)
# A batch not stored within this many seconds is dispatched again (its worker is taken as dead).
SIGNALFLOW_BRIDGE_BATCH_TIMEOUT_SECONDS = env_float("SIGNALFLOW_BRIDGE_BATCH_TIMEOUT_SECONDS", 120.0)
# A batch whose task fails this many times is split into single messages; a single one goes to the DLQ.
SIGNALFLOW_BRIDGE_MAX_ATTEMPTS = env_int("SIGNALFLOW_BRIDGE_MAX_ATTEMPTS", 3)
# Circuit breaker: more bad messages than this in a row stop the bridge instead of draining the topic to the DLQ.
SIGNALFLOW_BRIDGE_DLQ_MAX_CONSECUTIVE = env_int("SIGNALFLOW_BRIDGE_DLQ_MAX_CONSECUTIVE", 100)
SIGNALFLOW_BRIDGE_COMMIT_INTERVAL_SECONDS = env_float("SIGNALFLOW_BRIDGE_COMMIT_INTERVAL_SECONDS", 0.5)
SIGNALFLOW_BRIDGE_LAG_INTERVAL_SECONDS = env_float("SIGNALFLOW_BRIDGE_LAG_INTERVAL_SECONDS", 10.0)
SIGNALFLOW_TASK_TIME_LIMIT_SECONDS = env_int("SIGNALFLOW_TASK_TIME_LIMIT_SECONDS", 300)
# Scores (apps/nlp/scoring.py): Redis keys live SIGNALFLOW_NLP_KEY_TTL_SECONDS after their last update.
SIGNALFLOW_NLP_KEY_PREFIX = env_str("SIGNALFLOW_NLP_KEY_PREFIX", "sf:nlp:")
SIGNALFLOW_NLP_KEY_TTL_SECONDS = env_int("SIGNALFLOW_NLP_KEY_TTL_SECONDS", 7 * 24 * 3600)
SIGNALFLOW_TRENDING_WINDOW_SECONDS = env_int("SIGNALFLOW_TRENDING_WINDOW_SECONDS", 3600)
SIGNALFLOW_TRENDING_HALF_LIFE_SECONDS = env_int("SIGNALFLOW_TRENDING_HALF_LIFE_SECONDS", 1800)
SIGNALFLOW_TRENDING_THRESHOLD = env_float("SIGNALFLOW_TRENDING_THRESHOLD", 10.0)
# Shortest age a first velocity is measured over, so a post seen a second after publication does not divide by ~0.
SIGNALFLOW_VELOCITY_MIN_HOURS = env_float("SIGNALFLOW_VELOCITY_MIN_HOURS", 0.25)
