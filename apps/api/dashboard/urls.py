"""The live dashboard (/dashboard/), served by Django."""

from django.urls import path

from apps.api.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_index, name="index"),
    path("topic/<str:topic>/", views.dashboard_topic, name="topic"),
]
