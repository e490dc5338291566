"""The one way settings read the environment.

Every setting goes through these helpers so that a missing required value fails loudly at
start-up with the variable's name, and a malformed one says what was expected.
"""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ImproperlyConfiguredEnv(RuntimeError):
    """A required environment variable is missing or malformed."""


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or (required and value == ""):
        if required:
            raise ImproperlyConfiguredEnv(f"environment variable {name} is required and not set")
        return default if default is not None else ""
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"environment variable {name}={raw!r} is not an integer") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"environment variable {name}={raw!r} is not a number") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"environment variable {name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_numbered(prefix: str) -> list[str]:
    """Values of PREFIX_1, PREFIX_2, … (stops at the first gap), plus PREFIX itself if set."""
    values = []
    single = os.environ.get(prefix)
    if single:
        values.append(single)
    index = 1
    while (value := os.environ.get(f"{prefix}_{index}")) is not None:
        if value:
            values.append(value)
        index += 1
    return values


def redis_db_url(base: str, db: int) -> str:
    """REDIS_URL with the database number replaced: each subsystem owns one Redis DB."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
