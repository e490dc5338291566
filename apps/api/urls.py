"""HTTP routes of the API app: REST under /api/v1/, tokens, the OpenAPI schema and its docs pages."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.api import views

v1 = [
    path("trending/", views.TrendingView.as_view(), name="api-trending"),
    path("pulse/", views.PulseView.as_view(), name="api-pulse"),
    path("divergence/leaderboard/", views.DivergenceLeaderboardView.as_view(), name="api-divergence-leaderboard"),
    path("compare/", views.CompareView.as_view(), name="api-compare"),
    path("alerts/watch/", views.WatchView.as_view(), name="api-alerts-watch"),
    path("alerts/watch/<int:watch_id>/", views.WatchDetailView.as_view(), name="api-alerts-watch-detail"),
    path("signals/", views.SignalsView.as_view(), name="api-signals"),
    path("stats/totals/", views.TotalsView.as_view(), name="api-stats-totals"),
    path("dlq/", views.DeadLettersView.as_view(), name="api-dlq"),
    path("dlq/<int:dead_letter_id>/replay/", views.DeadLetterReplayView.as_view(), name="api-dlq-replay"),
]

urlpatterns = [
    path("api/token/", views.TokenView.as_view(), name="api-token"),
    path("api/token/refresh/", views.TokenRefresh.as_view(), name="api-token-refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    *(path(f"api/v1/{p.pattern}", p.callback, name=p.name) for p in v1),
]
