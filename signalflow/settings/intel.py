"""Settings of apps/intel, read through signalflow/settings/env.py.

Beat intervals, thresholds and windows are environment knobs because the demo runs them at a
much faster pace than production (a divergence and summaries within two minutes).
"""

from .base import BASE_DIR
from .env import env_float, env_int, env_list, env_str

# Beat intervals (seconds).
SIGNALFLOW_AGGREGATE_EVERY_S = env_int("SIGNALFLOW_AGGREGATE_EVERY_S", 60)
SIGNALFLOW_DIVERGENCE_EVERY_S = env_int("SIGNALFLOW_DIVERGENCE_EVERY_S", 900)
SIGNALFLOW_SUMMARY_EVERY_S = env_int("SIGNALFLOW_SUMMARY_EVERY_S", 900)
SIGNALFLOW_DISK_CHECK_EVERY_S = env_int("SIGNALFLOW_DISK_CHECK_EVERY_S", 300)
SIGNALFLOW_ARCHIVE_EVERY_S = env_int("SIGNALFLOW_ARCHIVE_EVERY_S", 86_400)

# Aggregator: buckets touched by signals written since (watermark - lag) are recomputed, so a
# transaction that commits up to this long after it stamped its rows is still counted.
SIGNALFLOW_AGGREGATE_LAG_S = env_int("SIGNALFLOW_AGGREGATE_LAG_S", 120)

# Divergence detector.
SIGNALFLOW_DIVERGENCE_LOOKBACK_S = env_int("SIGNALFLOW_DIVERGENCE_LOOKBACK_S", 86_400)
SIGNALFLOW_DIVERGENCE_MIN_SIGNALS = env_int("SIGNALFLOW_DIVERGENCE_MIN_SIGNALS", 15)
SIGNALFLOW_DIVERGENCE_MIN_GAP = env_float("SIGNALFLOW_DIVERGENCE_MIN_GAP", 0.3)
SIGNALFLOW_DIVERGENCE_MAX_P = env_float("SIGNALFLOW_DIVERGENCE_MAX_P", 0.05)
SIGNALFLOW_DIVERGENCE_RESOLVE_GAP = env_float("SIGNALFLOW_DIVERGENCE_RESOLVE_GAP", 0.15)
SIGNALFLOW_DIVERGENCE_RESOLVE_MIN_SIGNALS = env_int("SIGNALFLOW_DIVERGENCE_RESOLVE_MIN_SIGNALS", 5)

# Summariser.
SIGNALFLOW_SUMMARY_WINDOW = env_str("SIGNALFLOW_SUMMARY_WINDOW", "24h")
SIGNALFLOW_SUMMARY_WINDOW_S = env_int("SIGNALFLOW_SUMMARY_WINDOW_S", 86_400)
SIGNALFLOW_SUMMARY_MIN_SIGNALS = env_int("SIGNALFLOW_SUMMARY_MIN_SIGNALS", 20)
SIGNALFLOW_SUMMARY_MAX_TOPICS = env_int("SIGNALFLOW_SUMMARY_MAX_TOPICS", 25)
SIGNALFLOW_SUMMARY_PER_PLATFORM = env_int("SIGNALFLOW_SUMMARY_PER_PLATFORM", 6)
SIGNALFLOW_SUMMARY_SIGNAL_CHARS = env_int("SIGNALFLOW_SUMMARY_SIGNAL_CHARS", 280)
SIGNALFLOW_SUMMARY_PROMPT_CHARS = env_int("SIGNALFLOW_SUMMARY_PROMPT_CHARS", 6_000)

# LLM providers: auto picks Groq (any GROQ_API_KEY_n), then OpenAI, then Anthropic, else the
# offline extractive summariser. Base URLs are empty for the providers' own endpoints.
SIGNALFLOW_LLM_PROVIDER = env_str("SIGNALFLOW_LLM_PROVIDER", "auto")
SIGNALFLOW_LLM_TIMEOUT_S = env_float("SIGNALFLOW_LLM_TIMEOUT_S", 30.0)
SIGNALFLOW_LLM_SPACING_S = env_float("SIGNALFLOW_LLM_SPACING_S", 2.0)
SIGNALFLOW_LLM_RETRY_AFTER_MAX_S = env_float("SIGNALFLOW_LLM_RETRY_AFTER_MAX_S", 60.0)
SIGNALFLOW_LLM_MAX_TOKENS = env_int("SIGNALFLOW_LLM_MAX_TOKENS", 600)
GROQ_MODEL = env_str("GROQ_MODEL", "llama-3.3-70b-versatile")
GROQ_BASE_URL = env_str("GROQ_BASE_URL", "")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "")
ANTHROPIC_MODEL = env_str("ANTHROPIC_MODEL", "claude-3-5-haiku-latest")
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL", "")

# Archive: Parquet files partitioned by day; the disk check warns at this used ratio.
SIGNALFLOW_ARCHIVE_DIR = env_str("SIGNALFLOW_ARCHIVE_DIR", str(BASE_DIR / "var" / "archive"))
SIGNALFLOW_ARCHIVE_AFTER_DAYS = env_int("SIGNALFLOW_ARCHIVE_AFTER_DAYS", 90)
SIGNALFLOW_ARCHIVE_BATCH = env_int("SIGNALFLOW_ARCHIVE_BATCH", 20_000)
SIGNALFLOW_DISK_WARN_RATIO = env_float("SIGNALFLOW_DISK_WARN_RATIO", 0.70)
# Filesystems to watch; empty means the archive directory's filesystem.
SIGNALFLOW_DISK_CHECK_PATHS = env_list("SIGNALFLOW_DISK_CHECK_PATHS", [])
