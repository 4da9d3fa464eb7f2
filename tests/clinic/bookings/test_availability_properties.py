"""Properties of the slot engine, checked against a brute-force model of the same rules.

Random rooms (some inactive) with weekly and one-off windows on their own grids, room and
site-wide closures, active and inactive bookings (off-grid too, some spilling over midnight),
random days and a random "now"; with and without an arrival gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from clinic.accounts.models import User
from clinic.bookings.availability import slots_between, slots_on
from clinic.bookings.models import ACTIVE_STATUSES, Booking, Status
from clinic.rooms.models import Closure, Opening, Room

TZ = timezone.get_default_timezone()
INACTIVE_STATUSES = [s for s in Status.values if s not in ACTIVE_STATUSES]
SLOT_LENGTHS = [5, 10, 15, 20, 30, 40, 45, 60, 90, 120, 240]
LAST_MINUTE = 23 * 60 + 59  # a window ends on the day it starts


@dataclass(frozen=True)
class Window:
    start_min: int
    slot_minutes: int
    slots: int
    weekdays: tuple[int, ...]  # weekly when not empty
    date_offset: int | None  # one-off on day + offset otherwise


@dataclass(frozen=True)
class RoomSpec:
    active: bool
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class ClosureSpec:
    room: int | None  # index into the rooms; None: site-wide
    start_offset: int
    days: int


@dataclass(frozen=True)
class BookingSpec:
    room: int
    start_min: int  # minutes from the day's local midnight (negative: the day before)
    minutes: int
    status: str


@dataclass(frozen=True)
class Scenario:
    day: date
    now_min: int
    rooms: tuple[RoomSpec, ...]
    closures: tuple[ClosureSpec, ...]
    bookings: tuple[BookingSpec, ...]


@st.composite
def room_specs(draw) -> RoomSpec:
    """Up to three windows on the room's own grid, never overlapping each other (the service's
    rule): from midnight, from a random time, or one window ending right before midnight."""
    placement = draw(st.sampled_from(["midnight", "random", "random", "late"]))
    windows = []
    cursor = 0 if placement == "midnight" else draw(st.integers(0, 16 * 12)) * 5
    for _ in range(draw(st.integers(0, 1 if placement == "late" else 3))):
        length = draw(st.sampled_from(SLOT_LENGTHS))
        count = draw(st.integers(1, 6))
        if placement == "late":
            start = 23 * 60 + 55 - length * count
        else:
            start = cursor + (draw(st.integers(0, 24)) * 5 if windows or placement == "random" else 0)
        if start < 0 or start + length * count > LAST_MINUTE:
            break
        if draw(st.booleans()):
            weekdays, offset = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1)))), None
        else:
            weekdays, offset = (), draw(st.integers(-1, 1))
        windows.append(Window(start, length, count, weekdays, offset))
        cursor = start + length * count
    return RoomSpec(active=draw(st.integers(0, 5)) > 0, windows=tuple(windows))


def anchors(rooms: list[RoomSpec]) -> list[int]:
    """Interesting instants (minutes from the day's midnight): every slot start of every window
    on the day before, the day and the day after, and the midnights."""
    points = {0, 24 * 60}
    for spec in rooms:
        for w in spec.windows:
            for k in range(w.slots):
                for day_offset in (-1, 0, 1):
                    points.add(day_offset * 24 * 60 + w.start_min + k * w.slot_minutes)
    return sorted(points)


NEAR = [0, 0, 0, -5, 5, -10, 10, -15, 15, -30, 30, -60, 60]


@st.composite
def scenarios(draw) -> Scenario:
    rooms = draw(st.lists(room_specs(), min_size=1, max_size=4))
    n = len(rooms)
    points = anchors(rooms)
    closures = draw(
        st.lists(
            st.builds(
                ClosureSpec,
                room=st.one_of(st.none(), st.integers(0, n - 1))
                if draw(st.integers(0, 3)) == 0
                else st.integers(0, n - 1),
                start_offset=st.integers(-3, 2),
                days=st.integers(0, 3),
            ),
            max_size=2,
        )
    )
    # Bookings mostly on or near their own room's grid (touching slots), or near another room's
    # (arrival-gap edges), some anywhere; up to 240 minutes (MAX_SLOT_MINUTES) long, so some
    # spill over midnight.
    bookings = []
    for _ in range(draw(st.integers(0, 12))):
        room = draw(st.integers(0, n - 1))
        start = draw(
            st.one_of(
                st.tuples(st.sampled_from(anchors([rooms[room]])), st.sampled_from(NEAR)).map(sum),
                st.tuples(st.sampled_from(points), st.sampled_from(NEAR)).map(sum),
                st.integers(-5 * 12, (24 * 60 + 60) // 5).map(lambda k: k * 5),
            )
        )
        minutes = draw(st.one_of(st.sampled_from(SLOT_LENGTHS), st.integers(1, 48).map(lambda k: k * 5)))
        status = draw(st.sampled_from([*ACTIVE_STATUSES, *ACTIVE_STATUSES, *INACTIVE_STATUSES]))
        bookings.append(BookingSpec(room, start, minutes, status))
    now = st.one_of(
        st.integers(-26 * 60, 26 * 60),
        st.tuples(st.sampled_from(points), st.sampled_from([-1, 0, 0, 1])).map(sum),
    )
    return Scenario(
        day=draw(st.dates(date(2020, 1, 1), date(2040, 12, 31))),
        now_min=draw(now),
        rooms=tuple(rooms),
        closures=tuple(closures),
        bookings=tuple(bookings),
    )


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ)


def build(scn: Scenario, donors: list[User]) -> tuple[list[Room], list[Booking]]:
    """Insert the scenario's rows. Active bookings of one room never overlap (the database
    refuses that on PostgreSQL): an overlapping one is stored as cancelled."""
    rooms = [Room.objects.create(name=f"R{i}", active=spec.active) for i, spec in enumerate(scn.rooms)]
    for room, spec in zip(rooms, scn.rooms, strict=True):
        for w in spec.windows:
            start = time(w.start_min // 60, w.start_min % 60)
            end_min = w.start_min + w.slot_minutes * w.slots
            Opening.objects.create(
                room=room,
                date=None if w.weekdays else scn.day + timedelta(days=w.date_offset),
                weekdays=list(w.weekdays),
                start_time=start,
                end_time=time(end_min // 60, end_min % 60),
                slot_minutes=w.slot_minutes,
            )
    for c in scn.closures:
        first = scn.day + timedelta(days=c.start_offset)
        Closure.objects.create(
            room=None if c.room is None else rooms[c.room], start_date=first, end_date=first + timedelta(days=c.days)
        )
    rows, taken = [], []
    for i, b in enumerate(scn.bookings):
        start = midnight(scn.day) + timedelta(minutes=b.start_min)
        end = start + timedelta(minutes=b.minutes)
        status = b.status
        if status in ACTIVE_STATUSES:
            if any(r == b.room and s < end and start < e for r, s, e in taken):
                status = Status.CANCELLED
            else:
                taken.append((b.room, start, end))
        rows.append(Booking(donor=donors[i], room=rooms[b.room], start=start, end=end, status=status))
    return rooms, Booking.objects.bulk_create(rows)


def model(scn: Scenario, rooms: list[Room], bookings: list[Booking], day: date, now: datetime, gap: int):
    """The rules, brute force: {(start, end): (open room ids, free room ids)} for the day."""
    active = [b for b in bookings if b.status in ACTIVE_STATUSES]
    gap_td = timedelta(minutes=gap)

    def closed(index: int | None) -> bool:
        for c in scn.closures:
            first = scn.day + timedelta(days=c.start_offset)
            if c.room == index and first <= day <= first + timedelta(days=c.days):
                return True
        return False

    slots: dict[tuple[datetime, datetime], set[int]] = {}
    if not closed(None):
        for i, spec in enumerate(scn.rooms):
            if not spec.active or closed(i):
                continue
            for w in spec.windows:
                applies = day.weekday() in w.weekdays if w.weekdays else day == scn.day + timedelta(days=w.date_offset)
                if not applies:
                    continue
                first = midnight(day) + timedelta(minutes=w.start_min)
                for k in range(w.slots):
                    start = first + timedelta(minutes=k * w.slot_minutes)
                    slots.setdefault((start, start + timedelta(minutes=w.slot_minutes)), set()).add(rooms[i].pk)
    result = {}
    for (start, end), open_ids in slots.items():
        free = {
            room_id
            for room_id in open_ids
            if start > now
            and not any(b.room_id == room_id and b.start < end and start < b.end for b in active)
            and all(abs(b.start - start) >= gap_td for b in active)
        }
        result[(start, end)] = (open_ids, free)
    return result


def check(scn: Scenario, donors: list[User], gap: int) -> None:
    rooms, bookings = build(scn, donors)
    now = midnight(scn.day) + timedelta(minutes=scn.now_min)
    active = [b for b in bookings if b.status in ACTIVE_STATUSES]
    first, last = scn.day - timedelta(days=1), scn.day + timedelta(days=1)
    by_day = slots_between(first, last, now=now)
    assert sorted(by_day) == [first, scn.day, last]
    names = {room.pk: room.name for room in rooms}
    # One day alone (the engine's look-back and look-ahead at the period's edges) and a period.
    for day, slots in [(scn.day, slots_on(scn.day, now=now)), *by_day.items()]:
        expected = model(scn, rooms, bookings, day, now, gap)
        keys = [(s.start, s.end) for s in slots]
        # Ordered by start, each distinct (start, end) once, and exactly the model's slots.
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        assert set(keys) == set(expected)
        for slot in slots:
            open_ids, free_ids = expected[(slot.start, slot.end)]
            got_free = [r.id for r in slot.free_rooms]
            assert {r.id for r in slot.open_rooms} == open_ids  # closed and inactive rooms offer nothing
            assert all(r.name == names[r.id] for r in slot.free_rooms)
            assert len(got_free) == len(set(got_free))
            assert slot.available == bool(slot.free_rooms)
            # No offered room overlaps one of its active bookings.
            for b in active:
                if b.room_id in got_free:
                    assert not (b.start < slot.end and slot.start < b.end), (slot, b)
            # The arrival gap: no offered start lies within the gap of any active booking's start.
            if gap and slot.free_rooms:
                assert all(abs(b.start - slot.start) >= timedelta(minutes=gap) for b in active)
            # A slot that has started is never available.
            if slot.start <= now:
                assert not slot.available and not slot.free_rooms
            # Every open room that is free by the rules is offered (completeness).
            assert set(got_free) == free_ids


@pytest.fixture
def donors(db) -> list[User]:
    return [User.objects.create(username=f"prop-donor-{i}") for i in range(12)]


# Edge cases pinned so that every run covers them, whatever the random draw.
MONDAY = date(2030, 1, 7)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def _scn(windows_by_room, bookings, now_min=-600, closures=()) -> Scenario:
    rooms = tuple(RoomSpec(True, tuple(Window(*w, EVERY_DAY, None) for w in ws)) for ws in windows_by_room)
    return Scenario(MONDAY, now_min, rooms, tuple(closures), tuple(BookingSpec(*b) for b in bookings))


# A booking touching slots on both sides leaves them free.
TOUCHING = _scn([[(540, 30, 4)]], [(0, 570, 30, "pending")])
# A 4-hour booking from 22:00 the day before still holds the room's slots until 02:00.
OVER_MIDNIGHT = _scn([[(0, 30, 6)]], [(0, -120, 240, "approved")], now_min=-2000)
# Now is exactly a slot's start (started: unavailable) and a minute after the next one's.
NOW_AT_START = _scn([[(540, 30, 4)], [(540, 30, 4)]], [], now_min=570)
NOW_JUST_AFTER = _scn([[(540, 30, 4)]], [(0, 660, 30, "in_progress")], now_min=601)
# Gap 10: bookings exactly 10 minutes after one slot's start and before another's; a late
# slot of the day and a booking at the next midnight (gap 15).
GAP_EDGES = _scn([[(540, 30, 4)], [(550, 30, 3)], []], [(1, 550, 30, "pending"), (2, 590, 30, "approved")])
GAP_ACROSS_MIDNIGHT = _scn([[(1380, 5, 11)], []], [(1, 1440, 30, "pending"), (0, 1380, 5, "cancelled")])

PROPERTY_SETTINGS = hsettings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(scn=scenarios())
@example(scn=TOUCHING)
@example(scn=OVER_MIDNIGHT)
@example(scn=NOW_AT_START)
@example(scn=NOW_JUST_AFTER)
def test_the_engine_offers_exactly_the_free_open_rooms(scn, donors, settings):
    settings.ARRIVAL_GAP_MINUTES = 0
    with transaction.atomic():
        check(scn, donors, gap=0)
        transaction.set_rollback(True)


@PROPERTY_SETTINGS
@given(scn=scenarios(), gap=st.sampled_from([5, 10, 15, 30, 60]))
@example(scn=GAP_EDGES, gap=10)
@example(scn=GAP_ACROSS_MIDNIGHT, gap=15)
@example(scn=OVER_MIDNIGHT, gap=30)
def test_the_arrival_gap_keeps_offered_starts_apart_from_booked_ones(scn, gap, donors, settings):
    settings.ARRIVAL_GAP_MINUTES = gap
    with transaction.atomic():
        check(scn, donors, gap=gap)
        transaction.set_rollback(True)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scn=scenarios(), reason_room=st.booleans())
def test_a_closed_day_offers_nothing(scn, reason_room, donors, settings):
    """Closing the site (or every room) for the day leaves no slot at all (or none offered)."""
    settings.ARRIVAL_GAP_MINUTES = 0
    with transaction.atomic():
        rooms, _ = build(scn, donors)
        now = midnight(scn.day) - timedelta(days=2)
        if reason_room:
            for room in rooms:
                Closure.objects.create(room=room, start_date=scn.day, end_date=scn.day)
        else:
            Closure.objects.create(room=None, start_date=scn.day - timedelta(days=1), end_date=scn.day)
        assert slots_on(scn.day, now=now) == []
        transaction.set_rollback(True)
