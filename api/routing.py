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
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.urls import path

from api.consumers import NotificationConsumer
from clinic.accounts.authentication import user_of_token
from clinic.accounts.services import redeem_socket_ticket

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]


@database_sync_to_async
def credential_user(query: dict[str, list[str]]) -> Any:
    """The user of `?ticket=` (single use) or `?token=` (kept for existing apps), or None."""
    if query.get("ticket"):
        return redeem_socket_ticket(query["ticket"][0])
    found = user_of_token(query["token"][0]) if query.get("token") else None
    return found[0] if found is not None else None


def _origin(scope: dict) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin1")
    return None


def _origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlparse(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


def _served_origin(scope: dict) -> tuple[str, str, int] | None:
    """The origin the browser connected to: the socket's scheme and Host header, when that host
    is one of ALLOWED_HOSTS (a page on another name pointed at this server is not the site)."""
    host = next((value.decode("latin1") for name, value in scope.get("headers", []) if name == b"host"), "")
    if not host or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return _origin_of(f"{scheme}://{host}")


def allowed_origin(origin: str, scope: dict | None = None) -> bool:
    """Only the site's own origin, exactly (scheme, host and port): SITE_URL's, or the one the
    browser connected to (a local run reached as localhost, a server behind no proxy)."""
    theirs = _origin_of(origin)
    if theirs is None:
        return False
    return theirs == _origin_of(settings.SITE_URL) or (scope is not None and theirs == _served_origin(scope))


class SocketGate:
    """Refuses a socket from a foreign Origin, or without Origin and without a valid ticket or
    token; a `?ticket=` or `?token=` authenticates the socket (an invalid one leaves it
    anonymous)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        origin = _origin(scope)
        if origin is not None and not allowed_origin(origin, scope):
            return await refuse(receive, send)
        query = parse_qs(scope.get("query_string", b"").decode("latin1"))
        credential = bool(query.get("ticket") or query.get("token"))
        user = await credential_user(query) if credential else None
        if origin is None and user is None:
            return await refuse(receive, send)
        if credential:
            scope = {**scope, "user": user or AnonymousUser()}
        return await self.application(scope, receive, send)


async def refuse(receive: Any, send: Any) -> None:
    """Close before accepting: the server answers the handshake with 403."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})


websocket_application = AuthMiddlewareStack(SocketGate(URLRouter(websocket_urlpatterns)))
