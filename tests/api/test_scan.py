"""POST /api/scan/ against the real relay simulator over TCP on 127.0.0.1."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.rooms.models import RelayModule
from hardware.simulator import RelaySimulator
from tests import factories as f
from tests.doors.helpers import approved_booking, current_slot, open_all_day
from tests.workflows.helpers import assert_finished
from workflows import doors

# The scan's lookups are hand-written SQL (clinic.rawsql): run on SQLite too.
pytestmark = pytest.mark.db_sensitive

PULSE_MS = 300


@pytest.fixture
def sim(tmp_path):
    simulator = RelaySimulator(log_path=tmp_path / "relays.log").start()
    yield simulator
    simulator.stop()


@pytest.fixture
def rooms(db, sim):
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim.port, unit=1)
    a = f.room("Room A", coil=2, relay=relay, pulse_ms=PULSE_MS)
    b = f.room("Room B", coil=5, relay=relay, pulse_ms=PULSE_MS)
    for room in (a, b):
        open_all_day(room)
    return a, b


def scan(client, room):
    return client.post("/api/scan/", {"door": room.door_token}, format="json")


def test_a_granted_scan_flips_only_that_relay_and_it_falls_back(people, rooms, sim, client_for):
    booking = approved_booking(people, rooms[0], current_slot())
    response = scan(client_for(people.alice), rooms[0])
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "unlocked"
    assert response.json()["booking"]["status"] == "in_progress"
    assert sim.coils() == [False, False, True, False, False, False, False, False]
    assert sim.wait_coil(2, False, timeout=2)
    booking.refresh_from_db()
    assert booking.status == "in_progress" and booking.checked_in_at is not None
    assert AuditEvent.objects.filter(action="door.scan", actor=people.alice, outcome="success").exists()


def test_the_second_scan_finishes_without_touching_the_relay(people, rooms, sim, client_for):
    booking = approved_booking(people, rooms[0], current_slot())
    client = client_for(people.alice)
    assert scan(client, rooms[0]).status_code == 200
    assert sim.wait_coil(2, False, timeout=2)
    events = len(sim.history)
    response = scan(client, rooms[0])
    assert response.status_code == 200
    assert response.json()["action"] == "finished"
    booking.refresh_from_db()
    assert booking.status == "completed"
    assert len(sim.history) == events
    assert_finished(booking)


def test_another_donor_at_a_booked_door_is_refused_and_the_relay_untouched(people, rooms, sim, client_for):
    approved_booking(people, rooms[0], current_slot())
    response = scan(client_for(people.bob), rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "no_booking"
    assert "alice" not in response.content.decode().lower()
    assert sim.coils() == [False] * 8 and sim.history == []
    assert AuditEvent.objects.filter(
        action="door.scan", actor=people.bob, outcome="refused", reason="no_booking"
    ).exists()


def test_the_wrong_door_is_refused(people, rooms, sim, client_for):
    approved_booking(people, rooms[0], current_slot())
    response = scan(client_for(people.alice), rooms[1])
    assert response.status_code == 403
    assert response.json()["code"] == "no_booking"
    assert sim.history == []


def test_a_forged_or_rotated_token_is_a_bad_door(people, rooms, sim, client_for):
    booking = approved_booking(people, rooms[0], current_slot())
    client = client_for(people.alice)
    assert client.post("/api/scan/", {"door": "x" * 32}, format="json").json()["code"] == "bad_door"
    old = rooms[0].door_token
    assert client_for(people.sam).post(f"/api/rooms/{rooms[0].pk}/door-token/rotate/").status_code == 200
    response = client.post("/api/scan/", {"door": old}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "bad_door"
    booking.refresh_from_db()
    assert booking.status == "approved" and sim.history == []


def test_too_early_and_too_late(people, rooms, sim, client_for, settings):
    later = current_slot() + timedelta(hours=2)
    booking = approved_booking(people, rooms[0], later)
    response = scan(client_for(people.alice), rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "too_early"
    Booking.objects.filter(pk=booking.pk).update(
        start=timezone.now() - timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES + 1)
    )
    response = scan(client_for(people.alice), rooms[0])
    assert response.json()["code"] == "too_late"
    booking.refresh_from_db()
    assert booking.status == "approved" and sim.history == []


def test_a_pending_booking_is_not_approved(people, rooms, sim, client_for):
    booking = f.booking(people.alice, rooms[0], current_slot())
    response = scan(client_for(people.alice), rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "not_approved"
    assert Booking.objects.get(pk=booking.pk).status == "pending"


def test_a_closed_room_is_refused(people, rooms, sim, client_for):
    approved_booking(people, rooms[0], current_slot())
    rooms[0].openings.all().delete()
    response = scan(client_for(people.alice), rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "room_closed"
    assert sim.history == []


def test_a_stopped_simulator_gives_a_503_fast_and_changes_nothing(people, rooms, sim, client_for):
    booking = approved_booking(people, rooms[0], current_slot())
    sim.stop()
    started = time.monotonic()
    response = scan(client_for(people.alice), rooms[0])
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["code"] == "lock_unavailable"
    booking.refresh_from_db()
    assert booking.status == "approved"
    assert AuditEvent.objects.filter(action="door.scan", outcome="failed").exists()


def test_a_frozen_board_gives_a_503_within_2_seconds(people, rooms, sim, client_for):
    booking = approved_booking(people, rooms[0], current_slot())
    sim.set_frozen(True)
    started = time.monotonic()
    response = scan(client_for(people.alice), rooms[0])
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert elapsed < 2.0, elapsed
    booking.refresh_from_db()
    assert booking.status == "approved"
    assert AuditEvent.objects.filter(action="door.scan", outcome="failed").count() == 1


def test_anonymous_scans_are_401(rooms, anon):
    response = anon.post("/api/scan/", {"door": rooms[0].door_token}, format="json")
    assert response.status_code == 401


def test_bad_bodies_are_400(people, rooms, client_for):
    client = client_for(people.alice)
    assert client.post("/api/scan/", {}, format="json").status_code == 400
    assert client.post("/api/scan/", {"door": ["x"]}, format="json").status_code == 400


def test_staff_open_a_door_manually_with_a_reason(people, rooms, sim, client_for):
    client = client_for(people.sam)
    assert client.post(f"/api/rooms/{rooms[1].pk}/open/", {}, format="json").status_code == 400
    response = client.post(f"/api/rooms/{rooms[1].pk}/open/", {"reason": "cleaning"}, format="json")
    assert response.status_code == 200
    assert sim.coil(5) or any(e.relay == 5 and e.on for e in sim.history)
    assert AuditEvent.objects.filter(action="door.manual_open", actor=people.sam, reason="cleaning").exists()
    assert (
        client_for(people.rita).post(f"/api/rooms/{rooms[1].pk}/open/", {"reason": "x"}, format="json").status_code
        == 403
    )
    assert (
        client_for(people.alice).post(f"/api/rooms/{rooms[1].pk}/open/", {"reason": "x"}, format="json").status_code
        == 403
    )


def test_a_door_held_open_is_alerted_once(people, rooms, sim, settings):
    rooms[0].door_sensor_input = 3
    rooms[0].save()
    now = timezone.now()
    sim.set_door(3, True)
    assert doors.watch_doors(now) == []
    assert doors.watch_doors(now + timedelta(seconds=settings.DOOR_HELD_OPEN_SECONDS)) == [rooms[0].pk]
    assert doors.watch_doors(now + timedelta(seconds=settings.DOOR_HELD_OPEN_SECONDS + 60)) == []
    assert AuditEvent.objects.filter(action="door.held_open").count() == 1
    sim.set_door(3, False)
    doors.watch_doors(now + timedelta(seconds=500))
    rooms[0].refresh_from_db()
    assert rooms[0].door_open_since is None and rooms[0].door_alerted_at is None
