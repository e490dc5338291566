"""WebSocket URL patterns served by the ASGI app."""

websocket_urlpatterns: list = []
