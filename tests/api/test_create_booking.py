from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from tests import factories as f


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    f.weekly_opening(a)
    f.weekly_opening(b)
    return a, b


def book(client, room, start, **extra):
    return client.post("/api/bookings/", {"room": room.pk, "start": start.isoformat(), **extra}, format="json")


def test_a_donor_books_a_free_slot(people, rooms, client_for):
    start = f.at(f.tomorrow(), "09:00")
    response = book(client_for(people.alice), rooms[0], start)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["staff_review"] == "pending" and body["room_review"] == "pending"
    assert body["donor_code"] == people.alice.donor_profile.donor_code
    assert body["payment"] == "not_required"
    assert body["start"].endswith("+08:00") and body["end"] == (start + timedelta(minutes=30)).isoformat()
    assert "donor" not in body
    row = Booking.objects.get(pk=body["id"])
    assert (row.donor, row.room, row.start, row.status) == (people.alice, rooms[0], start, "pending")
    assert AuditEvent.objects.filter(action="booking.created", object_id=str(row.pk)).exists()


def test_a_self_preservation_booking_waits_for_payment(people, rooms, client_for):
    response = book(client_for(people.carl), rooms[0], f.at(f.tomorrow(), "09:00"))
    assert response.status_code == 201
    assert response.json()["payment"] == "pending"
    assert Booking.objects.get().purpose == "self_preservation"


def test_a_taken_slot_is_a_409(people, rooms, client_for):
    start = f.at(f.tomorrow(), "09:00")
    assert book(client_for(people.alice), rooms[0], start).status_code == 201
    response = book(client_for(people.bob), rooms[0], start)
    assert response.status_code == 409
    assert response.json()["code"] == "slot_taken"
    assert Booking.objects.count() == 1
    assert book(client_for(people.bob), rooms[1], start).status_code == 201


def test_a_time_off_the_grid_is_not_a_slot(people, rooms, client_for):
    response = book(client_for(people.alice), rooms[0], f.at(f.tomorrow(), "09:10"))
    assert response.status_code == 400
    assert response.json()["code"] == "not_a_slot"
    response = book(client_for(people.alice), rooms[0], f.at(f.tomorrow(), "21:00"))
    assert response.json()["code"] == "not_a_slot"
    assert not Booking.objects.exists()


def test_a_past_slot_is_refused(people, rooms, client_for):
    response = book(client_for(people.alice), rooms[0], f.at(timezone.localdate() - timedelta(days=1), "09:00"))
    assert response.status_code == 400
    assert response.json()["code"] == "not_a_slot"


def test_one_active_booking_per_donor(people, rooms, client_for):
    client = client_for(people.alice)
    assert book(client, rooms[0], f.at(f.tomorrow(), "09:00")).status_code == 201
    response = book(client, rooms[1], f.at(f.tomorrow(), "11:00"))
    assert response.status_code == 409
    assert response.json()["code"] == "active_booking_exists"


def test_donations_must_be_days_apart(people, rooms, client_for, settings):
    settings.MIN_DAYS_BETWEEN_DONATIONS = 3
    f.booking(people.alice, rooms[0], f.at(timezone.localdate(), "00:00") - timedelta(days=1), status="completed")
    response = book(client_for(people.alice), rooms[0], f.at(f.tomorrow(), "09:00"))
    assert response.status_code == 409
    assert response.json()["code"] == "too_soon_after_last_donation"
    assert "at least 3 days" in response.json()["detail"]
    day = timezone.localdate() + timedelta(days=3)
    assert book(client_for(people.alice), rooms[0], f.at(day, "09:00")).status_code == 201


def test_self_preservation_clients_are_exempt_from_the_interval(people, rooms, client_for):
    f.booking(people.carl, rooms[0], f.at(timezone.localdate(), "00:00") - timedelta(days=1), status="completed")
    assert book(client_for(people.carl), rooms[0], f.at(f.tomorrow(), "09:00")).status_code == 201


def test_the_arrival_gap_is_enforced_across_rooms(people, rooms, client_for, settings):
    settings.ARRIVAL_GAP_MINUTES = 10
    a, b = rooms
    assert book(client_for(people.alice), a, f.at(f.tomorrow(), "09:00")).status_code == 201
    response = book(client_for(people.bob), b, f.at(f.tomorrow(), "09:00"))
    assert response.status_code == 409
    assert response.json()["code"] == "arrival_gap"


def test_staff_book_on_a_donors_behalf(people, rooms, client_for):
    response = book(
        client_for(people.sam), rooms[0], f.at(f.tomorrow(), "09:00"), donor=people.bob.donor_profile.donor_code
    )
    assert response.status_code == 201, response.content
    assert response.json()["donor"] == {"name": "Bob Li", "phone": "13800000002"}
    row = Booking.objects.get()
    assert row.donor == people.bob and row.created_by == people.sam


def test_donors_cannot_book_for_others(people, rooms, client_for):
    response = book(client_for(people.alice), rooms[0], f.at(f.tomorrow(), "09:00"), donor=str(people.bob.pk))
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_roles_without_book_cannot_book(people, rooms, client_for, anon):
    for user in (people.rita, people.adam):
        assert book(client_for(user), rooms[0], f.at(f.tomorrow(), "09:00")).status_code == 403
    assert book(anon, rooms[0], f.at(f.tomorrow(), "09:00")).status_code == 401
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"room": "x", "start": "tomorrow"},
        {"room": 1, "start": "2026-13-45T99:00"},
        {"room": -1, "start": "2030-01-01T09:00:00+08:00"},
    ],
)
def test_bad_bodies_are_400s(people, rooms, client_for, body):
    response = client_for(people.alice).post("/api/bookings/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "not_a_slot"}
    assert not Booking.objects.exists()


def test_an_unknown_room_is_not_a_slot(people, rooms, client_for):
    response = client_for(people.alice).post(
        "/api/bookings/", {"room": 999, "start": f.at(f.tomorrow(), "09:00").isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "not_a_slot"


@pytest.mark.parametrize("reference", ["²", "9" * 25, "nobody", ""])
def test_an_unknown_donor_reference_is_a_400(people, rooms, client_for, reference):
    response = book(client_for(people.sam), rooms[0], f.at(f.tomorrow(), "09:00"), donor=reference)
    assert response.status_code == 400
    assert response.json()["code"] in {"unknown_donor", "invalid"}
    assert not Booking.objects.exists()


def test_the_donor_profile_is_read_once_under_his_lock(people, rooms, client_for):
    """His status decides the booking's purpose, so the profile is read after his row is locked;
    the reviewers' notifications (his donor code) use that read, not another."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinic.notifications.models import Notification

    client = client_for(people.alice)
    with CaptureQueriesContext(connection) as queries:
        response = book(client, rooms[0], f.at(f.tomorrow(), "09:00"))
    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    profile_reads = [i for i, sql in enumerate(statements) if 'FROM "accounts_donorprofile"' in sql]
    donor_lock = next(i for i, sql in enumerate(statements) if 'FROM "accounts_user"' in sql and "FOR UPDATE" in sql)
    assert len(profile_reads) == 1 and profile_reads[0] > donor_lock
    code = people.alice.donor_profile.donor_code
    announced = Notification.objects.filter(booking_id=response.json()["id"]).exclude(recipient=people.alice)
    assert announced.exists() and all(n.data["code"] == code for n in announced)
