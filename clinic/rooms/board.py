"""The room board: each active room free, booked, in use or with its door alarmed, with the
booking in it now and the next one (who holds a room: clinic.bookings.occupancy), and whether
its lock's board answers (workflows.boards)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.utils import timezone

from clinic.bookings.models import ACTIVE_STATUSES, Booking, Status
from clinic.rooms.models import Room


def room_state(room: Room, bookings: list[Booking], now: datetime) -> dict[str, Any]:
    """One room's line on the board. `bookings`: the room's active bookings around now, by start.
    The booking shown as "now" is never shown as "next" too."""
    state, current = _occupancy(room.door_alerted_at, bookings, now)
    upcoming = next((b for b in bookings if b.start > now and b is not current), None)
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


class _Slot(NamedTuple):
    status: str
    start: datetime
    end: datetime


def _occupancy(door_alerted_at: datetime | None, bookings: Sequence[Any], now: datetime) -> tuple[str, Any]:
    """The room's state and the booking shown as "now", from its active bookings around now
    (by start; anything with status, start and end)."""
    in_use = next((b for b in bookings if b.status == Status.IN_PROGRESS), None)
    current = in_use or next((b for b in bookings if b.start <= now < b.end), None)
    if door_alerted_at:
        return "door_alarm", current
    if in_use:
        return "in_use", current
    return ("booked" if current else "free"), current


def _around(now: datetime) -> dict[str, Any]:
    """The bookings the board considers: active, ending after two hours ago, starting within a day."""
    return {"status__in": ACTIVE_STATUSES, "end__gt": now - timedelta(hours=2), "start__lt": now + timedelta(hours=24)}


def room_state_line(room_id: int, now: datetime | None = None) -> dict[str, Any] | None:
    """One active room's name and state, as its board line says (None: no such active room),
    without the rest of the line: what a room.state push carries."""
    now = now or timezone.now()
    room = Room.objects.filter(pk=room_id, active=True).values("name", "door_alerted_at").first()
    if room is None:
        return None
    rows = Booking.objects.filter(room_id=room_id, **_around(now)).order_by("start")
    slots = [_Slot(*row) for row in rows.values_list("status", "start", "end")]
    state, _ = _occupancy(room["door_alerted_at"], slots, now)
    return {"id": room_id, "name": room["name"], "state": state}


def room_board(now: datetime | None = None) -> list[dict[str, Any]]:
    """Each active room: free, booked, in use or with its door alarmed, with the booking now and
    the next one in the coming 24 hours (bookings with their donor profile loaded)."""
    now = now or timezone.now()
    rooms = Room.objects.filter(active=True).select_related("relay").order_by("name")
    bookings = Booking.objects.filter(**_around(now))
    by_room: dict[int, list[Booking]] = {}
    for booking in bookings.select_related("donor__donor_profile").order_by("start"):
        by_room.setdefault(booking.room_id, []).append(booking)
    return [room_state(room, by_room.get(room.pk, []), now) for room in rooms]
