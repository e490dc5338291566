"""Query-parameter parsing: every parameter is validated, and a bad one is a 400 that names it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import status
from rest_framework.exceptions import APIException

from signalflow.signal import Platform

PLATFORMS = tuple(p.value for p in Platform)
WINDOWS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
MAX_TOPIC_LENGTH = 100
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


class ParameterError(APIException):
    """400 naming the offending parameter: {"detail": "<name>: <why>", "parameter": "<name>"}."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.parameter = name


class Params:
    """The request's query parameters, restricted to `allowed`; each getter validates one."""

    def __init__(self, query: Any, *, allowed: Iterable[str]) -> None:
        self.allowed = set(allowed) | {"format"}
        for name in query:
            if name not in self.allowed:
                raise ParameterError(name, f"unknown parameter (expected one of {', '.join(sorted(self.allowed))})")
            if len(query.getlist(name)) > 1:
                raise ParameterError(name, "given more than once")
        self.query = query

    def _raw(self, name: str) -> str | None:
        value = self.query.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def choice(self, name: str, choices: Iterable[str], *, default: str | None = None) -> str | None:
        value = self._raw(name)
        if value is None:
            return default
        options = tuple(choices)
        if value.lower() not in options:
            raise ParameterError(name, f"{value[:40]!r} is not one of {', '.join(options)}")
        return value.lower()

    def integer(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ParameterError(name, f"{value[:40]!r} is not an integer") from None
        if not minimum <= number <= maximum:
            raise ParameterError(name, f"must be between {minimum} and {maximum}")
        return number

    def boolean(self, name: str) -> bool | None:
        value = self._raw(name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ParameterError(name, f"{value[:40]!r} is not a boolean (true or false)")

    def topic(self, name: str = "topic", *, required: bool = False) -> str | None:
        value = self._raw(name)
        if value is None:
            if required:
                raise ParameterError(name, "required")
            return None
        if len(value) > MAX_TOPIC_LENGTH:
            raise ParameterError(name, f"longer than {MAX_TOPIC_LENGTH} characters")
        if any(ord(ch) < 0x20 for ch in value):
            raise ParameterError(name, "contains control characters")
        return value.lower()  # the pipeline stores topics in canonical lower case

    def platform(self, name: str = "platform") -> str | None:
        return self.choice(name, PLATFORMS)

    def window(self, name: str = "window", *, default: str = "24h") -> str:
        return self.choice(name, WINDOWS, default=default) or default

    def timestamp(self, name: str) -> datetime | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            parsed = parse_datetime(value.replace(" ", "+"))  # '+' in an unencoded query arrives as ' '
        except ValueError:
            parsed = None
        if parsed is None:
            raise ParameterError(name, f"{value[:40]!r} is not an ISO-8601 date-time")
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.UTC)
        return parsed
