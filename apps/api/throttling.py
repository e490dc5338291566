"""Per-user (per-IP for anonymous callers) throttles: fixed-window counters in Redis, rates from settings.

DRF's stock throttles keep every request's timestamp in one cached list per caller and rewrite
it on each request, so their cost grows with the rate (at 600/min, ~600 floats pickled both
ways per request). A fixed window costs one ADD and one INCR whatever the rate; the price is
that a caller may spend up to twice the rate across a window boundary. The rate is read from
settings on each request, so operators (and tests) change it without DRF's import-time copy.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.api.cache import api_redis, key_prefix

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """'600/min' → (600, 60); the period's first letter decides (s, m, h, d)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


class FixedWindowThrottle(BaseThrottle):
    scope = ""
    setting = ""

    def __init__(self) -> None:
        self._wait = 0.0

    def ident_for(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        ident = self.ident_for(request)
        if ident is None:
            return True
        limit, period = rate_parse(getattr(settings, self.setting))
        now = time.time()
        window = int(now // period)
        key = f"{key_prefix()}:throttle:{self.scope}:{ident}:{period}:{window}"
        try:
            pipe = api_redis().pipeline(transaction=False)
            pipe.set(key, 0, ex=period + 1, nx=True)
            pipe.incr(key)
            count = pipe.execute()[1]
        except RedisError as exc:
            logger.warning("throttle counters unavailable (%s); request let through", exc)
            return True
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float:
        return max(1.0, self._wait)


class UserThrottle(FixedWindowThrottle):
    scope = "user"
    setting = "API_THROTTLE_USER_RATE"

    def ident_for(self, request: Request) -> str | None:
        user = getattr(request, "user", None)
        return str(user.pk) if user is not None and user.is_authenticated else None


class AnonThrottle(FixedWindowThrottle):
    scope = "anon"
    setting = "API_THROTTLE_ANON_RATE"

    def ident_for(self, request: Request) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return self.get_ident(request)
