"""GET /api/slots/?date=: every distinct slot of the day in which a room is open, ordered by
start, with the rooms still free; open to anonymous visitors; never names who booked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.bookings.models import Booking
from tests import factories as f


@pytest.fixture
def rooms(db):
    """Room A on the hour and half hour from 08:00, Room B offset by 15 minutes."""
    a, b = f.room("Room A", coil=0), f.room("Room B", coil=1)
    f.weekly_opening(a, start="08:00", end="10:00", slot_minutes=30)
    f.weekly_opening(b, start="08:15", end="09:45", slot_minutes=30)
    return a, b


def slots(client, day):
    response = client.get("/api/slots/", {"date": day.isoformat()})
    assert response.status_code == 200, response.content
    return response.json()


def hhmm(slot) -> str:
    return slot["start"][11:16]


def test_it_is_open_to_anonymous_visitors_and_ordered_by_start(rooms, anon):
    b = rooms[1]
    day = f.tomorrow()
    answer = slots(anon, day)
    assert [hhmm(s) for s in answer] == ["08:00", "08:15", "08:30", "08:45", "09:00", "09:15", "09:30"]
    assert all(set(s) == {"start", "end", "available", "free_rooms", "open_rooms"} for s in answer)
    first = answer[0]
    assert first["start"] == f.at(day, "08:00").isoformat() and first["start"].endswith("+08:00")
    assert first["end"] == f.at(day, "08:30").isoformat()
    # Offset grids: each start belongs to one room.
    assert {hhmm(s): [r["name"] for r in s["free_rooms"]] for s in answer} == {
        "08:00": ["Room A"],
        "08:15": ["Room B"],
        "08:30": ["Room A"],
        "08:45": ["Room B"],
        "09:00": ["Room A"],
        "09:15": ["Room B"],
        "09:30": ["Room A"],
    }
    assert answer[1]["free_rooms"] == [{"id": b.pk, "name": "Room B"}]
    assert all(s["available"] for s in answer)


def test_rooms_on_the_same_grid_share_a_slot(rooms, anon):
    c = f.room("Room C", coil=2)
    f.weekly_opening(c, start="08:00", end="09:00", slot_minutes=30)
    answer = slots(anon, f.tomorrow())
    assert [r["name"] for r in answer[0]["free_rooms"]] == ["Room A", "Room C"]
    assert len({(s["start"], s["end"]) for s in answer}) == len(answer)


def test_a_slot_with_no_free_room_is_listed_as_unavailable(people, rooms, anon):
    a, _ = rooms
    day = f.tomorrow()
    booking = f.booking(people.alice, a, f.at(day, "08:30"))
    answer = {hhmm(s): s for s in slots(anon, day)}
    assert answer["08:30"] == {
        "start": f.at(day, "08:30").isoformat(),
        "end": f.at(day, "09:00").isoformat(),
        "available": False,
        "free_rooms": [],
        "open_rooms": [a.pk],  # open, and taken: never by whom
    }
    assert answer["08:00"]["available"] and answer["09:00"]["available"]
    assert Booking.objects.get().pk == booking.pk  # reading never books
    # A cancelled booking frees the slot again.
    Booking.objects.filter(pk=booking.pk).update(status="cancelled")
    assert {hhmm(s): s for s in slots(anon, day)}["08:30"]["available"] is True


def test_a_shared_slot_stays_available_while_one_room_is_free(people, rooms, anon):
    a, _ = rooms
    c = f.room("Room C", coil=2)
    f.weekly_opening(c, start="08:00", end="09:00", slot_minutes=30)
    day = f.tomorrow()
    f.booking(people.alice, a, f.at(day, "08:00"))
    first = slots(anon, day)[0]
    assert first["available"] is True and [r["name"] for r in first["free_rooms"]] == ["Room C"]


def test_slots_that_have_started_are_unavailable(rooms, anon):
    yesterday = timezone.localdate() - timedelta(days=1)
    answer = slots(anon, yesterday)
    assert len(answer) == 7
    assert not any(s["available"] or s["free_rooms"] for s in answer)


def test_the_arrival_gap_makes_nearby_starts_unavailable(people, rooms, anon, settings):
    settings.ARRIVAL_GAP_MINUTES = 20
    a, _ = rooms
    day = f.tomorrow()
    f.booking(people.alice, a, f.at(day, "09:00"))
    answer = {hhmm(s): s["available"] for s in slots(anon, day)}
    assert answer == {
        "08:00": True,
        "08:15": True,
        "08:30": True,
        "08:45": False,  # Room B, 15 minutes before a booked start
        "09:00": False,
        "09:15": False,
        "09:30": True,
    }


def test_inactive_rooms_are_not_offered(rooms, anon):
    a, _ = rooms
    a.active = False
    a.save()
    assert [hhmm(s) for s in slots(anon, f.tomorrow())] == ["08:15", "08:45", "09:15"]


def test_it_never_names_who_booked(people, rooms, anon, client_for):
    a, b = rooms
    day = f.tomorrow()
    f.booking(people.alice, a, f.at(day, "08:00"))
    f.booking(people.bob, b, f.at(day, "08:15"))
    secrets = [
        people.alice.donor_profile.donor_code,
        people.bob.donor_profile.donor_code,
        "Alice Wang",
        "Bob Li",
        "alice",
        "bob",
        "13800000001",
        "13800000002",
        "donor",
    ]
    for client in (anon, client_for(people.carl), client_for(people.sam)):
        response = client.get("/api/slots/", {"date": day.isoformat()})
        assert response.status_code == 200
        text = response.content.decode()
        assert not [s for s in secrets if s in text], text
        assert all(set(r) == {"id", "name"} for slot in response.json() for r in slot["free_rooms"])


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"date": ""},
        {"date": "tomorrow"},
        {"date": "2026-02-30"},
        {"date": "2026-13-01"},
        {"date": "2026-1-5x"},
        {"date": "2026-01-01T00:00:00+08:00"},
        {"date": "0001-01-01"},
        {"date": "9999-12-31"},
        {"day": "2030-01-01"},
    ],
)
def test_a_missing_or_bad_date_is_a_400_json_error(rooms, anon, query):
    response = anon.get("/api/slots/", query)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "invalid" and "date" in body["errors"] and body["detail"].startswith("date")


def test_a_day_without_openings_is_an_empty_list(db, anon):
    assert slots(anon, f.tomorrow()) == []


def test_the_query_count_does_not_grow_with_rooms_or_bookings(people, rooms, anon, django_assert_max_num_queries):
    day = f.tomorrow()
    for i in range(20):
        room = f.room(f"Room {i:02d}", coil=10 + i)
        f.weekly_opening(room, start="08:00", end="20:00", slot_minutes=15)
    f.booking(people.alice, rooms[0], f.at(day, "08:00"))
    f.booking(people.bob, rooms[1], f.at(day, "08:15"))
    with django_assert_max_num_queries(6):
        assert len(slots(anon, day)) > 40
