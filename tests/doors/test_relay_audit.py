"""Every relay command leaves its audit record, even when the transaction around it rolls back:
the intent is committed before the scan's transaction, the outcome added after.

Transactional tests (the intent must really be committed), the relay simulator over TCP."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from clinic.audit.models import AuditEvent
from clinic.bookings import services as booking_services
from clinic.bookings.models import Booking
from clinic.rooms.models import RelayModule
from tests import factories as f
from workflows import doors

from .helpers import approved_booking, current_slot, open_all_day

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("held_deliveries"),
    pytest.mark.db_sensitive,
]


@pytest.fixture
def room(db, sim):
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    room = f.room("Room A", coil=4, relay=relay, pulse_ms=300)
    open_all_day(room)
    return room


def test_a_database_failure_after_the_pulse_leaves_the_intent_and_the_outcome(people, room, sim, monkeypatch):
    booking = approved_booking(people, room, current_slot())

    def failing(*args, **kwargs):
        raise DatabaseError("the database went away after the door opened")

    monkeypatch.setattr(booking_services, "set_status", failing)
    with pytest.raises(DatabaseError):
        doors.scan(user=people.alice, door=room.door_token)

    # The door did open (a hardware-timed pulse: it also closed again by itself)...
    assert sim.wait_coil(4, False, timeout=2)
    assert [(e.relay, e.on) for e in sim.history] == [(4, True), (4, False)]
    # ...the check-in was rolled back...
    assert Booking.objects.get(pk=booking.pk).status == "approved"
    # ...and the trail says so.
    intent = AuditEvent.objects.get(action="door.unlock_intent")
    assert intent.actor == people.alice and intent.data["booking"] == booking.pk
    assert intent.data["target"] == {"host": "127.0.0.1", "port": sim.port, "unit": 1, "coil": 4}
    outcome = AuditEvent.objects.get(action="door.scan")
    assert outcome.outcome == "failed" and outcome.data["intent"] == intent.pk
    assert outcome.data["relay"] == "pulsed"


def test_a_refusal_under_the_room_lock_records_that_nothing_was_sent(people, room, sim, monkeypatch):
    """The intent is written once the scan is in its window; under the room lock someone else
    turns out to hold the room (he got in meanwhile)."""
    from clinic.bookings import occupancy

    booking = approved_booking(people, room, current_slot())

    def someone_got_in_meanwhile(b, now):
        raise occupancy.DoorRefused("in use", code="room_in_use", room_pk=room.pk)

    monkeypatch.setattr(occupancy, "room_free", someone_got_in_meanwhile)
    with pytest.raises(occupancy.DoorRefused):
        doors.scan(user=people.alice, door=room.door_token)
    assert sim.history == []
    assert Booking.objects.get(pk=booking.pk).status == "approved"
    intent = AuditEvent.objects.get(action="door.unlock_intent")
    refused = AuditEvent.objects.get(action="door.scan")
    assert (refused.outcome, refused.reason) == ("refused", "room_in_use")
    assert refused.data == {"relay": "not_sent", "intent": intent.pk, "booking": booking.pk}


def test_a_board_that_does_not_answer_is_recorded_as_not_sent(people, room, sim):
    approved_booking(people, room, current_slot())
    sim.stop()
    with pytest.raises(doors.DoorNotOpened):
        doors.scan(user=people.alice, door=room.door_token)
    failed = AuditEvent.objects.get(action="door.scan")
    assert failed.outcome == "failed" and failed.data["relay"] == "not_sent"
    assert failed.data["intent"] == AuditEvent.objects.get(action="door.unlock_intent").pk
