"""REST views: parse and validate input, call a selector or service, shape the answer. No queries here."""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apps.alerts import selectors as alert_selectors
from apps.alerts import services as alert_services
from apps.api import metrics, selectors
from apps.api.cache import cached_compute
from apps.api.params import PLATFORMS, WINDOWS, ParameterError, Params
from apps.api.serializers import (
    DeadLetterSerializer,
    SignalSerializer,
    WatchCreatedSerializer,
    WatchCreateSerializer,
    WatchSerializer,
)

KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def _observe(request: HttpRequest, response: Any, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = (match.url_name if match else None) or "unknown"
    method = request.method if request.method in KNOWN_METHODS else "OTHER"
    metrics.REQUEST_DURATION.labels(route=route, method=method, status=str(response.status_code)).observe(
        time.perf_counter() - started
    )


class TimedMixin:
    """Records signalflow_api_request_duration_seconds for every request, errors included."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        _observe(request, response, started)
        return response


class ApiView(TimedMixin, APIView):
    pass


class TokenView(TimedMixin, TokenObtainPairView):
    """POST {username, password} → {access, refresh}."""


class TokenRefresh(TimedMixin, TokenRefreshView):
    """POST {refresh} → {access}."""


def _cached_response(endpoint: str, params: dict[str, Any], compute: Any) -> Response:
    data, hit = cached_compute(endpoint=endpoint, params=params, compute=compute)
    return Response(data, headers={"X-Cache": "HIT" if hit else "MISS"})


WINDOW_PARAM = OpenApiParameter("window", str, enum=list(WINDOWS), description="look-back window (default 24h)")
PLATFORM_PARAM = OpenApiParameter("platform", str, enum=list(PLATFORMS))
OBJECT = OpenApiTypes.OBJECT


class TrendingView(ApiView):
    @extend_schema(
        summary="Velocity-ranked topics with a 7-day sparkline (cached 120 s)",
        parameters=[
            WINDOW_PARAM,
            PLATFORM_PARAM,
            OpenApiParameter("limit", int, description="1-100, default 20"),
        ],
        responses=OBJECT,
    )
    def get(self, request: Request) -> Response:
        q = Params(request.query_params, allowed={"window", "platform", "limit"})
        args = {
            "window": q.window(),
            "platform": q.platform(),
            "limit": q.integer("limit", default=20, minimum=1, maximum=100),
        }

        def compute() -> dict[str, Any]:
            return {**args, "results": selectors.trending_topics(**args)}

        return _cached_response("trending", args, compute)


class PulseView(ApiView):
    @extend_schema(
        summary="A topic's sentiment per platform, posts vs comments, top signals, divergence, summary (cached 300 s)",
        parameters=[OpenApiParameter("topic", str, required=True), WINDOW_PARAM],
        responses=OBJECT,
    )
    def get(self, request: Request) -> Response:
        q = Params(request.query_params, allowed={"topic", "window"})
        args = {"topic": q.topic(required=True), "window": q.window()}
        return _cached_response("pulse", args, lambda: selectors.topic_pulse(**args))


class DivergenceLeaderboardView(ApiView):
    @extend_schema(
        summary="Top 10 open cross-platform disputes, one per topic, with severity (cached 60 s)", responses=OBJECT
    )
    def get(self, request: Request) -> Response:
        Params(request.query_params, allowed=())
        return _cached_response("divergence_leaderboard", {}, lambda: {"results": selectors.divergence_leaderboard()})


class CompareView(ApiView):
    @extend_schema(
        summary="Divergence events by topic and platform pair",
        parameters=[
            OpenApiParameter("topic", str),
            OpenApiParameter("platform_a", str, enum=list(PLATFORMS)),
            OpenApiParameter("platform_b", str, enum=list(PLATFORMS)),
            OpenApiParameter("status", str, enum=["open", "resolved", "all"], description="default all"),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("limit", int, description="1-500, default 100"),
        ],
        responses=OBJECT,
    )
    def get(self, request: Request) -> Response:
        q = Params(request.query_params, allowed={"topic", "platform_a", "platform_b", "status", "since", "limit"})
        platform_a, platform_b = q.platform("platform_a"), q.platform("platform_b")
        if platform_a and platform_a == platform_b:
            raise ParameterError("platform_b", "must differ from platform_a")
        data = selectors.divergence_compare(
            topic=q.topic(),
            platform_a=platform_a,
            platform_b=platform_b,
            status=q.choice("status", ("open", "resolved", "all"), default="all") or "all",
            since=q.timestamp("since"),
            limit=q.integer("limit", default=100, minimum=1, maximum=500),
        )
        return Response(data)


class SignalCursorPagination(CursorPagination):
    ordering = ("-published_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class SignalsView(ApiView):
    pagination_class = SignalCursorPagination

    @extend_schema(
        summary="The raw signal feed, newest first, cursor-paginated",
        parameters=[
            PLATFORM_PARAM,
            OpenApiParameter("topic", str),
            OpenApiParameter("trending", bool),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
            OpenApiParameter("limit", int, description="page size 1-200, default 50"),
            OpenApiParameter("cursor", str),
        ],
        responses=SignalSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        q = Params(request.query_params, allowed={"platform", "topic", "trending", "since", "until", "limit", "cursor"})
        q.integer("limit", default=50, minimum=1, maximum=200)
        since, until = q.timestamp("since"), q.timestamp("until")
        if since and until and until <= since:
            raise ParameterError("until", "must be after since")
        signals = selectors.signals_feed(
            platform=q.platform(), topic=q.topic(), trending=q.boolean("trending"), since=since, until=until
        )
        paginator = self.pagination_class()
        try:
            page = paginator.paginate_queryset(signals, request, view=self)
        except NotFound:
            raise ParameterError("cursor", "invalid or expired cursor") from None
        return paginator.get_paginated_response(SignalSerializer(page, many=True).data)


class TotalsView(ApiView):
    @extend_schema(summary="Signal counts per platform, all time and last 24 h (cached 300 s)", responses=OBJECT)
    def get(self, request: Request) -> Response:
        Params(request.query_params, allowed=())
        return _cached_response("stats_totals", {}, selectors.signal_totals)


class WatchView(ApiView):
    @extend_schema(summary="The caller's webhook subscriptions", responses=WatchSerializer(many=True))
    def get(self, request: Request) -> Response:
        Params(request.query_params, allowed=())
        watches = alert_selectors.watches_for_user(user_id=request.user.pk)
        return Response({"results": WatchSerializer(watches, many=True).data})

    @extend_schema(
        summary="Subscribe a webhook to a topic (URL checked against SSRF; the secret is shown once)",
        request=WatchCreateSerializer,
        responses={201: WatchCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        body = WatchCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            watch = alert_services.watch_create(user_id=request.user.pk, **body.validated_data)
        except alert_services.WatchError as exc:
            raise ParameterError(exc.field, exc.message) from None
        return Response(WatchCreatedSerializer(watch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete one of the caller's subscriptions (?id=); its delivery audit stays",
        parameters=[OpenApiParameter("id", int, required=True)],
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        q = Params(request.query_params, allowed={"id"})
        watch_id = q.integer("id", default=0, minimum=1, maximum=2**62)
        if not watch_id:
            raise ParameterError("id", "required")
        return _watch_delete(request, watch_id)


class WatchDetailView(ApiView):
    @extend_schema(
        operation_id="v1_alerts_watch_detail_destroy",
        summary="Delete one of the caller's subscriptions; its delivery audit stays",
        responses={204: None},
    )
    def delete(self, request: Request, watch_id: int) -> Response:
        Params(request.query_params, allowed=())
        return _watch_delete(request, watch_id)


def _watch_delete(request: Request, watch_id: int) -> Response:
    if not alert_services.watch_delete(user_id=request.user.pk, watch_id=watch_id):
        raise NotFound("no such watch")
    return Response(status=status.HTTP_204_NO_CONTENT)


class DeadLetterPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class DeadLettersView(ApiView):
    permission_classes = [IsAdminUser]
    pagination_class = DeadLetterPagination

    @extend_schema(
        summary="Dead letters, newest first (staff only)",
        parameters=[
            OpenApiParameter("topic", str, description="logical source topic"),
            OpenApiParameter("replayed", bool),
            OpenApiParameter("limit", int),
            OpenApiParameter("cursor", str),
        ],
        responses=DeadLetterSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        q = Params(request.query_params, allowed={"topic", "replayed", "limit", "cursor"})
        q.integer("limit", default=50, minimum=1, maximum=200)
        letters = selectors.dead_letters(topic=q.topic(), replayed=q.boolean("replayed"))
        paginator = self.pagination_class()
        try:
            page = paginator.paginate_queryset(letters, request, view=self)
        except NotFound:
            raise ParameterError("cursor", "invalid or expired cursor") from None
        return paginator.get_paginated_response(DeadLetterSerializer(page, many=True).data)


class DeadLetterReplayView(ApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Send a dead letter back to its source topic (staff only)", request=None, responses=DeadLetterSerializer
    )
    def post(self, request: Request, dead_letter_id: int) -> Response:
        if selectors.dead_letter_get(dead_letter_id=dead_letter_id) is None:
            raise NotFound("no such dead letter")
        from apps.api.services import dead_letter_replay

        dead_letter_replay(dead_letter_id=dead_letter_id)
        letter = selectors.dead_letter_get(dead_letter_id=dead_letter_id)
        return Response(DeadLetterSerializer(letter).data)
