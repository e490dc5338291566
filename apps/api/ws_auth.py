"""WebSocket authentication: a JWT access token from ?token=, else the Django session (dashboard).

Sockets that arrive with neither are still accepted by the consumer, which then waits briefly
for an {"action": "auth", "token": ...} first message (for clients that keep tokens out of URLs
and therefore out of access logs).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

MAX_TOKEN_LENGTH = 4096


class InvalidToken(Exception):
    """The token is malformed, expired, or names no active user."""


def _user_for_token(raw: str) -> Any:
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise InvalidToken("missing or oversized token")
    try:
        token = AccessToken(raw)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    user_id = token.get(jwt_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not user.is_active:
        raise InvalidToken("user not found or inactive")
    return user


user_for_token = database_sync_to_async(_user_for_token)


class JwtQueryAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from ?token=; an invalid token is remembered so the consumer closes with 4401."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tokens = query.get("token")
        if tokens:
            try:
                scope["user"] = await user_for_token(tokens[0])
            except InvalidToken as exc:
                scope["user"] = AnonymousUser()
                scope["auth_error"] = str(exc)
        return await super().__call__(scope, receive, send)


def ws_auth_stack(inner: Any) -> Any:
    """Session (cookie) auth first, then a ?token= JWT overrides it."""
    return AuthMiddlewareStack(JwtQueryAuthMiddleware(inner))
