"""The room board: each active room free, booked, in use or with its door alarmed, with the
booking in it now and the next one (who holds a room: clinic.bookings.occupancy), and whether
its lock's board answers (workflows.boards)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from clinic.bookings.models import ACTIVE_STATUSES, Booking, Status
from clinic.rooms.models import Room


def room_state(room: Room, bookings: list[Booking], now: datetime) -> dict[str, Any]:
    """One room's line on the board. `bookings`: the room's active bookings around now, by start.
    The booking shown as "now" is never shown as "next" too."""
    in_use = next((b for b in bookings if b.status == Status.IN_PROGRESS), None)
    current = in_use or next((b for b in bookings if b.start <= now < b.end), None)
    upcoming = next((b for b in bookings if b.start > now and b is not current), None)
    if room.door_alerted_at:
        state = "door_alarm"
    elif in_use:
        state = "in_use"
    elif current:
        state = "booked"
    else:
        state = "free"
    relay = room.relay
    lock = "none" if relay is None else "offline" if relay.offline_since else "ok"
    return {
        "id": room.pk,
        "name": room.name,
        "state": state,
        # "ok", "offline" (the board stopped answering at lock_offline_since) or "none" (no lock).
        "lock": lock,
        "lock_offline_since": relay.offline_since if relay is not None else None,
        "current": current,
        "next": upcoming,
    }


def room_board(now: datetime | None = None, room_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Each active room: free, booked, in use or with its door alarmed, with the booking now and
    the next one in the coming 24 hours (bookings with their donor profile loaded)."""
    now = now or timezone.now()
    rooms = Room.objects.filter(active=True).select_related("relay").order_by("name")
    bookings = Booking.objects.filter(
        status__in=ACTIVE_STATUSES, end__gt=now - timedelta(hours=2), start__lt=now + timedelta(hours=24)
    )
    if room_ids is not None:
        rooms = rooms.filter(pk__in=room_ids)
        bookings = bookings.filter(room_id__in=room_ids)
    by_room: dict[int, list[Booking]] = {}
    for booking in bookings.select_related("donor__donor_profile").order_by("start"):
        by_room.setdefault(booking.room_id, []).append(booking)
    return [room_state(room, by_room.get(room.pk, []), now) for room in rooms]
