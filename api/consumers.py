"""WebSocket consumers: the live notification feed, one group per user (and one for the room
board's watchers)."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from clinic.accounts import policy
from clinic.notifications.services import ROOM_WATCHERS, group_name

logger = logging.getLogger(__name__)

# Close codes a client can act on: log in again, or retry later.
UNAUTHENTICATED = 4401
TRY_AGAIN_LATER = 1013


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Pushes each new notification of the connected user as {id, kind, title, body, booking,
    created, read}, and to the room board's watchers each room.state. One-way: reading and
    marking go through the REST API. Who watches the room board is decided as the socket opens
    (a role changed meanwhile counts from the next connection)."""

    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        groups = [group_name(user.pk)]
        if await database_sync_to_async(policy.can_watch_room_board)(user):
            groups.append(ROOM_WATCHERS)
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        except Exception:
            logger.warning("channel layer unavailable; socket refused", exc_info=True)
            await self.close(code=TRY_AGAIN_LATER)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.info("channel layer unavailable at disconnect; the group entry expires", exc_info=True)
                return

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Whatever the client sends is ignored (not even parsed)."""

    async def notification_push(self, event: dict[str, Any]) -> None:
        await self.send_json(event["notification"])
