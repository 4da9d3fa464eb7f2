"""POST /api/scan/ against the real relay simulator over TCP on 127.0.0.1."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from tests import factories as f
from tests.doors.helpers import SLOT_MINUTES, approved_booking, current_slot
from tests.workflows.helpers import assert_finished
from workflows import doors

# The scan's lookups are hand-written SQL (clinic.rawsql) and its locks the database's: run on SQLite too.
pytestmark = pytest.mark.db_sensitive

PULSE_MS = 300


def scan(client, room):
    return client.post("/api/scan/", {"door": room.door_token}, format="json")


def test_a_granted_scan_flips_only_that_relay_and_it_falls_back(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    response = scan(client_for(people.alice), door_rooms[0])
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "unlocked"
    assert response.json()["booking"]["status"] == "in_progress"
    assert sim.coils() == [False, False, True, False, False, False, False, False]
    assert sim.wait_coil(2, False, timeout=2)
    booking.refresh_from_db()
    assert booking.status == "in_progress" and booking.checked_in_at is not None
    assert AuditEvent.objects.filter(action="door.scan", actor=people.alice, outcome="success").exists()


def test_a_repeat_scan_inside_the_window_opens_again_and_the_session_goes_on(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    client = client_for(people.alice)
    first = scan(client, door_rooms[0])
    assert first.status_code == 200 and first.json()["action"] == "unlocked"
    assert sim.wait_coil(2, False, timeout=2)
    again = scan(client, door_rooms[0])
    assert again.status_code == 200, again.content
    assert again.json()["action"] == "unlocked"
    assert again.json()["booking"]["status"] == "in_progress"
    # Counted from the check-in, not extended by the repeat.
    assert again.json()["repeat_until"] == first.json()["repeat_until"]
    assert sim.wait_coil(2, False, timeout=2)
    assert [(e.relay, e.on, e.cause) for e in sim.history] == [(2, True, "flash"), (2, False, "pulse_end")] * 2
    booking.refresh_from_db()
    assert booking.status == "in_progress"
    assert booking.processes.get().status == "NEW"


def test_a_scan_after_the_repeat_window_finishes_without_touching_the_relay(
    people, door_rooms, sim, client_for, settings
):
    booking = approved_booking(people, door_rooms[0], current_slot())
    client = client_for(people.alice)
    assert scan(client, door_rooms[0]).status_code == 200
    assert sim.wait_coil(2, False, timeout=2)
    Booking.objects.filter(pk=booking.pk).update(
        checked_in_at=timezone.now() - timedelta(seconds=settings.DOOR_REPEAT_SECONDS + 1)
    )
    events = len(sim.history)
    response = scan(client, door_rooms[0])
    assert response.status_code == 200
    assert response.json()["action"] == "finished"
    booking.refresh_from_db()
    assert booking.status == "completed" and booking.checked_out_at is not None
    assert len(sim.history) == events
    assert_finished(booking)


def test_finish_ends_the_session_at_once(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    client = client_for(people.alice)
    assert scan(client, door_rooms[0]).status_code == 200
    response = client.post("/api/scan/", {"door": door_rooms[0].door_token, "action": "finish"}, format="json")
    assert response.status_code == 200
    assert response.json()["action"] == "finished"
    assert response.json()["booking"]["checked_out_at"] is not None
    booking.refresh_from_db()
    assert booking.status == "completed"
    assert_finished(booking)


def test_finish_before_the_session_is_refused_and_changes_nothing(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    response = client_for(people.alice).post(
        "/api/scan/", {"door": door_rooms[0].door_token, "action": "finish"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_in_session"
    assert Booking.objects.get(pk=booking.pk).status == "approved" and sim.history == []


def test_open_never_finishes_a_session(people, door_rooms, sim, client_for, settings):
    booking = approved_booking(people, door_rooms[0], current_slot())
    client = client_for(people.alice)
    body = {"door": door_rooms[0].door_token, "action": "open"}
    assert client.post("/api/scan/", body, format="json").json()["action"] == "unlocked"
    Booking.objects.filter(pk=booking.pk).update(
        checked_in_at=timezone.now() - timedelta(seconds=settings.DOOR_REPEAT_SECONDS + 1)
    )
    assert sim.wait_coil(2, False, timeout=2)
    events = len(sim.history)
    response = client.post("/api/scan/", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "repeat_window_over"
    assert Booking.objects.get(pk=booking.pk).status == "in_progress" and len(sim.history) == events


def test_a_scan_after_the_session_says_when_it_finished(people, door_rooms, sim, client_for):
    approved_booking(people, door_rooms[0], current_slot())
    client = client_for(people.alice)
    assert scan(client, door_rooms[0]).status_code == 200
    finished = client.post("/api/scan/", {"door": door_rooms[0].door_token, "action": "finish"}, format="json").json()
    response = scan(client, door_rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "session_finished"
    assert finished["booking"]["checked_out_at"][11:16] in response.json()["detail"]


def test_an_unknown_action_is_a_400(people, door_rooms, client_for):
    response = client_for(people.alice).post(
        "/api/scan/", {"door": door_rooms[0].door_token, "action": "explode"}, format="json"
    )
    assert response.status_code == 400
    assert "action" in response.json()["errors"]


# --- one person in a room at a time ---------------------------------------------------------


def test_back_to_back_the_next_donor_waits_until_the_room_is_free(people, door_rooms, sim, client_for):
    """alice is inside; bob, early for the next slot, scans the same door: refused, the relay
    still, his booking unchanged. When alice finishes, bob's scan opens the door."""
    slot = current_slot()
    alice = approved_booking(people, door_rooms[0], slot)
    bob = approved_booking(people, door_rooms[0], slot + timedelta(minutes=SLOT_MINUTES), donor=people.bob)
    assert scan(client_for(people.alice), door_rooms[0]).json()["action"] == "unlocked"
    assert sim.wait_coil(2, False, timeout=2)
    events = len(sim.history)

    response = scan(client_for(people.bob), door_rooms[0])
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "room_in_use"
    text = response.content.decode().lower()
    assert "alice" not in text and people.alice.donor_code.lower() not in text
    assert len(sim.history) == events
    bob.refresh_from_db()
    assert bob.status == "approved" and bob.checked_in_at is None
    assert AuditEvent.objects.filter(
        action="door.scan", actor=people.bob, outcome="refused", reason="room_in_use"
    ).exists()

    finish = {"door": door_rooms[0].door_token, "action": "finish"}
    assert client_for(people.alice).post("/api/scan/", finish, format="json").json()["action"] == "finished"
    response = scan(client_for(people.bob), door_rooms[0])
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "unlocked"
    assert sim.wait_coil(2, False, timeout=2)
    assert [e.on for e in sim.history[events:]] == [True, False]
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.status, bob.status) == ("completed", "in_progress")


