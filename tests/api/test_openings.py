"""GET/POST /api/rooms/{id}/openings/, PATCH/DELETE /api/openings/{id}/: weekly or one-off
windows cut into slots; windows of one room never overlap."""

from datetime import date, time, timedelta

import pytest

from clinic.audit.models import AuditEvent
from clinic.rooms.models import Opening
from tests import factories as f

MONDAY = date(2030, 1, 7)


@pytest.fixture
def room(db):
    return f.room("Room A")


@pytest.fixture
def weekly(room):
    """Mondays to Fridays, 08:00-12:00, 30-minute slots."""
    return f.weekly_opening(room, start="08:00", end="12:00", slot_minutes=30, weekdays=(0, 1, 2, 3, 4))


def add(client, room, **body):
    return client.post(f"/api/rooms/{room.pk}/openings/", body, format="json")


def test_it_adds_a_weekly_window(people, room, client_for):
    response = add(
        client_for(people.sam), room, weekdays=[5, 6, 5], start_time="09:00", end_time="17:00", slot_minutes=20
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        "room": room.pk,
        "date": None,
        "weekdays": [5, 6],
        "start_time": "09:00",
        "end_time": "17:00",
        "slot_minutes": 20,
    }
    row = Opening.objects.get(pk=body["id"])
    assert (row.room, row.date, row.weekdays, row.start_time, row.end_time, row.slot_minutes) == (
        room,
        None,
        [5, 6],
        time(9),
        time(17),
        20,
    )
    assert AuditEvent.objects.filter(action="opening.created", object_id=str(row.pk), actor=people.sam).exists()


def test_it_adds_a_one_off_window(people, room, client_for):
    response = add(
        client_for(people.sam), room, date="2030-01-12", start_time="13:30", end_time="15:00", slot_minutes=45
    )
    assert response.status_code == 201, response.content
    assert response.json()["date"] == "2030-01-12" and response.json()["weekdays"] == []
    row = Opening.objects.get(pk=response.json()["id"])
    assert (row.date, row.weekdays, row.start_time, row.end_time) == (date(2030, 1, 12), [], time(13, 30), time(15))


def test_windows_may_touch_or_share_hours_on_other_days(people, room, weekly, client_for):
    client = client_for(people.sam)
    # Right after the weekly window, the same hours at the weekend, a Saturday date, another room.
    assert add(client, room, weekdays=[0], start_time="12:00", end_time="13:00", slot_minutes=30).status_code == 201
    assert add(client, room, weekdays=[5, 6], start_time="08:00", end_time="12:00", slot_minutes=30).status_code == 201
    assert (
        add(client, room, date="2030-01-19", start_time="14:00", end_time="15:00", slot_minutes=15).status_code == 201
    )
    other = f.room("Room B", coil=1)
    assert add(client, other, weekdays=[0], start_time="08:00", end_time="12:00", slot_minutes=30).status_code == 201
    assert Opening.objects.filter(room=room).count() == 4


