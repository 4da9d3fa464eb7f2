"""GET /api/tasks/: each reviewer's open review tasks, with their bookings, in a fixed number of
queries however many there are (approving and rejecting: tests/workflows/test_booking_process.py)."""

from __future__ import annotations

from tests import factories as f
from workflows.flows import BookingFlow


def open_bookings(room, count: int, *, first: int = 0) -> list:
    """`count` donors, each with a booking under review, in consecutive half-hour slots."""
    bookings = []
    for n in range(first, first + count):
        donor = f.client_user(f"donor{n}", real_name=f"Donor {n}", phone=f"1380000{n:04d}")
        booking = f.booking(donor, room, f.at(f.tomorrow(), f"{8 + n // 2:02d}:{30 * (n % 2):02d}"))
        BookingFlow.start.run(booking=booking)
        bookings.append(booking)
    return bookings


def test_each_reviewer_sees_his_tasks_with_their_bookings(people, client_for):
    room = f.room("Room A")
    f.weekly_opening(room)
    bookings = open_bookings(room, 3)

    staff = client_for(people.sam).get("/api/tasks/")
    assert staff.status_code == 200
    assert [(t["kind"], t["booking"]["id"]) for t in staff.json()] == [("staff_review", b.pk) for b in bookings]
    assert [t["booking"]["donor"]["name"] for t in staff.json()] == ["Donor 0", "Donor 1", "Donor 2"]
    rooms = client_for(people.rita).get("/api/tasks/").json()
    assert [(t["kind"], t["booking"]["id"]) for t in rooms] == [("room_review", b.pk) for b in bookings]
    assert all("donor" not in t["booking"] for t in rooms)  # room managers never see names


def test_the_query_count_does_not_grow_with_the_tasks(people, client_for, django_assert_max_num_queries):
    room = f.room("Room A")
    f.weekly_opening(room)
    open_bookings(room, 2)
    client = client_for(people.sam)
    with django_assert_max_num_queries(6) as two:
        assert len(client.get("/api/tasks/").json()) == 2
    open_bookings(room, 8, first=2)
    with django_assert_max_num_queries(len(two.captured_queries)):
        assert len(client.get("/api/tasks/").json()) == 10


def test_tasks_come_soonest_slot_first_whatever_the_order_they_were_asked_in(people, client_for):
    """A request starting in a few minutes is not below tomorrow's because it was made later."""
    room = f.room("Room A")
    f.weekly_opening(room)
    late, early = open_bookings(room, 1, first=10) + open_bookings(room, 1, first=0)
    assert late.start > early.start and late.pk < early.pk
    for persona in (people.sam, people.rita):
        tasks = client_for(persona).get("/api/tasks/").json()
        assert [t["booking"]["id"] for t in tasks] == [early.pk, late.pk]
