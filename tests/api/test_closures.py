"""GET/POST /api/rooms/{id}/closures/ (a room out of service) and /api/closures/ (site-wide
holidays): the closed days offer no slot of that room, or none at all."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from clinic.audit.models import AuditEvent
from clinic.rooms.models import Closure
from tests import factories as f


@pytest.fixture
def rooms(db):
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    f.weekly_opening(a, start="08:00", end="10:00", slot_minutes=60)
    f.weekly_opening(b, start="08:00", end="10:00", slot_minutes=60)
    return a, b


def days_ahead(n: int) -> date:
    return timezone.localdate() + timedelta(days=n)


def rooms_offered(client, day: date) -> set[str]:
    response = client.get("/api/slots/", {"date": day.isoformat()})
    assert response.status_code == 200
    return {room["name"] for slot in response.json() for room in slot["free_rooms"]}


def test_a_room_closure_takes_the_room_out_of_the_slots_on_those_days(people, rooms, client_for, anon):
    a, _ = rooms
    first, last = days_ahead(3), days_ahead(4)
    response = client_for(people.sam).post(
        f"/api/rooms/{a.pk}/closures/",
        {"start_date": first.isoformat(), "end_date": last.isoformat(), "reason": "plumbing"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        "room": a.pk,
        "start_date": first.isoformat(),
        "end_date": last.isoformat(),
        "reason": "plumbing",
        "cancelled": [],
    }
    row = Closure.objects.get(pk=body["id"])
    assert (row.room, row.start_date, row.end_date, row.reason) == (a, first, last, "plumbing")
    assert AuditEvent.objects.filter(action="closure.created", object_id=str(row.pk), actor=people.sam).exists()

    assert rooms_offered(anon, days_ahead(2)) == {"Room A", "Room B"}
    assert rooms_offered(anon, first) == {"Room B"}
    assert rooms_offered(anon, last) == {"Room B"}
    assert rooms_offered(anon, days_ahead(5)) == {"Room A", "Room B"}


def test_a_site_wide_closure_leaves_no_slot_at_all(people, rooms, client_for, anon):
    day = days_ahead(6)
    response = client_for(people.sam).post(
        "/api/closures/", {"start_date": day.isoformat(), "end_date": day.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["room"] is None and response.json()["reason"] == ""
    row = Closure.objects.get()
    assert (row.room, row.start_date, row.end_date) == (None, day, day)
    assert anon.get("/api/slots/", {"date": day.isoformat()}).json() == []
    assert rooms_offered(anon, day - timedelta(days=1)) == {"Room A", "Room B"}
    assert rooms_offered(anon, day + timedelta(days=1)) == {"Room A", "Room B"}


def test_anyone_logged_in_lists_closures_site_wide_and_per_room(people, rooms, client_for, anon):
    a, b = rooms
    holiday = Closure.objects.create(room=None, start_date=days_ahead(1), end_date=days_ahead(3), reason="holiday")
    repair = Closure.objects.create(room=a, start_date=days_ahead(2), end_date=days_ahead(2), reason="repair")
    client = client_for(people.alice)
    assert [c["id"] for c in client.get("/api/closures/").json()] == [holiday.pk]
    assert [c["id"] for c in client.get(f"/api/rooms/{a.pk}/closures/").json()] == [repair.pk]
    assert client.get(f"/api/rooms/{b.pk}/closures/").json() == []
    assert client.get("/api/rooms/9999/closures/").status_code == 404
    assert anon.get("/api/closures/").status_code == 401


@pytest.mark.parametrize(
    "body,code",
    [
        ({"start_date": "2030-01-10", "end_date": "2030-01-09"}, "bad_closure"),
        ({"start_date": "2030-01-10"}, "invalid"),
        ({"end_date": "2030-01-10"}, "invalid"),
        ({"start_date": "2030-02-30", "end_date": "2030-03-01"}, "invalid"),
        ({"start_date": "soon", "end_date": "later"}, "invalid"),
        ({"start_date": "2030-01-10", "end_date": "2030-01-11", "reason": "x" * 201}, "invalid"),
    ],
)
@pytest.mark.parametrize("site_wide", [True, False])
def test_a_bad_closure_is_a_400_and_no_row(people, rooms, client_for, body, code, site_wide):
    path = "/api/closures/" if site_wide else f"/api/rooms/{rooms[0].pk}/closures/"
    response = client_for(people.sam).post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Closure.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "carl", "rita", "adam"])
def test_only_holders_of_manage_rooms_close_rooms(people, rooms, client_for, persona, anon):
    body = {"start_date": days_ahead(1).isoformat(), "end_date": days_ahead(1).isoformat()}
    client = client_for(getattr(people, persona))
    assert client.post("/api/closures/", body, format="json").status_code == 403
    assert client.post(f"/api/rooms/{rooms[0].pk}/closures/", body, format="json").status_code == 403
    assert anon.post("/api/closures/", body, format="json").status_code == 401
    assert not Closure.objects.exists()
    assert rooms_offered(anon, days_ahead(1)) == {"Room A", "Room B"}


def test_closing_an_unknown_room_is_a_404(people, rooms, client_for):
    body = {"start_date": days_ahead(1).isoformat(), "end_date": days_ahead(1).isoformat()}
    response = client_for(people.sam).post("/api/rooms/9999/closures/", body, format="json")
    assert response.status_code == 404
    assert not Closure.objects.exists()


# --- closures over active bookings (API.md: 409 bookings_affected, or affected: "cancel") ---


@pytest.fixture
def booked(people, rooms, django_capture_on_commit_callbacks):
    """alice pending in Room A and bob approved in Room B on day 3, carl pending in Room A on day 4."""
    from workflows import bookings as booking_flow

    made = {}
    with django_capture_on_commit_callbacks(execute=True):
        for who, room, day in (("alice", 0, 3), ("bob", 1, 3), ("carl", 0, 4)):
            user = getattr(people, who)
            start = f.at(days_ahead(day), "08:00")
            made[who] = booking_flow.request_booking(actor=user, donor=user, room_id=rooms[room].pk, start=start)
    from clinic.bookings.models import Booking

    Booking.objects.filter(pk=made["bob"].pk).update(status="approved")
    return made


def close(client, url, day_from, day_to, **extra):
    body = {"start_date": day_from.isoformat(), "end_date": day_to.isoformat(), "reason": "pipe burst", **extra}
    return client.post(url, body, format="json")


def test_a_closure_over_active_bookings_is_refused_with_their_list(people, rooms, booked, client_for):
    response = close(client_for(people.sam), f"/api/rooms/{rooms[0].pk}/closures/", days_ahead(3), days_ahead(4))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "bookings_affected" and body["detail"]
    assert [(b["id"], b["room"], b["donor_code"]) for b in body["bookings"]] == [
        (booked["alice"].pk, rooms[0].pk, people.alice.donor_code),
        (booked["carl"].pk, rooms[0].pk, people.carl.donor_code),
    ]
    assert body["bookings"][0]["start"] == f.at(days_ahead(3), "08:00").isoformat()
    assert not Closure.objects.exists()
    assert "Alice" not in response.content.decode()


def test_a_site_wide_closure_lists_every_room(people, rooms, booked, client_for):
    response = close(client_for(people.sam), "/api/closures/", days_ahead(3), days_ahead(3))
    assert response.status_code == 409
    assert {b["id"] for b in response.json()["bookings"]} == {booked["alice"].pk, booked["bob"].pk}


def test_told_to_cancel_them_it_closes_cancels_and_tells_each_donor_why(
    people, rooms, booked, client_for, django_capture_on_commit_callbacks
):
    from clinic.bookings.models import Booking
    from clinic.notifications.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        response = close(client_for(people.sam), "/api/closures/", days_ahead(3), days_ahead(3), affected="cancel")
    assert response.status_code == 201, response.content
    assert sorted(response.json()["cancelled"]) == sorted([booked["alice"].pk, booked["bob"].pk])
    assert Closure.objects.count() == 1
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses[booked["alice"].pk] == statuses[booked["bob"].pk] == "cancelled"
    assert statuses[booked["carl"].pk] == "pending"
    for who in ("alice", "bob"):
        (told,) = Notification.objects.filter(recipient=getattr(people, who), kind="booking.changed")
        assert "cancelled" in told.body and "pipe burst" in told.body
    assert AuditEvent.objects.filter(action="booking.cancelled").count() == 2


def test_an_unknown_instruction_is_a_400(people, rooms, booked, client_for):
    response = close(client_for(people.sam), "/api/closures/", days_ahead(3), days_ahead(3), affected="move")
    assert response.status_code == 400 and "affected" in response.json()["errors"]
    assert not Closure.objects.exists()


def test_a_closure_over_no_active_booking_needs_no_instruction(people, rooms, booked, client_for):
    response = close(client_for(people.sam), f"/api/rooms/{rooms[1].pk}/closures/", days_ahead(4), days_ahead(5))
    assert response.status_code == 201
    assert response.json()["cancelled"] == []
