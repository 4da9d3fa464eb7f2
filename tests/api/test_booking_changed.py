"""booking.changed: the donor is told of every change someone else makes to his booking (booked
on his behalf, cancelled, moved, his session closed), with the reason meant for him; never of
his own changes."""

from __future__ import annotations

import pytest

from clinic.notifications.models import Notification
from tests import factories as f
from workflows import bookings as booking_flow


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    for room in (a, b):
        f.weekly_opening(room)
    return a, b


def told(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="booking.changed").order_by("id"))


def book(people, rooms, actor=None):
    start = f.at(f.tomorrow(), "09:00")
    return booking_flow.request_booking(
        actor=actor or people.alice, donor=people.alice, room_id=rooms[0].pk, start=start
    )


def test_a_booking_made_on_his_behalf_is_told(people, rooms, client_for):
    response = client_for(people.sam).post(
        "/api/bookings/",
        {"room": rooms[0].pk, "start": f.at(f.tomorrow(), "09:00").isoformat(), "donor": people.alice.donor_code},
        format="json",
    )
    assert response.status_code == 201
    (note,) = told(people.alice)
    assert note.data["change"] == "booked" and "Room A" in note.body and "09:00" in note.body


def test_his_own_booking_and_cancellation_are_not_told_back(people, rooms, client_for):
    booking = book(people, rooms)
    assert client_for(people.alice).post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json").status_code == 200
    assert told(people.alice) == []


def test_a_cancellation_by_staff_is_told_with_the_reason(people, rooms, client_for):
    booking = book(people, rooms)
    response = client_for(people.sam).post(
        f"/api/bookings/{booking.pk}/cancel/", {"reason": "the doctor is ill"}, format="json"
    )
    assert response.status_code == 200
    (note,) = told(people.alice)
    assert note.data["change"] == "cancelled" and "the doctor is ill" in note.body
    assert note.booking_id == booking.pk


def test_a_move_by_staff_is_told_with_the_new_time_and_room(people, rooms, client_for):
    booking = book(people, rooms)
    start = f.at(f.tomorrow(), "11:00")
    response = client_for(people.sam).post(
        f"/api/bookings/{booking.pk}/reschedule/", {"room": rooms[1].pk, "start": start.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    (note,) = told(people.alice)
    assert note.data["change"] == "moved" and "11:00" in note.body and "Room B" in note.body


def test_staff_reviewers_comment_never_reaches_the_change_notice(people, rooms, client_for):
    booking = book(people, rooms)
    client_for(people.sam).post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json")
    (note,) = told(people.alice)
    assert note.body.strip().endswith(".")  # no reason given: nothing appended
    for secret in ("Alice", "13800000001"):
        assert secret not in note.title + note.body
