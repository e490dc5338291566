"""Settings of apps/nlp, read through signalflow/settings/env.py."""

from .env import env_bool, env_float, env_int, env_str  # noqa: F401