@pytest.mark.parametrize(
    "body,field,message",
    [
        (
            {"weekdays": [0], "start_time": "12:00", "end_time": "08:00", "slot_minutes": 30},
            "end_time",
            "The end time must be after the start time.",
        ),
        (
            {"weekdays": [0], "start_time": "08:00", "end_time": "08:00", "slot_minutes": 30},
            "end_time",
            "The end time must be after the start time.",
        ),
        (
            {"weekdays": [0], "start_time": "08:00", "end_time": "09:00", "slot_minutes": 25},
            "slot_minutes",
            "The window lasts 60 minutes, which 25-minute slots do not divide evenly.",
        ),
        (
            {"weekdays": [5], "start_time": "08:00:30", "end_time": "09:00", "slot_minutes": 30},
            "start_time",
            "Times are whole minutes (HH:MM).",
        ),
        (
            {"start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
            "date",
            "Give either a date or a list of weekdays (0 = Monday).",
        ),
        (
            {"date": "2030-01-12", "weekdays": [1], "start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
            "date",
            "Give either a date or a list of weekdays (0 = Monday).",
        ),
    ],
)
def test_a_bad_window_is_a_400_with_a_clear_message(people, room, client_for, body, field, message):
    response = add(client_for(people.sam), room, **body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["code"] == "bad_window"
    assert answer["detail"] == message and answer["errors"][field] == [message]
    assert not Opening.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"weekdays": [2], "start_time": "11:30", "end_time": "13:00", "slot_minutes": 30},  # overlaps the end
        {"weekdays": [6, 4], "start_time": "07:00", "end_time": "08:30", "slot_minutes": 30},  # Friday
        {"weekdays": [1], "start_time": "09:00", "end_time": "10:00", "slot_minutes": 15},  # inside
        {"weekdays": [3], "start_time": "06:00", "end_time": "14:00", "slot_minutes": 60},  # around
        {"date": "2030-01-09", "start_time": "10:00", "end_time": "10:30", "slot_minutes": 30},  # a Wednesday
    ],
)
def test_an_overlapping_window_of_the_same_room_is_a_400(people, room, weekly, client_for, body):
    response = add(client_for(people.sam), room, **body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["code"] == "overlapping_window"
    assert answer["detail"] == "This window overlaps another window of the room (weekly 08:00-12:00)."
    assert list(Opening.objects.values_list("pk", flat=True)) == [weekly.pk]


def test_an_overlapping_one_off_window_names_its_date(people, room, client_for):
    client = client_for(people.sam)
    assert (
        add(client, room, date="2030-01-09", start_time="10:00", end_time="11:00", slot_minutes=30).status_code == 201
    )
    response = add(client, room, weekdays=[2], start_time="10:30", end_time="12:00", slot_minutes=30)
    assert response.status_code == 400
    assert response.json()["detail"] == "This window overlaps another window of the room (2030-01-09 10:00-11:00)."
    assert Opening.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"weekdays": [7], "start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
        {"weekdays": "mon", "start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
        {"weekdays": [0], "start_time": "25:00", "end_time": "26:00", "slot_minutes": 30},
        {"weekdays": [0], "start_time": "08:00", "end_time": "24:00", "slot_minutes": 30},
        {"weekdays": [0], "start_time": "08:00", "end_time": "09:00", "slot_minutes": 3},
        {"weekdays": [0], "start_time": "08:00", "end_time": "18:00", "slot_minutes": 300},
        {"weekdays": [0], "start_time": "08:00", "end_time": "09:00", "slot_minutes": "half an hour"},
        {"date": "2030-02-30", "start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
        {"weekdays": [0, 1, 2, 3, 4, 5, 6, 0], "start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
    ],
)
def test_a_malformed_body_is_a_400(people, room, client_for, body):
    response = add(client_for(people.sam), room, **body)
    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"detail", "code"}
    assert not Opening.objects.exists()


def test_anyone_logged_in_lists_a_rooms_windows(people, room, weekly, client_for, anon):
    one_off = Opening.objects.create(
        room=room, date=MONDAY + timedelta(days=5), start_time=time(9), end_time=time(10), slot_minutes=30
    )
    for user in (people.alice, people.rita, people.sam):
        response = client_for(user).get(f"/api/rooms/{room.pk}/openings/")
        assert response.status_code == 200
        assert {o["id"]: (o["weekdays"], o["date"]) for o in response.json()} == {
            weekly.pk: ([0, 1, 2, 3, 4], None),
            one_off.pk: ([], "2030-01-12"),
        }
    assert anon.get(f"/api/rooms/{room.pk}/openings/").status_code == 401
    assert client_for(people.alice).get("/api/rooms/9999/openings/").status_code == 404


def test_it_patches_a_window(people, room, weekly, client_for):
    client = client_for(people.sam)
    response = client.patch(f"/api/openings/{weekly.pk}/", {"end_time": "13:00", "slot_minutes": 20}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["end_time"] == "13:00" and response.json()["slot_minutes"] == 20
    row = Opening.objects.get(pk=weekly.pk)
    assert (row.start_time, row.end_time, row.slot_minutes, row.weekdays) == (time(8), time(13), 20, [0, 1, 2, 3, 4])
    assert AuditEvent.objects.filter(action="opening.updated", object_id=str(weekly.pk)).exists()
    # A weekly window becomes a one-off one when given a date.
    response = client.patch(f"/api/openings/{weekly.pk}/", {"date": "2030-01-12"}, format="json")
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.date, row.weekdays) == (date(2030, 1, 12), [])


@pytest.mark.parametrize(
    "body,code",
    [
        ({"start_time": "12:30"}, "bad_window"),  # after the end
        ({"slot_minutes": 25}, "bad_window"),
        ({"weekdays": []}, "bad_window"),
        ({"start_time": "13:00", "end_time": "15:00"}, "overlapping_window"),
        ({"slot_minutes": 0}, "invalid"),
    ],
)
def test_a_bad_patch_is_a_400_and_leaves_the_window_alone(people, room, client_for, body, code):
    f.weekly_opening(room, start="13:00", end="14:00", weekdays=(0,))
    window = f.weekly_opening(room, start="08:00", end="12:00", slot_minutes=30, weekdays=(0, 1))
    response = client_for(people.sam).patch(f"/api/openings/{window.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    row = Opening.objects.get(pk=window.pk)
    assert (row.start_time, row.end_time, row.slot_minutes, row.weekdays, row.date) == (
        time(8),
        time(12),
        30,
        [0, 1],
        None,
    )


def test_it_deletes_a_window_and_its_slots_go(people, room, weekly, client_for, anon):
    day = MONDAY + timedelta(weeks=52 * 3)  # a Monday, far ahead
    while day.weekday() != 0:
        day += timedelta(days=1)
    assert anon.get("/api/slots/", {"date": day.isoformat()}).json() != []
    response = client_for(people.sam).delete(f"/api/openings/{weekly.pk}/")
    assert response.status_code == 204
    assert not Opening.objects.exists()
    assert AuditEvent.objects.filter(action="opening.deleted", object_id=str(weekly.pk)).exists()
    assert anon.get("/api/slots/", {"date": day.isoformat()}).json() == []
    assert client_for(people.sam).delete(f"/api/openings/{weekly.pk}/").status_code == 404


@pytest.mark.parametrize("persona", ["alice", "carl", "rita", "adam"])
def test_only_room_managers_with_manage_rooms_write_windows(people, room, weekly, client_for, persona):
    client = client_for(getattr(people, persona))
    response = add(client, room, weekdays=[6], start_time="08:00", end_time="09:00", slot_minutes=30)
    assert response.status_code == 403
    assert set(response.json()) >= {"detail", "code"}
    assert client.patch(f"/api/openings/{weekly.pk}/", {"slot_minutes": 60}, format="json").status_code == 403
    assert client.delete(f"/api/openings/{weekly.pk}/").status_code == 403
    assert list(Opening.objects.values_list("pk", "slot_minutes")) == [(weekly.pk, 30)]
    assert client.get(f"/api/openings/{weekly.pk}/").status_code == 200


def test_an_unknown_room_or_window_is_a_404(people, room, client_for):
    client = client_for(people.sam)
    response = client.post(
        "/api/rooms/9999/openings/",
        {"weekdays": [0], "start_time": "08:00", "end_time": "09:00", "slot_minutes": 30},
        format="json",
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.patch("/api/openings/9999/", {"slot_minutes": 60}, format="json").status_code == 404
    assert not Opening.objects.exists()
