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
SIGNALFLOW_TOPICS_BATCH_SIZE = env_int("SIGNALFLOW_TOPICS_BATCH_SIZE", 64)
SIGNALFLOW_TOPICS_MAX_CHARS = env_int("SIGNALFLOW_TOPICS_MAX_CHARS", 3000)
