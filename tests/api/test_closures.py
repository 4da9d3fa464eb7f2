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
