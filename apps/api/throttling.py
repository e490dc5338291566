"""Per-user (and per-IP for anonymous callers) throttles whose rates come from settings at request time.

DRF copies DEFAULT_THROTTLE_RATES into the class when it is imported; reading the setting on
each request lets operators and tests change the rate without a restart of that import.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class UserThrottle(UserRateThrottle):
    scope = "user"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_USER_RATE


class AnonThrottle(AnonRateThrottle):
    scope = "anon"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_ANON_RATE
