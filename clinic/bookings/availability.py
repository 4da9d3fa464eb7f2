"""The slot engine: which slots exist on a day and which rooms are still free in each.

A fixed handful of queries whatever the number of rooms or days, each bounded to the dates
asked for, so the cost never grows with the history of past bookings.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from clinic.bookings.models import ACTIVE_STATUSES, Booking, SlotHold
from clinic.rawsql import Columns
from clinic.rooms.models import Closure, Opening, Room
from clinic.rooms.services import MAX_SLOT_MINUTES, local_datetime


@dataclass(frozen=True)
class RoomRef:
    id: int
    name: str


@dataclass
class Slot:
    start: datetime
    end: datetime
    open_rooms: list[RoomRef] = field(default_factory=list)
    free_rooms: list[RoomRef] = field(default_factory=list)
    available: bool = False


@dataclass
class _Busy:
    """Active bookings in the period: per-room intervals sorted by start (a room's active
    bookings never overlap, so they are sorted by end too), and every start, sorted."""

    by_room: dict[int, list[tuple[datetime, datetime]]]
    starts: list[datetime]

    def start_clear(self, start: datetime, gap: timedelta) -> bool:
        """No active booking starts less than `gap` before or after `start`."""
        if not gap:
            return True
        i = bisect.bisect_right(self.starts, start - gap)
        return i == len(self.starts) or self.starts[i] >= start + gap


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """From the start of local day `first` to the end of local day `last`."""
    tz = timezone.get_default_timezone()
    return (
        datetime.combine(first, datetime.min.time(), tzinfo=tz),
        datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz),
    )


def _busy(
    period_start: datetime, period_end: datetime, gap: timedelta, exclude_booking: int | None, viewer: int | None
) -> _Busy:
    # Bounded by start on both sides (bookings last at most MAX_SLOT_MINUTES): an index range
    # scan that never touches the past.
    lookback = timedelta(minutes=MAX_SLOT_MINUTES) + gap
    window = {"start__gte": period_start - lookback, "start__lt": period_end + gap}
    rows = Booking.objects.filter(status__in=ACTIVE_STATUSES, **window)
    if exclude_booking is not None:
        rows = rows.exclude(pk=exclude_booking)
    # A slot held for a waiting client is taken for everyone else (clinic.bookings.waitlist).
    holds = SlotHold.objects.filter(state=SlotHold.State.ACTIVE, **window)
    if viewer is not None:
        holds = holds.exclude(client_id=viewer)
    by_room: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    starts = []
    for room_id, start, end in [
        *rows.values_list("room_id", "start", "end"),
        *holds.values_list("room_id", "start", "end"),
    ]:
        by_room[room_id].append((start, end))
        starts.append(start)
    for intervals in by_room.values():
        intervals.sort()
    starts.sort()
    return _Busy(by_room, starts)


def active_days(first: date, last: date) -> tuple[date, date] | None:
    """The part of those local days in which active bookings (and holds) can lie: from yesterday
    to the booking horizon; None if there is none (a closure may run to the calendar's end)."""
    today = timezone.localdate()
    first = max(first, today - timedelta(days=1))
    last = min(last, today + timedelta(days=settings.BOOKING_HORIZON_DAYS + 1))
    return (first, last) if first <= last else None


def slots_between(
    first: date,
    last: date,
    *,
    now: datetime | None = None,
    room_ids: list[int] | None = None,
    exclude_booking: int | None = None,
    viewer: int | None = None,
) -> dict[date, list[Slot]]:
    """Every slot from `first` to `last` (inclusive) in which at least one room is open. Rooms
    held for a waiting client are not free, except to him (`viewer`, a user id)."""
    now = now or timezone.now()
    gap = timedelta(minutes=settings.ARRIVAL_GAP_MINUTES)
    rooms_q = Room.objects.filter(active=True)
    if room_ids is not None:
        rooms_q = rooms_q.filter(pk__in=room_ids)
    rooms = {room.pk: RoomRef(room.pk, room.name) for room in rooms_q.only("id", "name")}
    openings = list(
        Opening.objects.filter(room_id__in=list(rooms)).filter(
            Q(date__isnull=True) | Q(date__gte=first, date__lte=last)
        )
    )
    closures = list(Closure.objects.filter(start_date__lte=last, end_date__gte=first))
    period_start, period_end = day_bounds(first, last)
    busy = _busy(period_start, period_end, gap, exclude_booking, viewer)

    # Rooms in display order, so that each slot's room lists come out sorted without sorting.
    order = {room_id: i for i, room_id in enumerate(sorted(rooms, key=lambda r: (rooms[r].name, r)))}
    openings.sort(key=lambda o: (order[o.room_id], o.start_time))
    no_busy: list[tuple[datetime, datetime]] = []

    result: dict[date, list[Slot]] = {}
    day = first
    while day <= last:
        closed_site = any(c.room_id is None and c.start_date <= day <= c.end_date for c in closures)
        closed_rooms = {c.room_id for c in closures if c.room_id and c.start_date <= day <= c.end_date}
        slots: dict[tuple[datetime, datetime], Slot] = {}
        clear: dict[datetime, bool] = {}  # arrival gap and "not started yet", per distinct start
        if not closed_site:
            for opening in openings:
                if opening.room_id in closed_rooms or not opening.applies_on(day):
                    continue
                room = rooms[opening.room_id]
                booked = busy.by_room.get(opening.room_id, no_busy)
                step = timedelta(minutes=opening.slot_minutes)
                start = local_datetime(day, opening.start_time)
                window_end = local_datetime(day, opening.end_time)
                j, n = 0, len(booked)  # walks the room's bookings alongside its slots: linear, not quadratic
                while start + step <= window_end:
                    end = start + step
                    slot = slots.get((start, end))
                    if slot is None:
                        slot = slots[(start, end)] = Slot(start, end)
                    slot.open_rooms.append(room)
                    while j < n and booked[j][1] <= start:
                        j += 1
                    if j == n or booked[j][0] >= end:
                        ok = clear.get(start)
                        if ok is None:
                            ok = clear[start] = start > now and busy.start_clear(start, gap)
                        if ok:
                            slot.free_rooms.append(room)
                    start = end
        ordered = sorted(slots.values(), key=lambda s: (s.start, s.end))
        for slot in ordered:
            slot.available = bool(slot.free_rooms)
        result[day] = ordered
        day += timedelta(days=1)
    return result


def slots_on(day: date, *, now: datetime | None = None, viewer: int | None = None) -> list[Slot]:
    return slots_between(day, day, now=now, viewer=viewer)[day]


_OPENING = Columns(Opening, "o", ["room_id", "date", "weekdays", "start_time", "end_time", "slot_minutes"])


@functools.cache
def _room_slot_sql(vendor: str) -> str:
    # Identifiers come from the models' metadata, quoted; every value is a parameter.
    closures = connection.ops.quote_name(Closure._meta.db_table)
    return " ".join(
        [
            f"SELECT {_OPENING.sql()}, EXISTS (SELECT 1 FROM {closures} c",  # noqa: S608
            "WHERE (c.room_id = o.room_id OR c.room_id IS NULL) AND c.start_date <= %s AND c.end_date >= %s)",
            f"FROM {_OPENING.table()} WHERE o.room_id = %s AND (o.date = %s OR o.date IS NULL)",
        ]
    )


def room_slot(room: Room, start: datetime) -> tuple[datetime, datetime] | None:
    """The (start, end) of the room's slot beginning exactly at `start`, if the room offers one
    (active, open that day, not closed). Whether it is free is the booking service's business.
    One query, written as SQL: it is on the door scan's way to the relay (see clinic.rawsql).
    Each of the day's openings comes with whether a closure covers the day."""
    if not room.active:
        return None
    day = timezone.localtime(start).date()
    sql_day = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cursor:
        cursor.execute(_room_slot_sql(connection.vendor), [sql_day, sql_day, room.pk, sql_day])
        rows = cursor.fetchall()
    for *columns, closed in rows:
        if closed:
            return None
        opening = _OPENING.instance(columns)
        if not opening.applies_on(day):
            continue
        step = timedelta(minutes=opening.slot_minutes)
        window_start = local_datetime(day, opening.start_time)
        window_end = local_datetime(day, opening.end_time)
        offset = start - window_start
        if timedelta(0) <= offset and offset % step == timedelta(0) and start + step <= window_end:
            return start, start + step
    return None
