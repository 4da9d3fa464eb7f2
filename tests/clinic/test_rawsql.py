"""clinic.rawsql.Columns: hand-written rows become the same instances the ORM would build, on
PostgreSQL and on SQLite (where datetimes, booleans and JSON arrive as text or integers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from clinic.bookings.models import Booking
from clinic.rawsql import Columns
from clinic.rooms.models import Opening, Room
from tests import factories as f

pytestmark = pytest.mark.db_sensitive


def read(columns: Columns, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns.sql()} FROM {columns.table()} WHERE {columns.alias}.id = %s", [pk])
        return columns.instance(cursor.fetchone())


def test_values_come_back_as_the_orm_gives_them(db, people):
    room = f.room("Room A")
    room.active = False
    room.save()
    opening = f.weekly_opening(room, start="08:00", end="12:00", slot_minutes=30)
    booking = f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"))

    got = read(Columns(Booking, "b", ["id", "start", "end", "status", "room_id"]), booking.pk)
    assert (got.pk, got.start, got.end, got.status, got.room_id) == (
        booking.pk,
        booking.start,
        booking.end,
        booking.status,
        room.pk,
    )
    assert got.start.utcoffset() == timedelta(0)  # aware, like the ORM's
    assert read(Columns(Room, "r", ["id", "active"]), room.pk).active is False
    got_opening = read(Columns(Opening, "o", ["id", "weekdays", "start_time", "slot_minutes"]), opening.pk)
    assert got_opening.weekdays == Opening.objects.get(pk=opening.pk).weekdays
    assert got_opening.start_time == opening.start_time


def test_fields_not_read_are_deferred_not_defaulted(db):
    room = f.room("Room A")
    room.pulse_ms = 1234
    room.save()
    got = read(Columns(Room, "r", ["id", "name"]), room.pk)
    assert got.get_deferred_fields() >= {"pulse_ms", "door_token"}
    assert got.pulse_ms == 1234  # loaded on access, as with .only()


def test_unknown_fields_are_refused():
    with pytest.raises(ValueError, match="no concrete fields"):
        Columns(Room, "r", ["id", "colour"])
