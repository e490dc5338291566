"""WebSocket routes; apps/api owns the consumers."""

from apps.api.routing import websocket_urlpatterns

__all__ = ["websocket_urlpatterns"]
