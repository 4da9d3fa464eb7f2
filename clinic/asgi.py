"""ASGI entry point: HTTP through Django's stock handler, at most WEB_ACTIVE_REQUESTS at once
(clinic.admission), WebSockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

# Django must be set up before the routing imports the consumers (and through them the models).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from api.routing import websocket_application  # noqa: E402
from clinic.admission import ActiveRequestLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ActiveRequestLimit(django_asgi_app, settings.WEB_ACTIVE_REQUESTS),
        "websocket": websocket_application,
    }
)
