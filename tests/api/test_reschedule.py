"""POST /api/bookings/{id}/reschedule/: the owner moves his own booking while it is pending or
approved (the reviews start again), staff move anyone's; nobody else learns the booking exists."""

from __future__ import annotations

import pytest

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from tests import factories as f
from workflows import bookings as booking_flow


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    for room in (a, b):
        f.weekly_opening(room)
    return a, b


@pytest.fixture
def booking(people, rooms):
    return booking_flow.request_booking(
        actor=people.alice, donor=people.alice, room_id=rooms[0].pk, start=f.at(f.tomorrow(), "09:00")
    )


def move(client, booking, room, hhmm="14:00"):
    body = {"room": room.pk, "start": f.at(f.tomorrow(), hhmm).isoformat()}
    return client.post(f"/api/bookings/{booking.pk}/reschedule/", body, format="json")


def test_the_owner_moves_his_pending_booking(people, rooms, booking, client_for):
    response = move(client_for(people.alice), booking, rooms[1])
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["room"], data["start"], data["status"]) == (
        rooms[1].pk,
        f.at(f.tomorrow(), "14:00").isoformat(),
        "pending",
    )
    booking.refresh_from_db()
    assert (booking.room, booking.start, booking.status) == (rooms[1], f.at(f.tomorrow(), "14:00"), "pending")
    assert AuditEvent.objects.filter(action="booking.rescheduled", actor=people.alice).count() == 1
    # His own change is not told back to him.
    assert not Notification.objects.filter(recipient=people.alice, kind="booking.changed").exists()


def test_the_owner_moves_his_approved_booking_and_it_is_reviewed_again(people, rooms, booking, client_for):
    Booking.objects.filter(pk=booking.pk).update(status="approved", staff_review="approved", room_review="approved")
    assert move(client_for(people.alice), booking, rooms[0], "15:00").status_code == 200
    booking.refresh_from_db()
    assert (booking.status, booking.staff_review, booking.room_review) == ("pending", "pending", "pending")


@pytest.mark.parametrize("status", ["cancelled", "rejected", "expired", "completed", "no_show", "in_progress"])
def test_a_booking_that_is_over_or_under_way_is_not_moved(people, rooms, booking, client_for, status):
    Booking.objects.filter(pk=booking.pk).update(status=status)
    response = move(client_for(people.alice), booking, rooms[1])
    assert (response.status_code, response.json()["code"]) == (409, "not_reschedulable")
    booking.refresh_from_db()
    assert (booking.room, booking.start) == (rooms[0], f.at(f.tomorrow(), "09:00"))


def test_someone_elses_booking_is_not_found(people, rooms, booking, client_for):
    assert move(client_for(people.bob), booking, rooms[1]).status_code == 404
    assert move(client_for(people.rita), booking, rooms[1]).status_code == 403
    booking.refresh_from_db()
    assert booking.room == rooms[0]


def test_a_taken_or_past_slot_is_refused_and_nothing_changes(people, rooms, booking, client_for):
    f.booking(people.bob, rooms[1], f.at(f.tomorrow(), "14:00"))
    assert move(client_for(people.alice), booking, rooms[1]).json()["code"] == "slot_taken"
    response = client_for(people.alice).post(
        f"/api/bookings/{booking.pk}/reschedule/",
        {"room": rooms[1].pk, "start": "2020-01-01T09:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 400
    booking.refresh_from_db()
    assert (booking.room, booking.start) == (rooms[0], f.at(f.tomorrow(), "09:00"))