def test_an_early_donor_never_goes_in_ahead_of_the_one_whose_slot_comes_first(people, door_rooms, sim, client_for):
    slot = current_slot()
    approved_booking(people, door_rooms[0], slot)
    approved_booking(people, door_rooms[0], slot + timedelta(minutes=SLOT_MINUTES), donor=people.bob)
    response = scan(client_for(people.bob), door_rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "room_in_use"
    assert sim.history == []
    assert scan(client_for(people.alice), door_rooms[0]).json()["action"] == "unlocked"


def test_the_room_managers_hear_at_once_of_an_overstay_that_keeps_someone_waiting(people, door_rooms, sim, client_for):
    from clinic.notifications.models import Notification

    slot = current_slot()
    alice = approved_booking(people, door_rooms[0], slot)
    assert scan(client_for(people.alice), door_rooms[0]).status_code == 200
    # alice's slot is over; bob's is now.
    Booking.objects.filter(pk=alice.pk).update(
        start=slot - timedelta(minutes=2 * SLOT_MINUTES), end=slot - timedelta(minutes=SLOT_MINUTES)
    )
    approved_booking(people, door_rooms[0], slot, donor=people.bob)
    for _ in range(2):
        response = scan(client_for(people.bob), door_rooms[0])
        assert response.status_code == 403 and response.json()["code"] == "room_in_use"
    told = Notification.objects.filter(kind="room.overstay", recipient=people.rita)
    assert told.count() == 1 and told.get().booking_id == alice.pk
    assert people.alice.donor_code in told.get().body and "Alice" not in told.get().body
    alice.refresh_from_db()
    assert alice.overstay_alerted_at is not None
    assert not Notification.objects.filter(kind="room.overstay", recipient=people.bob).exists()


def test_another_donor_at_a_booked_door_is_refused_and_the_relay_untouched(people, door_rooms, sim, client_for):
    approved_booking(people, door_rooms[0], current_slot())
    response = scan(client_for(people.bob), door_rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "no_booking"
    assert "alice" not in response.content.decode().lower()
    assert sim.coils() == [False] * 8 and sim.history == []
    assert AuditEvent.objects.filter(
        action="door.scan", actor=people.bob, outcome="refused", reason="no_booking"
    ).exists()


def test_the_wrong_door_is_refused(people, door_rooms, sim, client_for):
    approved_booking(people, door_rooms[0], current_slot())
    response = scan(client_for(people.alice), door_rooms[1])
    assert response.status_code == 403
    assert response.json()["code"] == "no_booking"
    assert sim.history == []


def test_a_forged_or_rotated_token_is_a_bad_door(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    client = client_for(people.alice)
    assert client.post("/api/scan/", {"door": "x" * 32}, format="json").json()["code"] == "bad_door"
    old = door_rooms[0].door_token
    assert client_for(people.sam).post(f"/api/rooms/{door_rooms[0].pk}/door-token/rotate/").status_code == 200
    response = client.post("/api/scan/", {"door": old}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "bad_door"
    booking.refresh_from_db()
    assert booking.status == "approved" and sim.history == []


def test_too_early_and_too_late(people, door_rooms, sim, client_for, settings):
    later = current_slot() + timedelta(hours=2)
    booking = approved_booking(people, door_rooms[0], later)
    response = scan(client_for(people.alice), door_rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "too_early"
    Booking.objects.filter(pk=booking.pk).update(
        start=timezone.now() - timedelta(minutes=settings.CHECK_IN_GRACE_MINUTES + 1)
    )
    response = scan(client_for(people.alice), door_rooms[0])
    assert response.json()["code"] == "too_late"
    booking.refresh_from_db()
    assert booking.status == "approved" and sim.history == []


def test_a_pending_booking_is_not_approved(people, door_rooms, sim, client_for):
    booking = f.booking(people.alice, door_rooms[0], current_slot())
    response = scan(client_for(people.alice), door_rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "not_approved"
    assert Booking.objects.get(pk=booking.pk).status == "pending"


def test_a_closed_room_is_refused(people, door_rooms, sim, client_for):
    approved_booking(people, door_rooms[0], current_slot())
    door_rooms[0].openings.all().delete()
    response = scan(client_for(people.alice), door_rooms[0])
    assert response.status_code == 403
    assert response.json()["code"] == "room_closed"
    assert sim.history == []


def test_a_stopped_simulator_gives_a_503_fast_and_changes_nothing(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    sim.stop()
    started = time.monotonic()
    response = scan(client_for(people.alice), door_rooms[0])
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["code"] == "lock_unavailable"
    booking.refresh_from_db()
    assert booking.status == "approved"
    assert AuditEvent.objects.filter(action="door.scan", outcome="failed").exists()


def test_a_frozen_board_gives_a_503_within_2_seconds(people, door_rooms, sim, client_for):
    booking = approved_booking(people, door_rooms[0], current_slot())
    sim.set_frozen(True)
    started = time.monotonic()
    response = scan(client_for(people.alice), door_rooms[0])
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert elapsed < 2.0, elapsed
    booking.refresh_from_db()
    assert booking.status == "approved"
    assert AuditEvent.objects.filter(action="door.scan", outcome="failed").count() == 1


def test_anonymous_scans_are_401(door_rooms, anon):
    response = anon.post("/api/scan/", {"door": door_rooms[0].door_token}, format="json")
    assert response.status_code == 401


def test_bad_bodies_are_400(people, door_rooms, client_for):
    client = client_for(people.alice)
    assert client.post("/api/scan/", {}, format="json").status_code == 400
    assert client.post("/api/scan/", {"door": ["x"]}, format="json").status_code == 400


def test_a_door_held_open_is_alerted_once(people, door_rooms, sim, settings):
    door_rooms[0].door_sensor_input = 3
    door_rooms[0].save()
    now = timezone.now()
    sim.set_door(3, True)
    assert doors.watch_doors(now) == []
    assert doors.watch_doors(now + timedelta(seconds=settings.DOOR_HELD_OPEN_SECONDS)) == [door_rooms[0].pk]
    assert doors.watch_doors(now + timedelta(seconds=settings.DOOR_HELD_OPEN_SECONDS + 60)) == []
    assert AuditEvent.objects.filter(action="door.held_open").count() == 1
    sim.set_door(3, False)
    doors.watch_doors(now + timedelta(seconds=500))
    door_rooms[0].refresh_from_db()
    assert door_rooms[0].door_open_since is None and door_rooms[0].door_alerted_at is None
