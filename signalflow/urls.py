"""Root URLs: admin, health, and each app's own routes."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from signalflow.metrics import metrics_view


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: answers without touching any dependency."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("dashboard/", include("apps.api.dashboard.urls")),
    path("", include("apps.api.urls")),
]
