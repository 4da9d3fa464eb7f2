"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware chain and the view run as one synchronous
    call in the request's thread.

    Every middleware and view of this project is synchronous. The stock handler builds an
    async chain and adapts at each boundary (to a thread for the middleware, back to the event
    loop for the innermost handler, to a thread again for the view): several thread hops per
    request, which cost more than the rest of a small API request. Here the chain is built as
    under WSGI and entered once; request parsing, the response and the signals stay Django's.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> Any:
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()


django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from api.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
