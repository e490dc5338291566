"""The API's error shape: DRF's {"detail": ...}, plus "parameter" when one query parameter is at fault."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.api.params import ParameterError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ParameterError):
        response.data["parameter"] = exc.parameter
    return response
