"""POST /api/rooms/{id}/open/: staff open a door by hand, with a reason; never on a session by
accident. Against the relay simulator over TCP on 127.0.0.1."""

import pytest

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from tests import factories as f
from tests.doors.helpers import approved_booking, current_slot

pytestmark = pytest.mark.db_sensitive


def open_door(client, room, **body):
    return client.post(f"/api/rooms/{room.pk}/open/", body, format="json")


def test_staff_open_a_door_manually_with_a_reason(people, door_rooms, sim, client_for):
    client = client_for(people.sam)
    assert open_door(client, door_rooms[1]).status_code == 400
    response = open_door(client, door_rooms[1], reason="cleaning")
    assert response.status_code == 200
    assert response.json() == {"room": door_rooms[1].pk, "action": "unlocked"}
    assert sim.wait_coil(5, False, timeout=2)
    assert [(e.relay, e.on) for e in sim.history] == [(5, True), (5, False)]
    done = AuditEvent.objects.get(action="door.manual_open", actor=people.sam, reason="cleaning")
    intent = AuditEvent.objects.get(action="door.unlock_intent", actor=people.sam)
    assert done.data == {"relay": "pulsed", "intent": intent.pk, "force": False}
    assert intent.data["manual"] is True and intent.data["target"]["coil"] == 5


def test_only_holders_of_operate_doors_may(people, door_rooms, sim, client_for):
    for persona in (people.rita, people.alice, people.adam):
        assert open_door(client_for(persona), door_rooms[1], reason="x").status_code == 403
    assert sim.history == []


def test_a_room_with_a_session_opens_only_with_force(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    assert (
        client_for(people.alice).post("/api/scan/", {"door": door_rooms[0].door_token}, format="json").status_code
        == 200
    )
    assert sim.wait_coil(2, False, timeout=2)
    events = len(sim.history)
    sam = client_for(people.sam)

    response = open_door(sam, door_rooms[0], reason="cleaning")
    assert response.status_code == 409
    assert response.json()["code"] == "room_in_use"
    assert "alice" not in response.content.decode().lower()
    assert len(sim.history) == events
    refused = AuditEvent.objects.get(action="door.manual_open", outcome="refused")
    assert refused.reason == "cleaning" and refused.data["occupied_by_booking"] == booking.pk

    response = open_door(sam, door_rooms[0], reason="donor feels unwell", force=True)
    assert response.status_code == 200
    assert sim.wait_coil(2, False, timeout=2)
    assert [e.on for e in sim.history[events:]] == [True, False]
    forced = AuditEvent.objects.get(action="door.manual_open", outcome="success")
    assert forced.reason == "donor feels unwell"
    assert forced.data["force"] is True and forced.data["occupied_by_booking"] == booking.pk
    # The session is untouched: the donor still finishes it himself (or staff close it).
    assert Booking.objects.get(pk=booking.pk).status == "in_progress"


def test_a_room_without_a_lock_is_a_409_not_an_outage(people, client_for):
    room = f.room("Room C")
    response = open_door(client_for(people.sam), room, reason="cleaning")
    assert response.status_code == 409
    assert response.json()["code"] == "no_lock"


def test_a_relay_that_does_not_answer_is_a_503_and_audited(people, door_rooms, sim, client_for):
    sim.stop()
    response = open_door(client_for(people.sam), door_rooms[1], reason="cleaning")
    assert response.status_code == 503
    assert response.json()["code"] == "lock_unavailable"
    failed = AuditEvent.objects.get(action="door.manual_open", outcome="failed")
    assert failed.data["relay"] == "not_sent" and failed.data["error"]
