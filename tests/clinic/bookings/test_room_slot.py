"""room_slot: the quick check behind every booking and door scan agrees with the slot engine."""

from datetime import timedelta

import pytest

from clinic.bookings.availability import room_slot, slots_on
from clinic.rooms.models import Closure, Opening
from tests import factories as f

# room_slot is hand-written SQL (clinic.rawsql): run on SQLite too.
pytestmark = pytest.mark.db_sensitive


def test_it_agrees_with_the_engine_on_every_offered_slot(db):
    room = f.room("Room A")
    f.weekly_opening(room, start="08:10", end="12:10", slot_minutes=40)
    day = f.tomorrow()
    Opening.objects.create(
        room=room, date=day, start_time=f.at(day, "13:00").time(), end_time=f.at(day, "14:00").time(), slot_minutes=20
    )
    offered = [(s.start, s.end) for s in slots_on(day) if s.open_rooms]
    assert len(offered) == 6 + 3
    for start, end in offered:
        assert room_slot(room, start) == (start, end)


def test_off_grid_outside_closed_and_inactive_are_not_slots(db):
    room = f.room("Room A")
    f.weekly_opening(room, start="08:00", end="10:00", slot_minutes=30)
    day = f.tomorrow()
    assert room_slot(room, f.at(day, "08:30")) is not None
    assert room_slot(room, f.at(day, "08:15")) is None  # off the grid
    assert room_slot(room, f.at(day, "10:00")) is None  # the window's end
    assert room_slot(room, f.at(day, "07:30")) is None  # before it
    Closure.objects.create(room=None, start_date=day, end_date=day)
    assert room_slot(room, f.at(day, "08:30")) is None
    assert room_slot(room, f.at(day + timedelta(days=1), "08:30")) is not None
    room.active = False
    room.save()
    assert room_slot(room, f.at(day + timedelta(days=1), "08:30")) is None
