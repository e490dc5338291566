"""WebSocket URL patterns served by the ASGI app (signalflow/asgi.py wraps them in the origin check)."""

from django.urls import path

from apps.api.consumers import SignalsConsumer
from apps.api.ws_auth import ws_auth_stack

websocket_urlpatterns: list = [
    path("ws/signals/", ws_auth_stack(SignalsConsumer.as_asgi())),
]
