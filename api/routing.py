"""WebSocket routes, and who may open a socket at all.

A browser's socket must come from an allowed host (its Origin) and is authenticated by its
session; a native app sends no Origin and must give a valid `?token=<DRF token>`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import path

from api.consumers import NotificationConsumer
from clinic.accounts.authentication import user_of_token

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]


@database_sync_to_async
def token_user(key: str) -> Any:
    found = user_of_token(key)
    return found[0] if found is not None else None


def _origin(scope: dict) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin1")
    return None


def allowed_origin(origin: str) -> bool:
    # Channels' matching rules, against ALLOWED_HOSTS as they are now (tests override them).
    return OriginValidator(None, settings.ALLOWED_HOSTS).valid_origin(urlparse(origin))


class SocketGate:
    """Refuses a socket from a foreign Origin, or without Origin and without a valid token;
    a `?token=` authenticates the socket (an invalid one leaves it anonymous)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        origin = _origin(scope)
        if origin is not None and not allowed_origin(origin):
            return await refuse(receive, send)
        key = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token", [""])[0]
        user = await token_user(key) if key else None
        if origin is None and user is None:
            return await refuse(receive, send)
        if key:
            scope = {**scope, "user": user or AnonymousUser()}
        return await self.application(scope, receive, send)


async def refuse(receive: Any, send: Any) -> None:
    """Close before accepting: the server answers the handshake with 403."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})


websocket_application = AuthMiddlewareStack(SocketGate(URLRouter(websocket_urlpatterns)))
