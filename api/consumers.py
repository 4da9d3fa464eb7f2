"""WebSocket consumers: the live notification feed, one group per user."""

from __future__ import annotations

import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from clinic.notifications.services import group_name

logger = logging.getLogger(__name__)

# Close codes a client can act on: log in again, or retry later.
UNAUTHENTICATED = 4401
TRY_AGAIN_LATER = 1013


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Pushes each new notification of the connected user as {id, kind, title, body, booking,
    created, read}. One-way: reading and marking go through the REST API."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        try:
            await self.channel_layer.group_add(group_name(user.pk), self.channel_name)
        except Exception:
            logger.warning("channel layer unavailable; socket refused", exc_info=True)
            await self.close(code=TRY_AGAIN_LATER)
            return
        self.group = group_name(user.pk)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:
                logger.info("channel layer unavailable at disconnect; the group entry expires", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Whatever the client sends is ignored (not even parsed)."""

    async def notification_push(self, event: dict[str, Any]) -> None:
        await self.send_json(event["notification"])
